/* Sites: GET/POST /sites, GET /sites/new, GET/PUT/DELETE /sites/{id},
 * POST /sites/{id}/deploy|start|stop|restart, GET /sites/{id}/logs[/stream],
 * GET /sites/{id}/deployments/{did}[/stream].
 *
 * Every change is validated completely before anything runs. Provisioning
 * (create) and deploys are tracked jobs (jobs/job.h): their output goes to a
 * deployments row and can be followed over SSE. With `Prefer: respond-async`
 * they answer 202 at once and run on this module's own worker pool;
 * otherwise they run on the request's worker thread and answer when done.
 *
 * A failed create is undone step by step in reverse (unit removed, vhost
 * transaction undone by nginx_txn_commit itself, row deleted, app_root
 * removed when this create made it). A failed update restores the unit and
 * the row; nginx's own transaction restores the vhost files. One change per
 * site at a time: a site being changed answers 409 to other changes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app.h"
#include "api/journal_sse.h"
#include "api/json.h"
#include "api/module.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "base/workpool.h"
#include "core/site.h"
#include "db/sites.h"
#include "http/sse.h"
#include "jobs/job.h"
#include "sys/accounts.h"
#include "sys/deploy.h"
#include "sys/journal.h"
#include "sys/nginx.h"
#include "sys/services.h"
#include "sys/units.h"

#define PORT_LO          8000
#define PORT_HI          8999
#define UNIT_TIMEOUT_MS  60000
#define LOG_LINES        100
#define LOG_MAX          (4 * 1024 * 1024)
#define STREAM_BACKLOG   50
#define STREAMS_MAX      64
#define ERROR_TAIL       2000
#define DEPLOYMENTS_SHOW 10

static struct workpool *pool; /* async provisioning and deploys */
static atomic_int streams_open;

/* Guards `busy` and the check-then-write sequences (domain, port). */
static pthread_mutex_t sites_lock = PTHREAD_MUTEX_INITIALIZER;
static long long *busy;
static size_t nbusy, capbusy;

static void unlockp(pthread_mutex_t **m)
{
        if (*m)
                pthread_mutex_unlock(*m);
}
#define _cleanup_unlock_ __attribute__((cleanup(unlockp)))

static pthread_mutex_t *lock_sites(void)
{
        pthread_mutex_lock(&sites_lock);
        return &sites_lock;
}

static bool busy_has_locked(long long id)
{
        for (size_t i = 0; i < nbusy; i++)
                if (busy[i] == id)
                        return true;
        return false;
}

/* sites_lock held. false when busy already or out of memory. */
static bool busy_add_locked(long long id)
{
        if (busy_has_locked(id))
                return false;
        if (nbusy == capbusy) {
                size_t ncap = capbusy ? capbusy * 2 : 16;
                long long *p = reallocarray(busy, ncap, sizeof(*p));
                if (!p)
                        return false;
                busy = p;
                capbusy = ncap;
        }
        busy[nbusy++] = id;
        return true;
}

static bool busy_acquire(long long id)
{
        _cleanup_unlock_ pthread_mutex_t *m = lock_sites();
        return busy_add_locked(id);
}

static void busy_release(long long id)
{
        _cleanup_unlock_ pthread_mutex_t *m = lock_sites();
        for (size_t i = 0; i < nbusy; i++)
                if (busy[i] == id) {
                        busy[i] = busy[--nbusy];
                        return;
                }
}

static void site_freep(struct site *s)
{
        site_clear(s);
}
#define _cleanup_site_ __attribute__((cleanup(site_freep)))

/* Program output may be any bytes; JSON needs UTF-8: invalid bytes become
 * '?' (in place). */
static char *utf8_clean(char *s)
{
        unsigned char *p = (unsigned char *)s;
        while (p && *p) {
                unsigned char c = *p;
                size_t n = c < 0x80                 ? 1
                           : c >= 0xc2 && c <= 0xdf ? 2
                           : (c >> 4) == 0xe        ? 3
                           : c >= 0xf0 && c <= 0xf4 ? 4
                                                    : 0;
                bool ok = n > 0;
                for (size_t i = 1; ok && i < n; i++)
                        ok = (p[i] & 0xc0) == 0x80;
                /* overlong forms, surrogates, beyond U+10FFFF */
                if (ok && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
                           (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
                        ok = false;
                if (!ok) {
                        *p++ = '?';
                        continue;
                }
                p += n;
        }
        return s;
}

static json_t *json_text(const char *s)
{
        json_t *j = json_string(s ? s : "");
        if (j)
                return j;
        _cleanup_free_ char *c = strdup(s);
        return c ? json_string(utf8_clean(c)) : NULL;
}

static bool has_unit(const struct site *s)
{
        return s->app_type != APP_STATIC;
}

static const char *state_of(const struct site *s, const struct unit_state *st, bool *running)
{
        if (!has_unit(s)) {
                *running = s->enabled;
                return "static";
        }
        *running = st ? st->running : false;
        return st ? st->active : "unknown";
}

static json_t *site_json(const struct site *s, const struct unit_state *st)
{
        bool running;
        const char *status = state_of(s, st, &running);
        return json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:b,s:s,s:s,s:b,s:b,s:s,s:s,s:b,s:s}", "id",
            (json_int_t)s->id, "domain", s->domain, "aliases", s->aliases, "app_type",
            app_type_name(s->app_type), "app_root", s->app_root, "app_port", s->app_port,
            "app_entry", s->app_entry, "git_repo", s->git_repo, "git_branch", s->git_branch,
            "ssl_enabled", s->ssl_enabled, "ssl_cert_path", s->ssl_cert_path, "ssl_key_path",
            s->ssl_key_path, "ssl_auto", s->ssl_auto, "enabled", s->enabled, "created_at",
            s->created_at, "updated_at", s->updated_at, "running", running, "status", status);
}

static json_t *site_json_live(const struct site *s)
{
        struct unit_state st = {0};
        if (has_unit(s)) {
                char unit[300];
                site_unit_name(s, unit, sizeof(unit));
                unit_state(unit, &st);
        }
        return site_json(s, has_unit(s) ? &st : NULL);
}

static json_t *deployment_json(const struct deployment *d)
{
        return json_pack("{s:I,s:s,s:s,s:o,s:s,s:o}", "id", (json_int_t)d->id, "type", d->type,
                         "status", d->status, "output", json_text(d->output), "created_at",
                         d->created_at, "finished_at",
                         d->finished_at ? json_string(d->finished_at) : json_null());
}

static bool id_param(struct http_req *r, const char *name, long long *id)
{
        if (parse_int64(http_param(r, name), 1, (1LL << 53), id) < 0) {
                http_reply_errorf(r, 400, "invalid %s", streq(name, "id") ? "id" : "deployment id");
                return false;
        }
        return true;
}

/* The row of {id}, or a 400/404 reply. */
static bool load_site(struct http_req *r, struct site *s)
{
        long long id;
        if (!id_param(r, "id", &id))
                return false;
        int rc = sites_get(app_of(r)->db, id, s);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "site not found" : "could not read site");
                return false;
        }
        return true;
}

static bool wants_async(struct http_req *r)
{
        const char *p = http_header(r, "Prefer");
        return p && strstr(p, "respond-async");
}

/* ---- file helpers ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
        if (ftw->level == 0)
                return 0; /* the top is handled by the caller */
        if (remove(path) < 0 && errno != ENOENT)
                log_warn("rollback: cannot remove %s: %m", path);
        return 0;
}

