/* Backups: GET /backups, POST /backups/site/{id}, POST /backups/full,
 * DELETE /backups/{id}, GET /backups/{id}/download, POST /backups/{id}/verify,
 * POST /backups/{id}/restore.
 *
 * Create, verify and restore are jobs (jobs/backups.h): this file checks
 * the request, starts the job and answers the seed's way when it ends (the
 * request waits suspended), or at once with 202 and the job's id under
 * `Prefer: respond-async`.
 *
 * Archives are written by sys/archive under a ".partial" name and get their
 * row only once renamed, so the list never shows an incomplete archive. A
 * full backup holds nginx.webroot, the parent of nginx.sites_available (the
 * nginx configuration directory) and the data dir without backups.dir; the
 * live SQLite files are replaced by an online-backup snapshot. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
#include "api/jobs.h"
#include "api/json.h"
#include "api/listq.h"
#include "api/module.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/backups.h"
#include "jobs/backups.h"
#include "jobs/locks.h"
#include "sys/archive.h"

static json_t *backup_json(const struct backup_rec *b)
{
        json_t *j =
            json_pack("{s:I,s:s,s:s,s:I,s:s}", "id", (json_int_t)b->id, "type", b->type, "path",
                      b->path, "size", (json_int_t)b->size, "created_at", b->created_at);
        if (j)
                json_object_set_new(j, "site_id",
                                    b->site_id > 0 ? json_integer(b->site_id) : json_null());
        return j;
}

static bool id_param(struct http_req *r, long long *id)
{
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), id) < 0) {
                http_reply_error(r, 400, "invalid id");
                return false;
        }
        return true;
}

/* The row of {id}, or a 400/404 reply. */
static bool load_backup(struct http_req *r, struct backup_rec *b)
{
        long long id;
        if (!id_param(r, &id))
                return false;
        int rc = backups_get(app_of(r)->db, id, b);
        if (rc < 0) {
                api_reply_errno(r, rc,
                                rc == -ENOENT ? "backup not found" : "could not read backup");
                return false;
        }
        return true;
}

/* The end of a backup_create job: 201 with the row, or the error. */
static void create_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct backup_job *w = ctx;
        if (job_state_of(j) != JOB_DONE) {
                _cleanup_free_ char *e = job_summary(j);
                http_reply_error(r, w->status ? w->status : 500,
                                 w->err ? w->err
                                 : e    ? e
                                        : "backup failed");
                http_defer_done(r);
                return;
        }
        struct backup_rec b = {0};
        if (backups_get(w->db, w->backup_id, &b) < 0) {
                /* pruned at once (a concurrent delete) */
                api_reply_json(r, 201,
                               json_pack("{s:I,s:s,s:I}", "id", (json_int_t)w->backup_id, "path",
                                         w->path, "size", (json_int_t)w->size));
        } else {
                api_reply_json(r, 201, backup_json(&b));
                backup_rec_clear(&b);
        }
        http_defer_done(r);
}

static void start_create(struct http_req *r, struct backup_job *w, const char *subject)
{
        json_t *body = json_pack("{s:s}", "status", "creating");
        if (!w->full && body)
                json_object_set_new(body, "site_id", json_integer(w->site_id));
        api_start_job(r, &backup_create_kind, subject, w, NULL, create_done, body);
}

/* The site's app_root, checked against the contract (absolute, normalised,
 * inside nginx.webroot) because it becomes an archive source or a restore
 * target. Replies on failure. */
static bool site_root(struct http_req *r, long long site_id, char **domain, char **root)
{
        int rc = backups_site_lookup(app_of(r)->db, site_id, domain, root);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "site not found" : "could not read site");
                return false;
        }
        if (!valid_path_inside(*root, app_of(r)->cfg->nginx.webroot)) {
                http_reply_errorf(r, 409, "app_root %s of the site is not inside nginx.webroot",
                                  *root);
                return false;
        }
        return true;
}

/* Start a create job for site_id (<= 0: a full backup), replying on failure. */
static void backup_of(struct http_req *r, long long site_id)
{
        struct backup_job *w = NULL;
        _cleanup_free_ char *root = NULL;
        int rc = backup_job_prepare(app_of(r)->cfg, app_of(r)->db, site_id, &w, &root);
        if (rc == -EPERM) {
                http_reply_errorf(r, 409, "app_root %s of the site is not inside nginx.webroot",
                                  root);
                return;
        }
        if (rc == -ENOTDIR) {
                http_reply_errorf(r, 409, "app_root %s is not a directory", root);
                return;
        }
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "site not found" : "could not read site");
                return;
        }
        char subject[32];
        if (w->full)
                snprintf(subject, sizeof(subject), "backup:full");
        else
                snprintf(subject, sizeof(subject), "site:%lld", site_id);
        start_create(r, w, subject);
}

