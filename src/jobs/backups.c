/* Backup create, verify and restore as job kinds (moved out of
 * api/backups.c; see jobs/backups.h). */
#include "jobs/backups.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/backups.h"

/* retention and deletes touch the same rows and files: one at a time */
static pthread_mutex_t prune_lock = PTHREAD_MUTEX_INITIALIZER;

struct backup_job *backup_job_new(const struct config *cfg, struct db *db)
{
        struct backup_job *w = calloc(1, sizeof(*w));
        if (w) {
                w->cfg = cfg;
                w->db = db;
        }
        return w;
}

int backup_job_prepare(const struct config *cfg, struct db *db, long long site_id,
                       struct backup_job **out, char **root)
{
        *out = NULL;
        if (root)
                *root = NULL;
        struct backup_job *w = backup_job_new(cfg, db);
        if (!w)
                return -ENOMEM;
        if (site_id <= 0) {
                w->full = true;
                if (!(w->prefix = strdup("full-system"))) {
                        backup_job_free(w);
                        return -ENOMEM;
                }
                *out = w;
                return 0;
        }
        _cleanup_free_ char *domain = NULL;
        int rc = backups_site_lookup(db, site_id, &domain, &w->root);
        if (rc == 0 && root && !(*root = strdup(w->root)))
                rc = -ENOMEM;
        struct stat sb;
        /* the root becomes an archive source: inside nginx.webroot, and a
         * directory itself (a symlinked app_root would archive its target) */
        if (rc == 0 && !valid_path_inside(w->root, cfg->nginx.webroot))
                rc = -EPERM;
        else if (rc == 0 && (lstat(w->root, &sb) < 0 || !S_ISDIR(sb.st_mode)))
                rc = -ENOTDIR;
        _cleanup_strbuf_ struct strbuf prefix = STRBUF_INIT(0);
        /* the domain goes into a file name: only a valid one */
        if (rc == 0) {
                if (valid_domain(domain))
                        strbuf_printf(&prefix, "site-%s", domain);
                else
                        strbuf_printf(&prefix, "site-%lld", site_id);
                if (!(w->prefix = strbuf_steal(&prefix)))
                        rc = -ENOMEM;
        }
        if (rc < 0) {
                backup_job_free(w);
                return rc;
        }
        w->site_id = site_id;
        *out = w;
        return 0;
}

int backup_start_scheduled(const struct config *cfg, struct db *db, long long site_id, int keep)
{
        struct backup_job *w = NULL;
        int rc = backup_job_prepare(cfg, db, site_id, &w, NULL);
        if (rc < 0)
                return rc;
        w->keep = keep;
        char subject[32];
        if (w->full)
                snprintf(subject, sizeof(subject), "backup:full");
        else
                snprintf(subject, sizeof(subject), "site:%lld", site_id);
        struct job_start_opts o = {.user = "scheduler"};
        long long busy = 0;
        rc = job_start(&backup_create_kind, subject, w, &o, NULL, &busy);
        if (rc == -EBUSY)
                log_info("scheduled backup of %s not started: job %lld holds it", subject, busy);
        return rc;
}

void backup_job_free(void *ctx)
{
        struct backup_job *w = ctx;
        if (!w)
                return;
        if (w->snapshot)
                unlink(w->snapshot);
        free(w->snapshot);
        free(w->root);
        free(w->prefix);
        free(w->path);
        free(w->err);
        free(w);
}

static int fail(struct job *j, struct backup_job *w, int status, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(struct job *j, struct backup_job *w, int status, int rc, const char *fmt, ...)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&t, fmt, ap);
        va_end(ap);
        free(w->err);
        w->err = t.data ? strbuf_steal(&t) : NULL;
        w->status = status;
        job_fail(j, "%s", w->err ? w->err : "failed");
        return rc < 0 ? rc : -EIO;
}

int backup_remove_archive(const char *path)
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
 * what lies beyond the max_count newest (0 disables either rule), and, for
 * a scheduled backup with keep, what lies beyond the keep newest of the
 * same site (or of the full backups). */
static void prune(struct backup_job *w, struct job *j)
{
        int max_age = w->cfg->backups.max_age_days, max_count = w->cfg->backups.max_count;
        if (max_age <= 0 && max_count <= 0 && w->keep <= 0)
                return;
        pthread_mutex_lock(&prune_lock);
        struct backup_rec *list;
        size_t n;
        if (backups_list(w->db, &list, &n) < 0) {
                pthread_mutex_unlock(&prune_lock);
                return;
        }
        time_t cutoff = time(NULL) - (time_t)max_age * 86400;
        int mine = 0;
        for (size_t i = 0; i < n; i++) {
                time_t t;
                bool old = max_age > 0 && time_parse(list[i].created_at, &t) == 0 && t < cutoff;
                bool same = w->full ? streq(list[i].type, "full") : list[i].site_id == w->site_id;
                bool beyond_keep = w->keep > 0 && same && ++mine > w->keep;
                if (!old && !beyond_keep && (max_count <= 0 || i < (size_t)max_count))
                        continue;
                int rc = backup_remove_archive(list[i].path);
                if (rc < 0) {
                        log_warn("retention: cannot remove %s: %s", list[i].path, strerror(-rc));
                        continue;
                }
                backups_delete(w->db, list[i].id);
                job_printf(j, "retention: removed backup %lld (%s)\n", list[i].id, list[i].path);
                log_info("retention: removed backup %lld (%s)", list[i].id, list[i].path);
        }
        backups_list_free(list, n);
        pthread_mutex_unlock(&prune_lock);
}

static void stamp(char out[16])
{
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(out, 16, "%Y%m%d-%H%M%S", &tm);
}

/* ---- create ---- */