/* Remove what is inside dir (never following links or crossing mounts);
 * with self also dir. Only called on validated paths inside nginx.webroot. */
static void rm_tree(const char *dir, bool self)
{
        nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        if (self && rmdir(dir) < 0 && errno != ENOENT)
                log_warn("rollback: cannot remove %s: %m", dir);
}

static bool dir_empty(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        bool empty = true;
        struct dirent *e;
        while ((e = readdir(d)))
                if (!streq(e->d_name, ".") && !streq(e->d_name, "..")) {
                        empty = false;
                        break;
                }
        closedir(d);
        return empty;
}

/* ---- ports ---- */

/* sites_lock held. 0 = ok; -EADDRINUSE when port (given) is another site's;
 * when *port is 0 one is picked (-EADDRNOTAVAIL when none is free). */
static int port_locked(struct db *db, long long self, int *port)
{
        _cleanup_free_ int *used = NULL;
        size_t n;
        int rc = sites_used_ports(db, self, &used, &n);
        if (rc < 0)
                return rc;
        if (*port) {
                for (size_t i = 0; i < n; i++)
                        if (used[i] == *port)
                                return -EADDRINUSE;
                return 0;
        }
        *port = deploy_pick_port(PORT_LO, PORT_HI, used, n);
        return *port ? 0 : -EADDRNOTAVAIL;
}

static void reply_port_error(struct http_req *r, int rc, int port)
{
        if (rc == -EADDRINUSE)
                http_reply_errorf(r, 409, "app_port %d is already used by another site", port);
        else if (rc == -EADDRNOTAVAIL)
                http_reply_errorf(r, 503, "app_port: no free port in %d-%d", PORT_LO, PORT_HI);
        else
                api_reply_errno(r, rc, "could not read the sites' ports");
}

/* ---- steps shared by create, update and deploy ---- */

struct outcome {
        const char *step; /* the failed step, NULL on success */
        char *error;      /* malloc'd message "<step> failed: ..." */
        int status;       /* HTTP status for the failure */
};

static void outcome_clear(struct outcome *o)
{
        free(o->error);
        *o = (struct outcome){0};
}

static int failf(struct outcome *o, struct job *j, int status, const char *step, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
static int failf(struct outcome *o, struct job *j, int status, const char *step, const char *fmt,
                 ...)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
        strbuf_printf(&t, "%s failed", step);
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                strbuf_puts(&t, ": ");
                strbuf_vprintf(&t, fmt, ap);
                va_end(ap);
        }
        free(o->error);
        o->error = t.data ? utf8_clean(strbuf_steal(&t)) : NULL;
        o->step = step;
        o->status = status;
        return -1;
}

/* A failed program: its step and the tail of the job's output. */
static int fail_output(struct outcome *o, struct job *j, const char *step, int rc)
{
        _cleanup_free_ char *tail = job_tail(j, ERROR_TAIL);
        if (rc < 0 && rc != -EIO && (!tail || !*tail))
                return failf(o, j, 500, step, "%s", strerror(-rc));
        return failf(o, j, 500, step, "%s", tail && *tail ? tail : strerror(-rc));
}

/* How a site's deploy steps run: python/node code as the site's own system
 * user (sys/accounts, "setec-s<id>"), never as root; static sites' git as
 * the panel (root owns their tree). `user` is the storage for the name. */
static void site_as(const struct config *cfg, const struct site *s,
                    char user[ACCOUNTS_SITE_NAME_MAX], struct deploy_as *as)
{
        *as = (struct deploy_as){.ca_bundle = cfg->git.ca_bundle};
        user[0] = '\0';
        if (has_unit(s) && accounts_site_user_name(s->id, user) == 0) {
                as->user = user;
                /* a local repository (validated inside git.local_root) */
                if (!str_empty(s->git_repo) && s->git_repo[0] == '/')
                        as->local_source = s->git_repo;
        }
}

static int step_deps(const struct deploy_as *as, const struct site *s, struct job *j,
                     struct outcome *o)
{
        int rc = 0;
        if (s->app_type == APP_PYTHON || s->app_type == APP_AUTARCH) {
                job_printf(j, "==> python venv and pip install\n");
                rc = deploy_python(as, s->app_root, job_output, j);
                if (rc < 0)
                        return fail_output(o, j, "pip install", rc);
        } else if (s->app_type == APP_NODE) {
                job_printf(j, "==> npm install\n");
                rc = deploy_node(as, s->app_root, job_output, j);
                if (rc < 0)
                        return fail_output(o, j, "npm install", rc);
        }
        return 0;
}

/* Before anything that outlives a failed create (the app user): systemd
 * must be there to run the app at all. */
static int step_systemd(struct job *j, struct outcome *o)
{
        struct sd_bus *bus = NULL;
        int rc = services_bus(2000, &bus);
        if (rc < 0)
                return failf(o, j, 503, "systemd", "cannot reach the system bus: %s",
                             strerror(-rc));
        return 0;
}

/* The site's own system user (home: app_root). 0 created, 1 it existed. */
static int step_site_user(const struct site *s, const char *user, struct job *j, struct outcome *o)
{
        _cleanup_free_ char *err = NULL;
        if (j)
                job_printf(j, "==> site user %s\n", user);
        int rc = accounts_site_user_add(user, s->app_root, &err);
        if (rc < 0)
                return failf(o, j, 500, "site user", "cannot create the user %s: %s", user,
                             err ? err : strerror(-rc));
        return rc;
}

/* The app's files belong to the site's user, the one the unit runs as
 * (made when missing: a site from before per-site users). 1 when the tree
 * changed hands, 0 when it was the user's already. */
static int step_owner(const struct site *s, struct job *j, struct outcome *o,
                      char user[ACCOUNTS_SITE_NAME_MAX])
{
        int rc = accounts_site_user_name(s->id, user);
        if (rc == 0)
                rc = step_site_user(s, user, j, o);
        if (rc < 0)
                return rc == -1 ? -1 : failf(o, j, 500, "site user", "%s", strerror(-rc));
        unsigned uid = 0;
        struct stat sb;
        if (accounts_lookup(user, &uid) == 0 && lstat(s->app_root, &sb) == 0 && sb.st_uid == uid)
                return 0;
        rc = units_chown_tree(s->app_root, user);
        if (rc < 0)
                return failf(o, j, 500, "chown", "%s: %s", s->app_root, strerror(-rc));
        return 1;
}

/* Kill the site user's processes and remove it (the files stay). */
static void drop_site_user(const struct site *s)
{
        char user[ACCOUNTS_SITE_NAME_MAX];
        _cleanup_free_ char *err = NULL;
        if (accounts_site_user_name(s->id, user) < 0)
                return;
        int rc = accounts_site_user_del(user, &err);
        if (rc < 0)
                log_warn("sites: cannot remove the user %s: %s", user, err ? err : strerror(-rc));
}

static int step_unit_install(const struct config *cfg, const struct site *s, const char *user,
                             struct job *j, struct outcome *o)
{
        char unit[300];
        site_unit_name(s, unit, sizeof(unit));
        _cleanup_free_ char *text = unit_render_app(s, cfg, user);
        if (!text)
                return failf(o, j, 500, "unit", "cannot render %s", unit);
        job_printf(j, "==> systemd unit %s\n", unit);
        int rc = unit_install(cfg, unit, text);
        if (rc < 0)
                return failf(o, j, 500, "unit", "cannot install %s: %s", unit, strerror(-rc));
        return 0;
}

