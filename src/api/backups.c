/* Backups: GET /backups, POST /backups/site/{id}, POST /backups/full,
 * DELETE /backups/{id}, GET /backups/{id}/download, POST /backups/{id}/verify,
 * POST /backups/{id}/restore.
 *
 * Archives are written by sys/archive under a ".partial" name and get their
 * row only once renamed, so the list never shows an incomplete archive. A
 * full backup holds nginx.webroot, the parent of nginx.sites_available (the
 * nginx configuration directory) and the data dir without backups.dir; the
 * live SQLite files are replaced by an online-backup snapshot. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/app.h"
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
#include "sys/archive.h"

/* Restores and pruning touch shared trees and rows: one at a time. */
static pthread_mutex_t backups_lock = PTHREAD_MUTEX_INITIALIZER;

static void unlockp(pthread_mutex_t **m)
{
        if (*m)
                pthread_mutex_unlock(*m);
}

static pthread_mutex_t *lock(void)
{
        pthread_mutex_lock(&backups_lock);
        return &backups_lock;
}

#define _cleanup_unlock_ __attribute__((cleanup(unlockp)))

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

/* Only our own archives are removed from disk: a hand-edited row must not
 * make the panel delete an arbitrary file. */
static int remove_archive(const char *path)
{
        size_t n = strlen(path);
        struct stat sb;
        if (n < 7 || strcmp(path + n - 7, ".tar.gz") != 0)
                return 0;
        if (lstat(path, &sb) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISREG(sb.st_mode))
                return 0;
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Retention after each backup: drop what is older than max_age_days and
 * what lies beyond the max_count newest (0 disables either rule). */
static void prune(struct app *app)
{
        int max_age = app->cfg->backups.max_age_days, max_count = app->cfg->backups.max_count;
        if (max_age <= 0 && max_count <= 0)
                return;
        _cleanup_unlock_ pthread_mutex_t *m = lock();
        struct backup_rec *list;
        size_t n;
        if (backups_list(app->db, &list, &n) < 0)
                return;
        time_t cutoff = time(NULL) - (time_t)max_age * 86400;
        for (size_t i = 0; i < n; i++) {
                time_t t;
                bool old = max_age > 0 && time_parse(list[i].created_at, &t) == 0 && t < cutoff;
                if (!old && (max_count <= 0 || i < (size_t)max_count))
                        continue;
                int rc = remove_archive(list[i].path);
                if (rc < 0) {
                        log_warn("retention: cannot remove %s: %s", list[i].path, strerror(-rc));
                        continue;
                }
                backups_delete(app->db, list[i].id);
                log_info("retention: removed backup %lld (%s)", list[i].id, list[i].path);
        }
        backups_list_free(list, n);
}

static void stamp(char out[16])
{
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(out, 16, "%Y%m%d-%H%M%S", &tm);
}

/* Create <backups.dir>/<prefix>-<UTC stamp>[-N].tar.gz, record it, prune,
 * reply 201 with the row. */
static void make_backup(struct http_req *r, long long site_id, const char *type, const char *prefix,
                        const struct archive_src *srcs, size_t nsrcs, const char *const *exclude)
{
        struct app *app = app_of(r);
        const char *dir = app->cfg->backups.dir;
        int rc = mkdir_p(dir, 0700);
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot create %s: %s", dir, strerror(-rc));
                return;
        }
        char ts[16], err[512] = "";
        stamp(ts);
        _cleanup_strbuf_ struct strbuf path = STRBUF_INIT(0);
        struct archive_stats st;
        rc = -EEXIST;
        /* two backups within one second get distinct names */
        for (int i = 1; rc == -EEXIST && i < 100; i++) {
                strbuf_reset(&path);
                if (i == 1)
                        strbuf_printf(&path, "%s/%s-%s.tar.gz", dir, prefix, ts);
                else
                        strbuf_printf(&path, "%s/%s-%s-%d.tar.gz", dir, prefix, ts, i);
                if (!path.data) {
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
                rc = archive_create(path.data, srcs, nsrcs, exclude, &st, err, sizeof(err));
        }
        if (rc < 0) {
                log_error("backup %s failed: %s", path.data, err);
                http_reply_errorf(r, 500, "backup failed: %s", err);
                return;
        }
        struct stat sb;
        long long size = stat(path.data, &sb) == 0 ? (long long)sb.st_size : 0;
        long long id = backups_insert(app->db, site_id, type, path.data, size);
        if (id < 0) {
                unlink(path.data);
                api_reply_errno(r, (int)id, "could not record backup");
                return;
        }
        log_info("backup %lld: %s (%llu files, %lld bytes)", id, path.data,
                 (unsigned long long)st.files, size);
        prune(app);
        struct backup_rec b = {0};
        if (backups_get(app->db, id, &b) < 0) {
                /* pruned at once (max_age_days in the past is impossible, but
                 * a concurrent delete is not) */
                api_reply_json(r, 201,
                               json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "path", path.data,
                                         "size", (json_int_t)size));
                return;
        }
        api_reply_json(r, 201, backup_json(&b));
        backup_rec_clear(&b);
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

static void backup_site(struct http_req *r)
{
        long long site_id;
        if (!id_param(r, &site_id))
                return;
        _cleanup_free_ char *domain = NULL, *root = NULL;
        if (!site_root(r, site_id, &domain, &root))
                return;
        struct stat sb;
        /* lstat: a symlinked app_root would archive whatever it points to */
        if (lstat(root, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                http_reply_errorf(r, 409, "app_root %s is not a directory", root);
                return;
        }
        _cleanup_strbuf_ struct strbuf prefix = STRBUF_INIT(0);
        /* the domain goes into a file name: only a valid one */
        if (valid_domain(domain))
                strbuf_printf(&prefix, "site-%s", domain);
        else
                strbuf_printf(&prefix, "site-%lld", site_id);
        const char *base = strrchr(root, '/') + 1; /* valid_path_inside: absolute */
        struct archive_src src = {root, base};
        const char *exclude[] = {app_of(r)->cfg->backups.dir, NULL};
        if (!prefix.data) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        make_backup(r, site_id, "site", prefix.data, &src, 1, exclude);
}

static bool is_dir(const char *p)
{
        struct stat sb;
        return p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void backup_full(struct http_req *r)
{
        struct app *app = app_of(r);
        const struct config *cfg = app->cfg;
        _cleanup_free_ char *nginx_dir = path_dirname(cfg->nginx.sites_available);
        const char *dbpath = cfg->database.path;
        _cleanup_strbuf_ struct strbuf snap = STRBUF_INIT(0), wal = STRBUF_INIT(0),
                                       shm = STRBUF_INIT(0), journal = STRBUF_INIT(0);
        strbuf_printf(&snap, "%s/.setec-db-snapshot-%ld-%lu.db", cfg->backups.dir, (long)getpid(),
                      (unsigned long)pthread_self());
        strbuf_printf(&wal, "%s-wal", dbpath);
        strbuf_printf(&shm, "%s-shm", dbpath);
        strbuf_printf(&journal, "%s-journal", dbpath);
        if (!snap.data || !wal.data || !shm.data || !journal.data || !nginx_dir) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        int rc = mkdir_p(cfg->backups.dir, 0700);
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot create %s: %s", cfg->backups.dir, strerror(-rc));
                return;
        }
        unlink(snap.data); /* left over by a crash */
        rc = db_snapshot(app->db, snap.data);
        if (rc < 0) {
                http_reply_errorf(r, 500, "backup failed: database snapshot: %s", strerror(-rc));
                return;
        }
        struct archive_src srcs[4];
        size_t n = 0;
        const char *dirs[] = {cfg->nginx.webroot, nginx_dir, cfg->data_dir};
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                if (!is_dir(dirs[i]))
                        continue;
                bool dup = false;
                for (size_t k = 0; k < n; k++)
                        dup |= streq(srcs[k].path, dirs[i]);
                /* "/" would give members absolute names */
                if (!dup && dirs[i][strspn(dirs[i], "/")])
                        srcs[n++] = (struct archive_src){dirs[i], dirs[i] + strspn(dirs[i], "/")};
        }
        srcs[n++] = (struct archive_src){snap.data, dbpath + strspn(dbpath, "/")};
        const char *exclude[] = {cfg->backups.dir, dbpath, wal.data, shm.data, journal.data, NULL};
        make_backup(r, 0, "full", "full-system", srcs, n, exclude);
        unlink(snap.data);
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
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, backup_json(&list[i]));
        backups_list_free(list, n);
        list_reply(r, arr, (const char *const[]){"file_path", "backup_type", "domain", NULL}, NULL);
}