static void backup_site(struct http_req *r)
{
        long long site_id;
        if (id_param(r, &site_id))
                backup_of(r, site_id);
}

static void backup_full(struct http_req *r)
{
        backup_of(r, 0);
}

static void list_backups(struct http_req *r)
{
        struct backup_rec *list;
        size_t n;
        int rc = backups_list(app_of(r)->db, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list backups");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *o = backup_json(&list[i]);
                /* q finds a site's backups by its domain now, also after a rename */
                if (o && list[i].domain)
                        json_object_set_new(o, "domain", json_string(list[i].domain));
                json_array_append_new(arr, o);
        }
        backups_list_free(list, n);
        list_reply_hiding(
            r, arr, (const char *const[]){"path", "type", "domain", NULL},
            (const char *const[]){"id", "site_id", "type", "path", "size", "created_at", NULL},
            (const char *const[]){"domain", NULL});
}

static void delete_backup(struct http_req *r)
{
        struct backup_rec b = {0};
        if (!load_backup(r, &b))
                return;
        /* not while a job verifies it */
        char subject[32];
        snprintf(subject, sizeof(subject), "backup:%lld", b.id);
        long long holder = 0;
        if (locks_acquire(subject, 0, &holder) < 0) {
                backup_rec_clear(&b);
                api_reply_busy(r, subject, holder);
                return;
        }
        int rc = backup_remove_archive(b.path);
        if (rc < 0) {
                locks_release(subject, 0);
                http_reply_errorf(r, 500, "cannot remove %s: %s", b.path, strerror(-rc));
                backup_rec_clear(&b);
                return;
        }
        rc = backups_delete(app_of(r)->db, b.id);
        locks_release(subject, 0);
        backup_rec_clear(&b);
        if (rc < 0 && rc != -ENOENT) {
                api_reply_errno(r, rc, "could not delete backup");
                return;
        }
        api_reply_status(r, 200, "deleted");
}

/* RFC 9110 single range: "bytes=a-b", "bytes=a-", "bytes=-n". 1 when a
 * range applies (off/len set), 0 to send everything (absent, malformed or
 * several ranges), -1 when unsatisfiable. */
static int parse_range(const char *h, long long size, long long *off, long long *len)
{
        if (!h || !startswith(h, "bytes="))
                return 0;
        const char *spec = h + 6;
        if (strchr(spec, ','))
                return 0;
        const char *dash = strchr(spec, '-');
        if (!dash)
                return 0;
        _cleanup_free_ char *a = strndup(spec, (size_t)(dash - spec));
        const char *b = dash + 1;
        long long first, last;
        if (!a)
                return 0;
        if (!*a) {
                if (parse_int64(b, 0, INT64_MAX, &last) < 0)
                        return 0;
                if (last == 0 || size == 0)
                        return -1;
                *len = last < size ? last : size;
                *off = size - *len;
                return 1;
        }
        if (parse_int64(a, 0, INT64_MAX, &first) < 0)
                return 0;
        if (*b) {
                if (parse_int64(b, 0, INT64_MAX, &last) < 0 || last < first)
                        return 0;
        } else {
                last = size - 1;
        }
        if (first >= size)
                return -1;
        if (last >= size)
                last = size - 1;
        *off = first;
        *len = last - first + 1;
        return 1;
}

static void download_backup(struct http_req *r)
{
        struct backup_rec b = {0};
        if (!load_backup(r, &b))
                return;
        int fd = open(b.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
                if (fd >= 0)
                        close(fd);
                http_reply_error(r, 404, "backup file not found");
                backup_rec_clear(&b);
                return;
        }
        /* a quoted filename of safe characters only: no header injection,
         * no quoting problems */
        const char *base = strrchr(b.path, '/');
        _cleanup_free_ char *fname = strdup(base ? base + 1 : b.path);
        backup_rec_clear(&b);
        if (!fname) {
                close(fd);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        for (char *p = fname; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+",
                            *p))
                        *p = '_';
        long long size = sb.st_size, off = 0, len = size;
        char cr[96];
        int ranged = parse_range(http_header(r, "Range"), size, &off, &len);
        if (ranged < 0) {
                close(fd);
                http_reply_error(r, 416, "range not satisfiable");
                snprintf(cr, sizeof(cr), "bytes */%lld", size);
                http_add_header(r, "Content-Range", cr);
                http_add_header(r, "Accept-Ranges", "bytes");
                return;
        }
        http_reply_file(r, ranged ? 206 : 200, "application/gzip", fd, off, len);
        if (ranged) {
                snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", off, off + len - 1, size);
                http_add_header(r, "Content-Range", cr);
        }
        _cleanup_strbuf_ struct strbuf cd = STRBUF_INIT(0);
        strbuf_printf(&cd, "attachment; filename=\"%s\"", fname);
        if (cd.data)
                http_add_header(r, "Content-Disposition", cd.data);
        http_add_header(r, "Accept-Ranges", "bytes");
        http_add_header(r, "Cache-Control", "no-store");
}