static int step_unit_op(const struct site *s, enum unit_op op, const char *what, struct job *j,
                        struct outcome *o)
{
        char unit[300], err[512] = "";
        site_unit_name(s, unit, sizeof(unit));
        if (j)
                job_printf(j, "==> %s %s\n", what, unit);
        int rc = unit_control(unit, op, UNIT_TIMEOUT_MS, err, sizeof(err));
        if (rc < 0)
                return failf(o, j, 500, what, "%s: %s", unit, *err ? err : strerror(-rc));
        return 0;
}

/* Remove a unit for good (rollback, delete, rename). When systemd cannot be
 * reached the file still goes, so no half site stays behind. */
static int remove_unit(const struct config *cfg, const char *unit)
{
        int rc = unit_remove(cfg, unit);
        if (rc < 0) {
                log_warn("sites: removing %s: %s", unit, strerror(-rc));
                _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
                strbuf_printf(&p, "%s/%s", cfg->systemd.unit_dir, unit);
                if (p.data && valid_unit_name(unit) && unlink(p.data) < 0 && errno != ENOENT)
                        return -errno;
        }
        return rc;
}

/* Apply the vhost of s (enabled: written and linked; disabled: unlinked),
 * first dropping old_domain's vhost when it differs. */
static int step_nginx(const struct config *cfg, const struct site *s, const char *old_domain,
                      struct job *j, struct outcome *o)
{
        if (j)
                job_printf(j, "==> nginx vhost %s\n", s->domain);
        struct nginx_txn *t = NULL;
        int rc = nginx_txn_begin(cfg, &t);
        if (rc < 0)
                return failf(o, j, 500, "nginx", "%s", strerror(-rc));
        if (old_domain && !streq(old_domain, s->domain))
                rc = nginx_txn_drop_site(t, old_domain, true);
        if (rc == 0)
                rc = s->enabled ? nginx_txn_put_site(t, s)
                                : nginx_txn_drop_site(t, s->domain, false);
        if (rc < 0) {
                nginx_txn_free(t);
                return failf(o, j, 500, "nginx", "cannot write the vhost: %s", strerror(-rc));
        }
        _cleanup_free_ char *msg = NULL;
        rc = nginx_txn_commit(t, &msg);
        nginx_txn_free(t);
        if (rc == -EINVAL)
                return failf(o, j, 400, "nginx -t", "%s", msg ? msg : "configuration test failed");
        if (rc < 0)
                return failf(o, j, 500, "nginx reload", "%s", msg ? msg : strerror(-rc));
        if (j && msg && *msg)
                job_printf(j, "%s\n", msg);
        return 0;
}

/* ---- create ---- */

struct provision {
        struct app *app;
        struct site site;
        struct job *job;
        struct outcome out;
};

static void provision_free(struct provision *p)
{
        if (!p)
                return;
        site_clear(&p->site);
        job_unref(p->job);
        outcome_clear(&p->out);
        free(p);
}

/* Run every step; on failure undo what was done and delete the row. The
 * job ends either way. 0 or -1 (p->out says why). */
static int provision_run(struct provision *p)
{
        const struct config *cfg = p->app->cfg;
        struct site *s = &p->site;
        struct job *j = p->job;
        struct outcome *o = &p->out;
        bool made_root = false, filled_root = false, unit_tried = false, made_user = false;
        char user[ACCOUNTS_SITE_NAME_MAX];
        struct deploy_as as;
        site_as(cfg, s, user, &as);
        int rc = -1;
        struct stat sb;

        /* an app needs systemd, and its own user before any of its code runs */
        if (has_unit(s)) {
                if (step_systemd(j, o) < 0)
                        goto fail;
                int e = step_site_user(s, user, j, o);
                if (e < 0)
                        goto fail;
                made_user = e == 0;
        }
        job_printf(j, "==> app_root %s\n", s->app_root);
        if (lstat(s->app_root, &sb) < 0) {
                int e = mkdir_p(s->app_root, 0755);
                if (e < 0) {
                        failf(o, j, 500, "app_root", "cannot create %s: %s", s->app_root,
                              strerror(-e));
                        goto fail;
                }
                made_root = true;
        } else if (!S_ISDIR(sb.st_mode)) {
                failf(o, j, 409, "app_root", "%s exists and is not a directory", s->app_root);
                goto fail;
        }
        if (has_unit(s)) {
                int e = units_chown_tree(s->app_root, user); /* empty: the dir itself */
                if (e < 0) {
                        failf(o, j, 500, "chown", "%s: %s", s->app_root, strerror(-e));
                        goto fail;
                }
        }
        if (!str_empty(s->git_repo)) {
                job_printf(j, "==> git clone %s (branch %s)\n", s->git_repo, s->git_branch);
                filled_root = true;
                int e =
                    deploy_git_clone(&as, s->git_repo, s->git_branch, s->app_root, job_output, j);
                if (e < 0) {
                        fail_output(o, j, "git clone", e);
                        goto fail;
                }
        }
        if (has_unit(s)) {
                filled_root = true;
                if (step_deps(&as, s, j, o) < 0)
                        goto fail;
                unit_tried = true;
                if (step_unit_install(cfg, s, user, j, o) < 0 ||
                    step_unit_op(s, UNIT_ENABLE, "enable", j, o) < 0 ||
                    step_unit_op(s, UNIT_START, "start", j, o) < 0)
                        goto fail;
        }
        if (step_nginx(cfg, s, NULL, j, o) < 0)
                goto fail;
        job_finish(j, true, "site created");
        return 0;

fail:
        job_printf(j, "%s\n==> rolling back\n", o->error ? o->error : "failed");
        if (unit_tried) {
                char unit[300];
                site_unit_name(s, unit, sizeof(unit));
                remove_unit(cfg, unit);
        }
        /* before the files go: none of its processes may still be at work */
        if (made_user)
                drop_site_user(s);
        /* the vhost: a failed commit restored the files itself, and nginx is
         * the last step, so nothing of it stays */
        int e = sites_delete(p->app->db, s->id);
        if (e < 0 && e != -ENOENT)
                log_error("sites: rollback of %s: cannot delete row %lld: %s", s->domain, s->id,
                          strerror(-e));
        if (made_root)
                rm_tree(s->app_root, true);
        else if (filled_root)
                rm_tree(s->app_root, false); /* it was empty before */
        job_finish(j, false, o->error);
        log_warn("sites: create %s failed (%s), rolled back", s->domain, o->error ? o->error : "?");
        return rc;
}

static void provision_task(void *arg)
{
        struct provision *p = arg;
        long long id = p->site.id;
        provision_run(p);
        busy_release(id);
        provision_free(p);
}

/* Request body of POST /sites and PUT /sites/{id}. */
struct site_in {
        char *domain, *aliases, *app_type, *app_root, *app_entry, *git_repo, *git_branch,
            *ssl_cert_path, *ssl_key_path;
        long long app_port;
        bool ssl_enabled, ssl_auto, enabled;
        bool has_domain, has_aliases, has_app_type, has_app_root, has_app_entry, has_git_repo,
            has_git_branch, has_ssl_cert_path, has_ssl_key_path, has_app_port, has_ssl_enabled,
            has_ssl_auto, has_enabled;
};