static void delete_backup(struct http_req *r)
{
        struct backup_rec b = {0};
        if (!load_backup(r, &b))
                return;
        _cleanup_unlock_ pthread_mutex_t *m = lock();
        int rc = remove_archive(b.path);
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot remove %s: %s", b.path, strerror(-rc));
                backup_rec_clear(&b);
                return;
        }
        rc = backups_delete(app_of(r)->db, b.id);
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

static void verify_backup(struct http_req *r)
{
        struct backup_rec b = {0};
        if (!load_backup(r, &b))
                return;
        char err[512] = "";
        struct archive_stats st = {0};
        int rc = archive_verify(b.path, &st, err, sizeof(err));
        json_t *j = json_pack("{s:I,s:b,s:I,s:I}", "id", (json_int_t)b.id, "valid", rc == 0,
                              "files", (json_int_t)st.files, "bytes", (json_int_t)st.bytes);
        backup_rec_clear(&b);
        if (rc < 0 && j)
                json_object_set_new(j, "error",
                                    json_string(rc == -ENOENT ? "archive file is missing" : err));
        api_reply_json(r, 200, j);
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
        char err[512] = "";
        struct archive_stats st = {0};
        int rc;
        {
                _cleanup_unlock_ pthread_mutex_t *m = lock();
                rc = archive_restore_dir(b.path, root, &st, err, sizeof(err));
        }
        backup_rec_clear(&b);
        if (rc == -EBADMSG || rc == -EPERM) {
                http_reply_errorf(r, 422, "restore refused: %s", err);
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "restore failed: %s", err);
                return;
        }
        log_info("restored %s (%llu files)", root, (unsigned long long)st.files);
        api_reply_json(r, 200,
                       json_pack("{s:s,s:s,s:I}", "status", "restored", "path", root, "files",
                                 (json_int_t)st.files));
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