static void verify_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct backup_job *w = ctx;
        json_t *o =
            json_pack("{s:I,s:b,s:I,s:I}", "id", (json_int_t)w->backup_id, "valid", w->valid,
                      "files", (json_int_t)w->st.files, "bytes", (json_int_t)w->st.bytes);
        if (!w->valid && o)
                json_object_set_new(o, "error", json_string(w->err ? w->err : "cancelled"));
        api_reply_json(r, 200, o);
        http_defer_done(r);
}

static void verify_backup(struct http_req *r)
{
        struct backup_rec b = {0};
        if (!load_backup(r, &b))
                return;
        struct backup_job *w = backup_job_new(app_of(r)->cfg, app_of(r)->db);
        if (!w || !(w->path = strdup(b.path))) {
                backup_rec_clear(&b);
                backup_job_free(w);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        w->backup_id = b.id;
        backup_rec_clear(&b);
        char subject[32];
        snprintf(subject, sizeof(subject), "backup:%lld", w->backup_id);
        json_t *body =
            json_pack("{s:I,s:s}", "id", (json_int_t)w->backup_id, "status", "verifying");
        api_start_job(r, &backup_verify_kind, subject, w, NULL, verify_done, body);
}

static void restore_done(struct job *j, void *ctx, void *arg)
{
        struct http_req *r = arg;
        struct backup_job *w = ctx;
        if (job_state_of(j) != JOB_DONE)
                http_reply_error(r, w->status ? w->status : 409, w->err ? w->err : "cancelled");
        else
                api_reply_json(r, 200,
                               json_pack("{s:s,s:s,s:I}", "status", "restored", "path", w->root,
                                         "files", (json_int_t)w->st.files));
        http_defer_done(r);
}

static void restore_backup(struct http_req *r)
{
        struct backup_rec b = {0};
        if (!load_backup(r, &b))
                return;
        if (!streq(b.type, "site") || b.site_id <= 0) {
                backup_rec_clear(&b);
                http_reply_error(r, 400, "only site backups can be restored");
                return;
        }
        _cleanup_free_ char *domain = NULL, *root = NULL;
        if (!site_root(r, b.site_id, &domain, &root)) {
                backup_rec_clear(&b);
                return;
        }
        if (access(b.path, F_OK) < 0) {
                backup_rec_clear(&b);
                http_reply_error(r, 404, "backup file not found");
                return;
        }
        struct backup_job *w = backup_job_new(app_of(r)->cfg, app_of(r)->db);
        if (!w || !(w->path = strdup(b.path))) {
                backup_rec_clear(&b);
                backup_job_free(w);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        w->backup_id = b.id;
        w->site_id = b.site_id;
        w->root = TAKE_PTR(root);
        backup_rec_clear(&b);
        /* the restore replaces the site's files: the site's subject */
        char subject[32];
        snprintf(subject, sizeof(subject), "site:%lld", w->site_id);
        json_t *body = json_pack("{s:s,s:s}", "status", "restoring", "path", w->root);
        api_start_job(r, &backup_restore_kind, subject, w, NULL, restore_done, body);
}

static const struct route backups_routes[] = {
    {"GET", "/backups", list_backups, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"POST", "/backups/site/{id}", backup_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/backups/full", backup_full, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/backups/{id}", delete_backup, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    /* admin only: a full backup holds the database, the JWT key and the
     * hosting providers' API keys; a site's may hold its secrets */
    {"GET", "/backups/{id}/download", download_backup, ROUTE_ADMIN, 0, NULL},
    {"POST", "/backups/{id}/verify", verify_backup, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/backups/{id}/restore", restore_backup, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module backups_module = {"backups", backups_routes, ARRAY_SIZE(backups_routes),
                                          NULL, NULL};