static const struct field site_fields[] = {
    FIELD(struct site_in, FIELD_STRING, domain, false, 253),
    FIELD(struct site_in, FIELD_STRING, aliases, false, 4096),
    FIELD(struct site_in, FIELD_STRING, app_type, false, 16),
    FIELD(struct site_in, FIELD_STRING, app_root, false, 4096),
    FIELD(struct site_in, FIELD_STRING, app_entry, false, 255),
    FIELD(struct site_in, FIELD_STRING, git_repo, false, 4096),
    FIELD(struct site_in, FIELD_STRING, git_branch, false, 255),
    FIELD(struct site_in, FIELD_STRING, ssl_cert_path, false, 4096),
    FIELD(struct site_in, FIELD_STRING, ssl_key_path, false, 4096),
    FIELD(struct site_in, FIELD_INT, app_port, false, 0),
    FIELD(struct site_in, FIELD_BOOL, ssl_enabled, false, 0),
    FIELD(struct site_in, FIELD_BOOL, ssl_auto, false, 0),
    FIELD(struct site_in, FIELD_BOOL, enabled, false, 0),
};

static void site_in_free(struct site_in *in)
{
        fields_free(site_fields, ARRAY_SIZE(site_fields), in);
}
#define _cleanup_site_in_ __attribute__((cleanup(site_in_free)))

static int set_str(char **slot, const char *v)
{
        char *c = strdup(v ? v : "");
        if (!c)
                return -ENOMEM;
        free(*slot);
        *slot = c;
        return 0;
}

/* Merge the fields present in `in` into s; mask gets their columns. Replies
 * 400 (and returns false) for a value that has no place in a site at all;
 * site_validate checks the rest. */
static bool merge_input(struct http_req *r, const struct site_in *in, struct site *s,
                        unsigned *mask)
{
        struct {
                bool has;
                const char *v;
                char **slot;
                unsigned col;
        } strs[] = {
            {in->has_domain, in->domain, &s->domain, SITE_COL_DOMAIN},
            {in->has_aliases, in->aliases, &s->aliases, SITE_COL_ALIASES},
            {in->has_app_root, in->app_root, &s->app_root, SITE_COL_APP_ROOT},
            {in->has_app_entry, in->app_entry, &s->app_entry, SITE_COL_APP_ENTRY},
            {in->has_git_repo, in->git_repo, &s->git_repo, SITE_COL_GIT_REPO},
            {in->has_git_branch, in->git_branch, &s->git_branch, SITE_COL_GIT_BRANCH},
            {in->has_ssl_cert_path, in->ssl_cert_path, &s->ssl_cert_path, SITE_COL_SSL_CERT_PATH},
            {in->has_ssl_key_path, in->ssl_key_path, &s->ssl_key_path, SITE_COL_SSL_KEY_PATH},
        };
        for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
                if (!strs[i].has)
                        continue;
                if (set_str(strs[i].slot, strs[i].v) < 0) {
                        http_reply_error(r, 500, "out of memory");
                        return false;
                }
                *mask |= strs[i].col;
        }
        if (in->has_app_type) {
                if (app_type_parse(in->app_type, &s->app_type) < 0) {
                        http_reply_error(r, 400,
                                         "app_type must be one of static, python, node, autarch");
                        return false;
                }
                *mask |= SITE_COL_APP_TYPE;
        }
        if (in->has_app_port) {
                if (in->app_port < 0 || in->app_port > 65535) {
                        http_reply_error(r, 400, "app_port must be 0 or between 1024 and 65535");
                        return false;
                }
                s->app_port = (int)in->app_port;
                *mask |= SITE_COL_APP_PORT;
        }
        if (in->has_ssl_enabled) {
                s->ssl_enabled = in->ssl_enabled;
                *mask |= SITE_COL_SSL_ENABLED;
        }
        if (in->has_ssl_auto) {
                s->ssl_auto = in->ssl_auto;
                *mask |= SITE_COL_SSL_AUTO;
        }
        if (in->has_enabled) {
                s->enabled = in->enabled;
                *mask |= SITE_COL_ENABLED;
        }
        return true;
}

static bool validate(struct http_req *r, struct site *s)
{
        char err[512] = "";
        if (site_validate(s, app_of(r)->cfg, err, sizeof(err)) < 0) {
                http_reply_error(r, 400, *err ? err : "invalid site");
                return false;
        }
        return true;
}

/* app_root must be a real directory (or absent); a clone needs it empty. */
static bool check_root(struct http_req *r, const struct site *s)
{
        struct stat sb;
        if (lstat(s->app_root, &sb) < 0) {
                if (errno == ENOENT)
                        return true;
                http_reply_errorf(r, 500, "app_root %s: %s", s->app_root, strerror(errno));
                return false;
        }
        if (!S_ISDIR(sb.st_mode)) {
                http_reply_errorf(r, 409, "app_root %s exists and is not a directory", s->app_root);
                return false;
        }
        if (!str_empty(s->git_repo) && !dir_empty(s->app_root)) {
                http_reply_errorf(r, 409,
                                  "app_root %s exists and is not empty (git clone needs an empty "
                                  "directory)",
                                  s->app_root);
                return false;
        }
        return true;
}