static int create_snapshot(struct job *j, void *ctx)
{
        struct backup_job *w = ctx;
        const struct config *cfg = w->cfg;
        int rc = mkdir_p(cfg->backups.dir, 0700);
        if (rc < 0)
                return fail(j, w, 500, rc, "cannot create %s: %s", cfg->backups.dir, strerror(-rc));
        if (!w->full)
                return JOB_SKIP;
        _cleanup_strbuf_ struct strbuf snap = STRBUF_INIT(0);
        strbuf_printf(&snap, "%s/.setec-db-snapshot-%ld-%lld.db", cfg->backups.dir, (long)getpid(),
                      job_id(j));
        if (!snap.data)
                return fail(j, w, 500, -ENOMEM, "out of memory");
        unlink(snap.data); /* left over by a crash */
        job_printf(j, "==> database snapshot\n");
        rc = db_snapshot(w->db, snap.data);
        if (rc < 0)
                return fail(j, w, 500, rc, "backup failed: database snapshot: %s", strerror(-rc));
        w->snapshot = strbuf_steal(&snap);
        return 0;
}

static int create_archive(struct job *j, void *ctx)
{
        struct backup_job *w = ctx;
        const struct config *cfg = w->cfg;
        const char *dir = cfg->backups.dir;
        char ts[16], err[512] = "";
        stamp(ts);
        _cleanup_strbuf_ struct strbuf path = STRBUF_INIT(0);
        int rc = -EEXIST;
        job_printf(j, "==> archive\n");
        /* two backups within one second get distinct names */
        for (int i = 1; rc == -EEXIST && i < 100; i++) {
                strbuf_reset(&path);
                if (i == 1)
                        strbuf_printf(&path, "%s/%s-%s.tar.gz", dir, w->prefix, ts);
                else
                        strbuf_printf(&path, "%s/%s-%s-%d.tar.gz", dir, w->prefix, ts, i);
                if (!path.data)
                        return fail(j, w, 500, -ENOMEM, "out of memory");
                /* what goes in is the helper's to say (its own config) */
                rc = archive_backup_create(cfg, path.data, w->full, w->root, w->snapshot, &w->st,
                                           err, sizeof(err));
        }
        /* the snapshot is in the archive now (or useless): gone before the
         * job can answer, so no client ever sees it beside the backups */
        if (w->snapshot) {
                unlink(w->snapshot);
                free(w->snapshot);
                w->snapshot = NULL;
        }
        if (rc < 0) {
                log_error("backup %s failed: %s", path.data, err);
                return fail(j, w, 500, rc, "backup failed: %s", err);
        }
        w->path = strbuf_steal(&path);
        struct stat sb;
        w->size = stat(w->path, &sb) == 0 ? (long long)sb.st_size : 0;
        job_printf(j, "%s: %llu files, %lld bytes\n", w->path, (unsigned long long)w->st.files,
                   w->size);
        return 0;
}

static void create_archive_undo(struct job *j, void *ctx)
{
        struct backup_job *w = ctx;
        if (w->path && w->backup_id <= 0)
                unlink(w->path);
}

static int create_record(struct job *j, void *ctx)
{
        struct backup_job *w = ctx;
        long long id = backups_insert(w->db, w->full ? 0 : w->site_id, w->full ? "full" : "site",
                                      w->path, w->size);
        if (id < 0)
                return fail(j, w, 500, (int)id, "could not record backup");
        w->backup_id = id;
        job_set_data(j, "backup_id", json_integer(id));
        log_info("backup %lld: %s (%llu files, %lld bytes)", id, w->path,
                 (unsigned long long)w->st.files, w->size);
        prune(w, j);
        return 0;
}

static const struct job_step create_steps[] = {
    {"snapshot", create_snapshot, NULL},
    {"archive", create_archive, create_archive_undo},
    {"record", create_record, NULL},
};

const struct job_kind backup_create_kind = {
    "backup_create", create_steps, ARRAY_SIZE(create_steps), NULL, NULL, backup_job_free};

/* ---- verify ---- */

static int verify_step(struct job *j, void *ctx)
{
        struct backup_job *w = ctx;
        char err[512] = "";
        job_printf(j, "==> verifying %s\n", w->path);
        int rc = archive_verify(w->path, &w->st, err, sizeof(err));
        w->valid = rc == 0;
        if (rc < 0) {
                /* the answer is still 200 {"valid": false}: status 200 */
                fail(j, w, 200, rc, "%s", rc == -ENOENT ? "archive file is missing" : err);
                return rc;
        }
        job_printf(j, "valid: %llu files, %llu bytes\n", (unsigned long long)w->st.files,
                   (unsigned long long)w->st.bytes);
        return 0;
}

static const struct job_step verify_steps[] = {{"verify", verify_step, NULL}};

const struct job_kind backup_verify_kind = {"backup_verify", verify_steps, 1, NULL, NULL,
                                            backup_job_free};

/* ---- restore ---- */

static int restore_step(struct job *j, void *ctx)
{
        struct backup_job *w = ctx;
        char err[512] = "";
        job_printf(j, "==> restoring %s into %s\n", w->path, w->root);
        int rc = archive_restore_dir(w->path, w->root, &w->st, err, sizeof(err));
        if (rc == -EBADMSG || rc == -EPERM)
                return fail(j, w, 422, rc, "restore refused: %s", err);
        if (rc < 0)
                return fail(j, w, 500, rc, "restore failed: %s", err);
        log_info("restored %s (%llu files)", w->root, (unsigned long long)w->st.files);
        job_printf(j, "restored %llu files\n", (unsigned long long)w->st.files);
        return 0;
}

static const struct job_step restore_steps[] = {{"restore", restore_step, NULL}};

const struct job_kind backup_restore_kind = {"backup_restore", restore_steps, 1, NULL, NULL,
                                             backup_job_free};