static void create_site(struct http_req *r)
{
        struct app *app = app_of(r);
        _cleanup_site_in_ struct site_in in = {0};
        if (!fields_decode(r, site_fields, ARRAY_SIZE(site_fields), &in))
                return;
        if (!in.has_domain || !*in.domain) {
                http_reply_error(r, 400, "domain is required");
                return;
        }
        struct provision *p = calloc(1, sizeof(*p));
        if (!p) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        p->app = app;
        struct site *s = &p->site;
        *s = (struct site){.app_type = APP_STATIC, .ssl_auto = true, .enabled = true};
        unsigned mask = 0;
        bool ok = set_str(&s->aliases, "") == 0 && set_str(&s->app_entry, "") == 0 &&
                  set_str(&s->git_repo, "") == 0 && set_str(&s->git_branch, "main") == 0 &&
                  set_str(&s->ssl_cert_path, "") == 0 && set_str(&s->ssl_key_path, "") == 0;
        if (!ok) {
                provision_free(p);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (!merge_input(r, &in, s, &mask)) {
                provision_free(p);
                return;
        }
        s->enabled = true; /* a new site serves (the seed answers "enabled": true) */
        if (!in.has_app_root) {
                /* the default needs a valid domain before it is built */
                if (!valid_domain(s->domain)) {
                        provision_free(p);
                        http_reply_error(r, 400, "domain must be a valid DNS host name");
                        return;
                }
                str_tolower(s->domain);
                _cleanup_strbuf_ struct strbuf root = STRBUF_INIT(0);
                strbuf_printf(&root, "%s/%s", app->cfg->nginx.webroot, s->domain);
                if (!root.data || set_str(&s->app_root, root.data) < 0) {
                        provision_free(p);
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
        }
        if (!validate(r, s) || !check_root(r, s)) {
                provision_free(p);
                return;
        }

        long long id;
        {
                _cleanup_unlock_ pthread_mutex_t *m = lock_sites();
                struct site other = {0};
                int rc = sites_get_by_domain(app->db, s->domain, &other);
                site_clear(&other);
                if (rc == 0) {
                        provision_free(p);
                        http_reply_error(r, 409, "domain already exists");
                        return;
                }
                if (has_unit(s)) {
                        int want = s->app_port;
                        rc = port_locked(app->db, 0, &s->app_port);
                        if (rc < 0) {
                                provision_free(p);
                                reply_port_error(r, rc, want);
                                return;
                        }
                }
                id = sites_insert(app->db, s);
                if (id < 0) {
                        provision_free(p);
                        api_reply_errno(r, (int)id,
                                        id == -EEXIST ? "domain already exists"
                                                      : "could not create site");
                        return;
                }
                s->id = id;
                if (!busy_add_locked(id)) {
                        sites_delete(app->db, id);
                        provision_free(p);
                        http_reply_error(r, 500, "out of memory");
                        return;
                }
        }
        int rc = job_new(app->db, id, str_empty(s->git_repo) ? "create" : "clone", &p->job);
        if (rc < 0) {
                sites_delete(app->db, id);
                busy_release(id);
                provision_free(p);
                api_reply_errno(r, rc, "could not record the deployment");
                return;
        }
        long long did = job_id(p->job);
        log_info("sites: creating %s (id %lld, deployment %lld)", s->domain, id, did);

        if (wants_async(r)) {
                json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:b,s:i,s:s}", "id", (json_int_t)id,
                                      "deployment_id", (json_int_t)did, "domain", s->domain,
                                      "app_type", app_type_name(s->app_type), "enabled", true,
                                      "app_port", s->app_port, "status", "provisioning");
                rc = pool ? workpool_submit(pool, provision_task, p) : -ESHUTDOWN;
                if (rc < 0) {
                        json_decref(j);
                        failf(&p->out, p->job, 503, "queue", "too many jobs waiting");
                        job_finish(p->job, false, p->out.error);
                        sites_delete(app->db, id);
                        busy_release(id);
                        provision_free(p);
                        http_reply_error(r, 503, "too many site jobs are waiting; try again");
                        http_add_header(r, "Retry-After", "10");
                        return;
                }
                api_reply_json(r, 202, j);
                http_add_header(r, "Preference-Applied", "respond-async");
                char loc[64];
                snprintf(loc, sizeof(loc), "/sites/%lld", id);
                http_add_header(r, "Location", loc);
                return;
        }

        rc = provision_run(p);
        busy_release(id);
        if (rc < 0) {
                api_reply_json(r, p->out.status ? p->out.status : 500,
                               json_pack("{s:s,s:s,s:I}", "error",
                                         p->out.error ? p->out.error : "create failed", "step",
                                         p->out.step ? p->out.step : "", "deployment_id",
                                         (json_int_t)did));
                provision_free(p);
                return;
        }
        if (api_body_is_form(r)) {
                char loc[64];
                snprintf(loc, sizeof(loc), "/sites/%lld", id);
                http_redirect(r, 303, loc);
        } else {
                api_reply_json(r, 201,
                               json_pack("{s:I,s:s,s:s,s:b,s:i,s:I}", "id", (json_int_t)id,
                                         "domain", s->domain, "app_type",
                                         app_type_name(s->app_type), "enabled", s->enabled,
                                         "app_port", s->app_port, "deployment_id",
                                         (json_int_t)did));
        }
        provision_free(p);
}

/* ---- list, detail ---- */

static void list_sites(struct http_req *r)
{
        struct site *list;
        size_t n;
        int rc = sites_list(app_of(r)->db, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list sites");
                return;
        }
        /* one bus round trip for every app unit */
        _cleanup_free_ char *names = n ? calloc(n, 300) : NULL;
        _cleanup_free_ const char **units = n ? calloc(n, sizeof(char *)) : NULL;
        _cleanup_free_ struct unit_state *states = n ? calloc(n, sizeof(*states)) : NULL;
        _cleanup_free_ size_t *slot = n ? calloc(n, sizeof(size_t)) : NULL;
        if (n && (!names || !units || !states || !slot)) {
                sites_list_free(list, n);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (!has_unit(&list[i]))
                        continue;
                site_unit_name(&list[i], names + k * 300, 300);
                units[k] = names + k * 300;
                slot[i] = k++;
        }
        if (k)
                services_query(units, k, states);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    arr, site_json(&list[i], has_unit(&list[i]) ? &states[slot[i]] : NULL));
        sites_list_free(list, n);
        api_reply_json(r, 200, arr);
}

static void new_site_page(struct http_req *r)
{
        /* the form lives in the web UI; JSON clients get the defaults */
        api_reply_json(r, 200,
                       json_pack("{s:s,s:s,s:s,s:i,s:[ssss]}", "app_type", "static", "git_branch",
                                 "main", "webroot", app_of(r)->cfg->nginx.webroot, "app_port", 0,
                                 "app_types", "static", "python", "node", "autarch"));
}

static void get_site(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        struct deployment *deps;
        size_t n;
        int rc = deployments_list(app_of(r)->db, s.id, DEPLOYMENTS_SHOW, &deps, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not read deployments");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, deployment_json(&deps[i]));
        deployments_list_free(deps, n);
        api_reply_json(r, 200,
                       json_pack("{s:o,s:o}", "Site", site_json_live(&s), "Deployments", arr));
}

/* ---- update ---- */

static int site_copy(const struct site *a, struct site *b)
{
        *b = *a;
        b->domain = b->aliases = b->app_root = b->app_entry = b->git_repo = b->git_branch = NULL;
        b->ssl_cert_path = b->ssl_key_path = b->created_at = b->updated_at = NULL;
        if (set_str(&b->domain, a->domain) < 0 || set_str(&b->aliases, a->aliases) < 0 ||
            set_str(&b->app_root, a->app_root) < 0 || set_str(&b->app_entry, a->app_entry) < 0 ||
            set_str(&b->git_repo, a->git_repo) < 0 || set_str(&b->git_branch, a->git_branch) < 0 ||
            set_str(&b->ssl_cert_path, a->ssl_cert_path) < 0 ||
            set_str(&b->ssl_key_path, a->ssl_key_path) < 0 ||
            set_str(&b->created_at, a->created_at) < 0 ||
            set_str(&b->updated_at, a->updated_at) < 0) {
                site_clear(b);
                return -ENOMEM;
        }
        return 0;
}

/* Bring the unit from old to new: the old one goes when the name changes or
 * the site has no app any more; the new one is (re)installed when its text
 * changes and started/stopped as `enabled` says. *changed says whether
 * anything was touched (for the rollback). */
static int units_update(const struct config *cfg, const struct site *old, const struct site *nw,
                        bool *changed, struct outcome *o)
{
        char old_unit[300] = "", new_unit[300] = "";
        *changed = false;
        if (has_unit(old))
                site_unit_name(old, old_unit, sizeof(old_unit));
        if (has_unit(nw))
                site_unit_name(nw, new_unit, sizeof(new_unit));
        char user[ACCOUNTS_SITE_NAME_MAX] = "";
        if (accounts_site_user_name(nw->id, user) < 0)
                return failf(o, NULL, 500, "site user", "bad site id %lld", nw->id);
        _cleanup_free_ char *old_text = has_unit(old) ? unit_render_app(old, cfg, user) : NULL;
        _cleanup_free_ char *new_text = has_unit(nw) ? unit_render_app(nw, cfg, user) : NULL;
        bool renamed = !streq(old_unit, new_unit);
        bool text_changed = !streq(old_text, new_text);
        bool touch = (*old_unit && renamed) ||
                     (*new_unit && (renamed || text_changed || nw->enabled != old->enabled));
        if (touch && step_systemd(NULL, o) < 0)
                return -1;
        if (*old_unit && renamed) {
                *changed = true;
                int rc = remove_unit(cfg, old_unit);
                if (rc < 0)
                        return failf(o, NULL, 500, "unit", "cannot remove %s: %s", old_unit,
                                     strerror(-rc));
        }
        if (!*new_unit) {
                /* no app any more (now static): root owns the tree again, as
                 * it does every static site's, and the site user goes */
                if (*old_unit) {
                        drop_site_user(old);
                        if (units_chown_tree(nw->app_root, "root") < 0)
                                log_warn("sites: cannot give %s back to root", nw->app_root);
                }
                return 0;
        }
        if (renamed || text_changed) {
                *changed = true;
                if (step_owner(nw, NULL, o, user) < 0 ||
                    step_unit_install(cfg, nw, user, NULL, o) < 0 ||
                    step_unit_op(nw, UNIT_ENABLE, "enable", NULL, o) < 0)
                        return -1;
        }
        if (nw->enabled != old->enabled || renamed || text_changed) {
                *changed = true;
                return step_unit_op(nw, nw->enabled ? UNIT_RESTART : UNIT_STOP,
                                    nw->enabled ? "restart" : "stop", NULL, o);
        }
        return 0;
}

static void update_site(struct http_req *r)
{
        struct app *app = app_of(r);
        const struct config *cfg = app->cfg;
        _cleanup_site_ struct site old = {0};
        if (!load_site(r, &old))
                return;
        _cleanup_site_in_ struct site_in in = {0};
        if (!fields_decode(r, site_fields, ARRAY_SIZE(site_fields), &in))
                return;
        _cleanup_site_ struct site nw = {0};
        if (site_copy(&old, &nw) < 0) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        unsigned mask = 0;
        if (!merge_input(r, &in, &nw, &mask) || !validate(r, &nw))
                return;
        if (!busy_acquire(old.id)) {
                http_reply_error(r, 409, "the site is busy with another change; try again");
                return;
        }
        struct outcome o = {0};
        bool db_done = false, units_changed = false;
        {
                _cleanup_unlock_ pthread_mutex_t *m = lock_sites();
                struct site other = {0};
                int rc = sites_get_by_domain(app->db, nw.domain, &other);
                bool taken = rc == 0 && other.id != nw.id;
                site_clear(&other);
                if (taken) {
                        pthread_mutex_unlock(TAKE_PTR(m));
                        busy_release(old.id);
                        http_reply_error(r, 409, "domain already exists");
                        return;
                }
                if (has_unit(&nw) && (nw.app_port == 0 || (mask & SITE_COL_APP_PORT))) {
                        int want = nw.app_port;
                        rc = port_locked(app->db, nw.id, &nw.app_port);
                        if (rc < 0) {
                                pthread_mutex_unlock(TAKE_PTR(m));
                                busy_release(old.id);
                                reply_port_error(r, rc, want);
                                return;
                        }
                        if (nw.app_port != old.app_port)
                                mask |= SITE_COL_APP_PORT;
                }
                rc = sites_update(app->db, &nw, mask);
                if (rc < 0) {
                        pthread_mutex_unlock(TAKE_PTR(m));
                        busy_release(old.id);
                        api_reply_errno(r, rc,
                                        rc == -EEXIST ? "domain already exists"
                                                      : "could not update site");
                        return;
                }
                db_done = true;
        }
        if (units_update(cfg, &old, &nw, &units_changed, &o) < 0 ||
            step_nginx(cfg, &nw, old.domain, NULL, &o) < 0) {
                /* back to the old unit; nginx restored its own files */
                if (units_changed) {
                        bool dummy;
                        struct outcome o2 = {0};
                        if (units_update(cfg, &nw, &old, &dummy, &o2) < 0)
                                log_error("sites: restoring the unit of %s: %s", old.domain,
                                          o2.error ? o2.error : "?");
                        outcome_clear(&o2);
                }
                if (db_done && sites_update(app->db, &old, SITE_COL_ALL) < 0)
                        log_error("sites: cannot restore row %lld", old.id);
                busy_release(old.id);
                http_reply_error(r, o.status ? o.status : 500, o.error ? o.error : "update failed");
                outcome_clear(&o);
                return;
        }
        busy_release(old.id);
        _cleanup_site_ struct site cur = {0};
        if (sites_get(app->db, nw.id, &cur) < 0) {
                api_reply_json(r, 200, site_json_live(&nw));
                return;
        }
        log_info("sites: updated %s (id %lld)", cur.domain, cur.id);
        api_reply_json(r, 200, site_json_live(&cur));
}

/* ---- delete ---- */

static void delete_site(struct http_req *r)
{
        struct app *app = app_of(r);
        const struct config *cfg = app->cfg;
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!busy_acquire(s.id)) {
                http_reply_error(r, 409, "the site is busy with another change; try again");
                return;
        }
        struct outcome o = {0};
        /* vhost first: when nginx refuses, nothing has changed yet */
        struct nginx_txn *t = NULL;
        int rc = nginx_txn_begin(cfg, &t);
        if (rc == 0)
                rc = nginx_txn_drop_site(t, s.domain, false);
        _cleanup_free_ char *msg = NULL;
        if (rc == 0)
                rc = nginx_txn_commit(t, &msg);
        nginx_txn_free(t);
        if (rc < 0) {
                busy_release(s.id);
                http_reply_errorf(r, 500, "nginx failed: %s", msg ? msg : strerror(-rc));
                return;
        }
        if (has_unit(&s)) {
                char unit[300];
                site_unit_name(&s, unit, sizeof(unit));
                rc = remove_unit(cfg, unit);
                if (rc < 0) {
                        /* put the vhost back: the site stays whole */
                        if (s.enabled)
                                step_nginx(cfg, &s, NULL, NULL, &o);
                        outcome_clear(&o);
                        busy_release(s.id);
                        http_reply_errorf(r, 500, "unit failed: cannot remove %s: %s", unit,
                                          strerror(-rc));
                        return;
                }
        }
        /* the site's user goes (its processes first); the kept files go back
         * to root, so a later user given the same uid does not own them */
        drop_site_user(&s);
        if (has_unit(&s) && units_chown_tree(s.app_root, "root") < 0)
                log_warn("sites: cannot give %s back to root", s.app_root);
        rc = sites_delete(app->db, s.id);
        busy_release(s.id);
        if (rc < 0 && rc != -ENOENT) {
                api_reply_errno(r, rc, "could not delete site");
                return;
        }
        log_info("sites: deleted %s (id %lld), files kept in %s", s.domain, s.id, s.app_root);
        api_reply_status(r, 200, "deleted");
}

/* ---- deploy ---- */

struct deploy_work {
        struct app *app;
        struct site site;
        struct job *job;
        struct outcome out;
};

static void deploy_work_free(struct deploy_work *w)
{
        if (!w)
                return;
        site_clear(&w->site);
        job_unref(w->job);
        outcome_clear(&w->out);
        free(w);
}

static int deploy_run(struct deploy_work *w)
{
        struct site *s = &w->site;
        struct job *j = w->job;
        struct outcome *o = &w->out;
        char user[ACCOUNTS_SITE_NAME_MAX];
        struct deploy_as as;
        site_as(w->app->cfg, s, user, &as);
        int rc = 0;
        /* every step as the site user: first make sure it owns the tree (a
         * site from before per-site users: its unit is rewritten for it) */
        if (has_unit(s)) {
                int own = step_systemd(j, o) < 0 ? -1 : step_owner(s, j, o, user);
                if (own < 0 || (own == 1 && step_unit_install(w->app->cfg, s, user, j, o) < 0))
                        rc = -1;
        }
        if (rc == 0 && !str_empty(s->git_repo)) {
                job_printf(j, "==> git pull --ff-only in %s\n", s->app_root);
                rc = deploy_git_pull(&as, s->app_root, job_output, j);
                if (rc < 0)
                        fail_output(o, j, "git pull", rc);
        }
        if (rc == 0 && has_unit(s)) {
                if (step_deps(&as, s, j, o) < 0)
                        rc = -1;
                else if (s->enabled && step_unit_op(s, UNIT_RESTART, "restart", j, o) < 0)
                        rc = -1;
        }
        if (rc < 0) {
                job_finish(j, false, o->error);
                return -1;
        }
        job_finish(j, true, "deployed");
        return 0;
}

static void deploy_task(void *arg)
{
        struct deploy_work *w = arg;
        deploy_run(w);
        busy_release(w->site.id);
        deploy_work_free(w);
}

static void deploy_site(struct http_req *r)
{
        struct app *app = app_of(r);
        struct deploy_work *w = calloc(1, sizeof(*w));
        if (!w) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        w->app = app;
        if (!load_site(r, &w->site)) {
                free(w);
                return;
        }
        long long id = w->site.id;
        if (!busy_acquire(id)) {
                deploy_work_free(w);
                http_reply_error(r, 409, "the site is busy with another change; try again");
                return;
        }
        int rc = job_new(app->db, id, "deploy", &w->job);
        if (rc < 0) {
                busy_release(id);
                deploy_work_free(w);
                api_reply_errno(r, rc, "could not record the deployment");
                return;
        }
        long long did = job_id(w->job);
        if (wants_async(r)) {
                rc = pool ? workpool_submit(pool, deploy_task, w) : -ESHUTDOWN;
                if (rc < 0) {
                        job_finish(w->job, false, "queue failed: too many jobs waiting");
                        busy_release(id);
                        deploy_work_free(w);
                        http_reply_error(r, 503, "too many site jobs are waiting; try again");
                        http_add_header(r, "Retry-After", "10");
                        return;
                }
                api_reply_json(r, 202,
                               json_pack("{s:s,s:I}", "status", "deploying", "deployment_id",
                                         (json_int_t)did));
                http_add_header(r, "Preference-Applied", "respond-async");
                return;
        }
        rc = deploy_run(w);
        busy_release(id);
        if (rc < 0)
                api_reply_json(r, w->out.status ? w->out.status : 500,
                               json_pack("{s:s,s:s,s:I}", "error",
                                         w->out.error ? w->out.error : "deploy failed", "step",
                                         w->out.step ? w->out.step : "", "deployment_id",
                                         (json_int_t)did));
        else
                api_reply_json(
                    r, 200,
                    json_pack("{s:s,s:I}", "status", "deployed", "deployment_id", (json_int_t)did));
        deploy_work_free(w);
}

/* ---- start, stop, restart ---- */

static void control(struct http_req *r, enum unit_op op, const char *what, const char *done)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!has_unit(&s)) {
                http_reply_error(r, 400, "static sites have no service to control");
                return;
        }
        if (!busy_acquire(s.id)) {
                http_reply_error(r, 409, "the site is busy with another change; try again");
                return;
        }
        struct outcome o = {0};
        int rc = step_unit_op(&s, op, what, NULL, &o);
        busy_release(s.id);
        if (rc < 0) {
                http_reply_error(r, 500, o.error ? o.error : "failed");
                outcome_clear(&o);
                return;
        }
        api_reply_status(r, 200, done);
}

static void start_site(struct http_req *r)
{
        control(r, UNIT_START, "start", "started");
}

static void stop_site(struct http_req *r)
{
        control(r, UNIT_STOP, "stop", "stopped");
}

static void restart_site(struct http_req *r)
{
        control(r, UNIT_RESTART, "restart", "restarted");
}

/* ---- logs ---- */

static void site_logs(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!has_unit(&s)) {
                api_reply_json(r, 200, json_pack("{s:s}", "logs", ""));
                return;
        }
        char unit[300];
        site_unit_name(&s, unit, sizeof(unit));
        _cleanup_strbuf_ struct strbuf text = STRBUF_INIT(LOG_MAX);
        int rc = journal_last(unit, LOG_LINES, &text);
        if (rc < 0) {
                http_reply_errorf(r, 500, "cannot read the journal of %s: %s", unit, strerror(-rc));
                return;
        }
        api_reply_json(
            r, 200,
            json_pack("{s:s%}", "logs", text.data ? text.data : "", text.data ? text.len : 0));
}

static bool stream_slot(struct http_req *r)
{
        if (atomic_fetch_add(&streams_open, 1) >= STREAMS_MAX) {
                atomic_fetch_sub(&streams_open, 1);
                http_reply_error(r, 503, "too many streams open");
                http_add_header(r, "Retry-After", "5");
                return false;
        }
        return true;
}

static void site_logs_stream(struct http_req *r)
{
        _cleanup_site_ struct site s = {0};
        if (!load_site(r, &s))
                return;
        if (!has_unit(&s)) {
                api_journal_sse(r, NULL, 0);
                return;
        }
        char unit[300];
        site_unit_name(&s, unit, sizeof(unit));
        api_journal_sse(r, unit, STREAM_BACKLOG);
}

/* ---- deployments ---- */

/* Streams a job's output one line per event (CR and LF both end a line:
 * git's progress redraws with CR, and a bare CR would end an SSE line too);
 * id = the byte offset after the line, so Last-Event-ID resumes there. The
 * last event is named "end" with {"status","error","step"}. A deployment no
 * longer in memory is replayed from its row. */
struct dep_stream {
        struct job *job;
        struct job_sub *sub; /* NULL: replay of a finished row */
        struct strbuf partial;
        size_t consumed; /* offset of partial's first byte */
        char *text;      /* replay */
        size_t from;
        char *status, *error;
};

static void dep_stream_free(void *ctx)
{
        struct dep_stream *d = ctx;
        if (d) {
                job_sub_free(d->sub);
                job_unref(d->job);
                strbuf_free(&d->partial);
                free(d->text);
                free(d->status);
                free(d->error);
                free(d);
        }
        atomic_fetch_sub(&streams_open, 1);
}

/* The last event of a deployment stream: "end" with the final status. */
static int send_end(struct sse_stream *s, const char *status, const char *error)
{
        _cleanup_json_ json_t *j =
            json_pack("{s:s,s:s,s:s}", "status", status, "error", error ? error : "", "step", "");
        const char *colon = error ? strstr(error, " failed") : NULL;
        if (j && colon)
                json_object_set_new(j, "step", json_stringn(error, (size_t)(colon - error)));
        _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (!text)
                return -ENOMEM;
        return sse_send_event(s, "end", "end", text, strlen(text));
}

/* Send every complete line of buf (starting at offset base); returns the
 * bytes consumed. */
static int send_lines(struct sse_stream *s, const char *buf, size_t len, size_t base, size_t *used,
                      bool flush)
{
        size_t start = 0;
        char id[32];
        for (size_t i = 0; i < len; i++) {
                if (buf[i] != '\n' && buf[i] != '\r')
                        continue;
                snprintf(id, sizeof(id), "%zu", base + i + 1);
                if (i > start || buf[i] == '\n') {
                        int rc = sse_send(s, id, buf + start, i - start);
                        if (rc < 0)
                                return rc;
                }
                start = i + 1;
        }
        if (flush && start < len) {
                snprintf(id, sizeof(id), "%zu", base + len);
                int rc = sse_send(s, id, buf + start, len - start);
                if (rc < 0)
                        return rc;
                start = len;
        }
        *used = start;
        return 0;
}

static int dep_pump(struct sse_stream *s, void *ctx)
{
        struct dep_stream *d = ctx;
        size_t used;
        if (!d->sub) {
                size_t len = strlen(d->text);
                size_t from = d->from < len ? d->from : len;
                if (send_lines(s, d->text + from, len - from, from, &used, true) < 0)
                        return -1;
                send_end(s, d->status, d->error);
                return -1;
        }
        for (int round = 0; round < 4; round++) {
                size_t skipped, offset;
                bool done, ok;
                size_t before = d->partial.len;
                if (job_sub_read(d->sub, &d->partial, 64 * 1024, &skipped, &offset, &done, &ok) < 0)
                        return -1;
                if (skipped) {
                        /* what was lost includes the partial line */
                        size_t fresh = d->partial.len - before;
                        memmove(d->partial.data, d->partial.data + before, fresh);
                        d->partial.len = fresh;
                        d->consumed = offset - fresh;
                        char note[96];
                        int n =
                            snprintf(note, sizeof(note), "[... %zu bytes skipped ...]", skipped);
                        if (sse_send(s, NULL, note, (size_t)n) < 0)
                                return -1;
                }
                if (send_lines(s, d->partial.data ? d->partial.data : "", d->partial.len,
                               d->consumed, &used, done) < 0)
                        return -1;
                if (used) {
                        memmove(d->partial.data, d->partial.data + used, d->partial.len - used);
                        d->partial.len -= used;
                        d->partial.data[d->partial.len] = '\0';
                        d->consumed += used;
                }
                if (done) {
                        _cleanup_free_ char *summary = ok ? NULL : job_summary(d->job);
                        send_end(s, ok ? "success" : "failed",
                                 summary ? utf8_clean(summary) : NULL);
                        return -1;
                }
                if (d->partial.len == before && !skipped)
                        break; /* nothing new */
        }
        return 0;
}

static const struct sse_source_ops dep_ops = {dep_pump, dep_stream_free};

static bool dep_params(struct http_req *r, long long *site_id, long long *did)
{
        return id_param(r, "id", site_id) && id_param(r, "did", did);
}

static void get_deployment(struct http_req *r)
{
        long long site_id, did;
        if (!dep_params(r, &site_id, &did))
                return;
        struct deployment d = {0};
        int rc = deployments_get(app_of(r)->db, did, &d);
        struct job *j = job_find(did);
        /* a failed create's row has lost its site: the live job knows it */
        bool mine = rc == 0 && (d.site_id == site_id || (j && job_site_id(j) == site_id));
        job_unref(j);
        if (!mine) {
                deployment_clear(&d);
                if (rc < 0 && rc != -ENOENT)
                        api_reply_errno(r, rc, "could not read deployment");
                else
                        http_reply_error(r, 404, "deployment not found");
                return;
        }
        json_t *out = deployment_json(&d);
        json_object_set_new(out, "site_id", d.site_id ? json_integer(d.site_id) : json_null());
        deployment_clear(&d);
        api_reply_json(r, 200, out);
}

/* The last non-empty line of a failed deployment's output: its summary. */
static char *last_line(const char *text)
{
        size_t n = strlen(text);
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
                n--;
        size_t start = n;
        while (start && text[start - 1] != '\n' && text[start - 1] != '\r')
                start--;
        return strndup(text + start, n - start);
}

static void deployment_stream(struct http_req *r)
{
        long long site_id, did;
        if (!dep_params(r, &site_id, &did))
                return;
        size_t from = 0;
        const char *last = http_header(r, "Last-Event-ID");
        long long off;
        if (last && *last && parse_int64(last, 0, 1LL << 50, &off) == 0)
                from = (size_t)off;
        bool ended = last && startswith(last, "end");
        if (!stream_slot(r))
                return;
        /* from here on dep_stream_free gives the slot back */
        struct dep_stream *d = calloc(1, sizeof(*d));
        if (!d) {
                dep_stream_free(NULL);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        d->partial = STRBUF_INIT(2 * JOB_OUTPUT_KEEP);
        d->from = from;
        d->consumed = from;
        d->job = job_find(did);
        if (d->job && job_site_id(d->job) != site_id) {
                job_unref(d->job);
                d->job = NULL;
        }
        int rc;
        if (d->job && !ended) {
                rc = job_subscribe(d->job, from, &d->sub);
                if (rc < 0) {
                        dep_stream_free(d);
                        http_reply_errorf(r, 500, "cannot follow the deployment: %s",
                                          strerror(-rc));
                        return;
                }
                int fd = fcntl(job_sub_fd(d->sub), F_DUPFD_CLOEXEC, 3);
                if (fd < 0) {
                        rc = -errno;
                        dep_stream_free(d);
                        http_reply_errorf(r, 500, "cannot follow the deployment: %s",
                                          strerror(-rc));
                        return;
                }
                http_reply_sse(r, fd, &dep_ops, d);
                return;
        }
        struct deployment row = {0};
        rc = deployments_get(app_of(r)->db, did, &row);
        bool mine = rc == 0 && (row.site_id == site_id || d->job);
        if (!mine) {
                deployment_clear(&row);
                dep_stream_free(d);
                if (rc < 0 && rc != -ENOENT)
                        api_reply_errno(r, rc, "could not read deployment");
                else
                        http_reply_error(r, 404, "deployment not found");
                return;
        }
        d->status = strdup(row.status);
        d->text = strdup(ended ? "" : row.output);
        d->error = streq(row.status, "failed") ? last_line(row.output) : NULL;
        deployment_clear(&row);
        if (!d->status || !d->text) {
                dep_stream_free(d);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        if (d->error)
                utf8_clean(d->error);
        http_reply_sse(r, -1, &dep_ops, d);
}

/* ---- module ---- */

static int sites_start(struct app *app)
{
        int n = deployments_fail_stale(app->db, "\n[interrupted: the panel stopped]\n");
        if (n > 0)
                log_warn("sites: %d deployments were interrupted by a restart", n);
        pool = workpool_new(2, 32);
        return pool ? 0 : -errno;
}

static void sites_stop(struct app *app)
{
        workpool_free(pool);
        pool = NULL;
        jobs_reap(0);
}

static const struct route sites_routes[] = {
    {"GET", "/sites", list_sites, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"POST", "/sites", create_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/sites/new", new_site_page, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"GET", "/sites/{id}", get_site, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"PUT", "/sites/{id}", update_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/sites/{id}", delete_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/deploy", deploy_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/start", start_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/stop", stop_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"POST", "/sites/{id}/restart", restart_site, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/logs", site_logs, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/logs/stream", site_logs_stream, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/deployments/{did}", get_deployment, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/sites/{id}/deployments/{did}/stream", deployment_stream, ROUTE_USER, ROUTE_WORKER,
     NULL},
};

const struct api_module sites_module = {"sites", sites_routes, ARRAY_SIZE(sites_routes),
                                        sites_start, sites_stop};
