/* Site jobs: the steps of create, deploy, update and delete and their undo
 * steps (moved out of api/sites.c; see jobs/sites.h). */
#include "jobs/sites.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/sites.h"
#include "sys/accounts.h"
#include "providers/provider.h"
#include "sys/deploy.h"
#include "sys/files.h"
#include "sys/nginx.h"
#include "sys/services.h"
#include "sys/units.h"

#define UNIT_TIMEOUT_MS 60000
#define ERROR_TAIL      2000

_Static_assert(sizeof(((struct site_job *)0)->user) == ACCOUNTS_SITE_NAME_MAX,
               "site_job.user holds a site user's name");

/* The check-then-write sequences on the sites table (domain, port). */
static pthread_mutex_t rows_lock = PTHREAD_MUTEX_INITIALIZER;

struct site_job *site_job_new(const struct config *cfg, struct db *db)
{
        struct site_job *w = calloc(1, sizeof(*w));
        if (w) {
                w->cfg = cfg;
                w->db = db;
        }
        return w;
}

void site_outcome_clear(struct site_outcome *o)
{
        free(o->error);
        *o = (struct site_outcome){0};
}

static void site_dns_free(struct site_dns *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->nchanges; i++) {
                free(d->changes[i].zone);
                free(d->changes[i].name);
                free(d->changes[i].type);
                dns_records_free(d->changes[i].old, d->changes[i].nold);
        }
        free(d->changes);
        d->changes = NULL;
        d->nchanges = 0;
        if (d->release)
                d->release(d); /* frees d */
        else
                free(d);
}

void site_job_free(void *ctx)
{
        struct site_job *w = ctx;
        if (!w)
                return;
        site_dns_free(w->dns);
        site_clear(&w->site);
        site_clear(&w->old);
        site_outcome_clear(&w->out);
        free(w);
}

void site_subject(long long id, char *out, size_t len)
{
        snprintf(out, len, "site:%lld", id);
}

static bool has_unit(const struct site *s)
{
        return site_has_own_unit(s);
}

/* Who owns a static site's tree built from a repository and runs its git:
 * the HTTP process's own user (server.user), never root ("": nobody is
 * changed, as for a static site without a repository). */
static const char *static_owner(const struct config *cfg, const struct site *s)
{
        return !has_unit(s) && !str_empty(s->git_repo) && !str_empty(cfg->server.user)
                   ? cfg->server.user
                   : "";
}

/* Record a failure: the seed's "<step> failed: ..." text and an HTTP
 * status, also the job's error. Returns -1. */
static int failf(struct site_outcome *o, struct job *j, int status, const char *step,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int failf(struct site_outcome *o, struct job *j, int status, const char *step,
                 const char *fmt, ...)
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
        o->error = t.data ? strbuf_steal(&t) : NULL;
        o->step = step;
        o->status = status;
        if (j && o->error)
                job_fail(j, "%s", o->error);
        return -1;
}

/* A failed program: its step and the tail of the job's output. */
static int fail_output(struct site_outcome *o, struct job *j, const char *step, int rc)
{
        if (j && job_cancelled(j))
                return failf(o, j, 409, step, "cancelled");
        _cleanup_free_ char *tail = job_tail(j, ERROR_TAIL);
        if (rc < 0 && rc != -EIO && (!tail || !*tail))
                return failf(o, j, 500, step, "%s", strerror(-rc));
        return failf(o, j, 500, step, "%s", tail && *tail ? tail : strerror(-rc));
}

int site_remove_unit(const struct config *cfg, const char *unit)
{
        /* without a bus the file goes all the same (unit_remove) */
        int rc = unit_remove(cfg, unit);
        if (rc < 0)
                log_warn("sites: removing %s: %s", unit, strerror(-rc));
        return rc;
}

static int unit_op(const struct site *s, enum unit_op op, const char *what, struct job *j,
                   struct site_outcome *o)
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

int site_unit_op(const struct site *s, int op, const char *what, struct site_outcome *out)
{
        return unit_op(s, (enum unit_op)op, what, NULL, out);
}

/* How a site's deploy steps run: python/node code as the site's own system
 * user (w->user, "setec-s<id>"), never as root; a static site's git as the
 * HTTP process's user (static_owner; the root helper decides from the site
 * id which of the two). */
static struct deploy_as site_as(const struct site_job *w)
{
        const struct site *s = &w->site;
        struct deploy_as as = {.site_id = s->id, .ca_bundle = w->cfg->git.ca_bundle};
        if (has_unit(s) && w->user[0])
                as.user = w->user;
        else if (*static_owner(w->cfg, s))
                as.user = static_owner(w->cfg, s);
        /* a local repository (validated inside git.local_root) */
        if (as.user && !str_empty(s->git_repo) && s->git_repo[0] == '/')
                as.local_source = s->git_repo;
        return as;
}

static int deps(const struct deploy_as *as, const struct site *s, struct job *j,
                struct site_outcome *o)
{
        int rc = 0;
        if (s->app_type == APP_PYTHON) {
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
static int check_systemd(struct job *j, struct site_outcome *o)
{
        struct sd_bus *bus = NULL;
        int rc = services_bus(2000, &bus);
        if (rc < 0)
                return failf(o, j, 503, "systemd", "cannot reach the system bus: %s",
                             strerror(-rc));
        return 0;
}

/* The site's own system user (home: app_root). 0 created, 1 it existed. */
static int site_user_add(const struct site *s, const char *user, struct job *j,
                         struct site_outcome *o)
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
 * changed hands, 0 when it was the user's already, -1 (o set). */
static int owner(const struct site *s, struct job *j, struct site_outcome *o,
                 char user[ACCOUNTS_SITE_NAME_MAX])
{
        int rc = accounts_site_user_name(s->id, user);
        if (rc < 0)
                return failf(o, j, 500, "site user", "bad site id %lld", s->id);
        if (site_user_add(s, user, j, o) < 0)
                return -1;
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
static void drop_site_user(long long id)
{
        char user[ACCOUNTS_SITE_NAME_MAX];
        _cleanup_free_ char *err = NULL;
        if (accounts_site_user_name(id, user) < 0)
                return;
        int rc = accounts_site_user_del(user, &err);
        if (rc < 0)
                log_warn("sites: cannot remove the user %s: %s", user, err ? err : strerror(-rc));
}

/* A site that has no app any more (deleted, or made static): root owns its
 * kept tree again, as it does every static site's, so a later user given
 * the same uid does not own them. */
static void root_owns(const char *app_root)
{
        struct stat sb;
        if (lstat(app_root, &sb) == 0 && S_ISDIR(sb.st_mode) &&
            units_chown_tree(app_root, "root") < 0)
                log_warn("sites: cannot give %s back to root", app_root);
}

/* The unit of s, rendered for the site's own user (user: its name, for the
 * check here; the install renders it again). */
static int unit_install_step(const struct config *cfg, const struct site *s, const char *user,
                             struct job *j, struct site_outcome *o)
{
        char unit[300];
        site_unit_name(s, unit, sizeof(unit));
        _cleanup_free_ char *text = unit_render_app(s, cfg, user);
        if (!text)
                return failf(o, j, 500, "unit", "cannot render %s", unit);
        if (j)
                job_printf(j, "==> systemd unit %s\n", unit);
        int rc = units_install_site(cfg, s);
        if (rc < 0)
                return failf(o, j, 500, "unit", "cannot install %s: %s", unit, strerror(-rc));
        return 0;
}

/* Apply the vhost of s (enabled: written and linked; disabled: unlinked),
 * first dropping old_domain's vhost when it differs. */
static int nginx_apply(const struct config *cfg, const struct site *s, const char *old_domain,
                       struct job *j, struct site_outcome *o)
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

/* ---- rows ---- */

/* rows_lock held. 0 = ok; -EADDRINUSE when port (given) is another site's;
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
        *port = deploy_pick_port(SITE_PORT_LO, SITE_PORT_HI, used, n);
        return *port ? 0 : -EADDRNOTAVAIL;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
        _cleanup_strbuf_ struct strbuf t = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&t, fmt, ap);
        va_end(ap);
        return t.data ? strbuf_steal(&t) : NULL;
}

static int port_error(int rc, int port, int *status, char **err)
{
        if (rc == -EADDRINUSE) {
                *status = 409;
                *err = xasprintf("app_port %d is already used by another site", port);
        } else if (rc == -EADDRNOTAVAIL) {
                *status = 503;
                *err = xasprintf("app_port: no free port in %d-%d", SITE_PORT_LO, SITE_PORT_HI);
        } else {
                *status = rc == -ENOMEM ? 500 : 500;
                *err = xasprintf("could not read the sites' ports");
        }
        return rc;
}

/* The app_root rules (core/site.c, db/sites.c): not another site's, nor
 * inside or around one, and absent or empty. rows_lock held. */
static int root_rules_locked(struct db *db, const struct site *s, long long except_id, int *status,
                             char **err)
{
        char msg[512], other[256];
        int rc = sites_root_conflict(db, s->app_root, except_id, other, sizeof(other));
        if (rc == 0) {
                *status = 400;
                *err =
                    xasprintf("app_root %s overlaps the app_root of site %s", s->app_root, other);
                return -EEXIST;
        }
        if (rc != -ENOENT) {
                *status = 500;
                *err = xasprintf("database error");
                return rc < 0 ? rc : -EIO;
        }
        rc = site_check_root_free(s, msg, sizeof(msg));
        if (rc < 0) {
                *status = rc == -EEXIST || rc == -ENOTDIR ? 400 : 500;
                *err = xasprintf("%s", msg);
                return rc;
        }
        return 0;
}

int site_reserve(struct db *db, struct site *s, int *status, char **err)
{
        *err = NULL;
        *status = 500;
        pthread_mutex_lock(&rows_lock);
        struct site other = {0};
        int rc = sites_get_by_domain(db, s->domain, &other);
        site_clear(&other);
        if (rc == 0) {
                pthread_mutex_unlock(&rows_lock);
                *status = 409;
                *err = xasprintf("domain already exists");
                return -EEXIST;
        }
        rc = root_rules_locked(db, s, 0, status, err);
        if (rc < 0) {
                pthread_mutex_unlock(&rows_lock);
                return rc;
        }
        if (has_unit(s)) {
                int want = s->app_port;
                rc = port_locked(db, 0, &s->app_port);
                if (rc < 0) {
                        pthread_mutex_unlock(&rows_lock);
                        return port_error(rc, want, status, err);
                }
        }
        long long id = sites_insert(db, s);
        pthread_mutex_unlock(&rows_lock);
        if (id < 0) {
                *status = id == -EEXIST ? 409 : 500;
                *err = xasprintf(id == -EEXIST ? "domain already exists" : "could not create site");
                return (int)id;
        }
        s->id = id;
        return 0;
}

/* ---- create ---- */

static void data_flags(struct job *j, struct site_job *w)
{
        job_set_data(j, "made_root", json_boolean(w->made_root));
        job_set_data(j, "filled_root", json_boolean(w->filled_root));
        job_set_data(j, "unit_tried", json_boolean(w->unit_tried));
        job_set_data(j, "made_user", json_boolean(w->made_user));
}

static int create_row(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        job_set_data(j, "site_id", json_integer(w->site.id));
        job_set_data(j, "domain", json_string(w->site.domain));
        job_set_data(j, "app_root", json_string(w->site.app_root));
        job_set_data(j, "app_type", json_string(app_type_name(w->site.app_type)));
        return 0; /* inserted by site_reserve before the job was queued */
}

static void delete_row(struct db *db, long long id, const char *domain)
{
        int e = sites_delete(db, id);
        if (e < 0 && e != -ENOENT)
                log_error("sites: rollback of %s: cannot delete row %lld: %s", domain, id,
                          strerror(-e));
}

static void create_row_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        delete_row(w->db, w->site.id, w->site.domain);
        log_warn("sites: create %s failed (%s), rolled back", w->site.domain,
                 w->out.error ? w->out.error : "?");
}

static int create_root(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site *s = &w->site;
        struct stat sb;
        job_printf(j, "==> app_root %s\n", s->app_root);
        if (lstat(s->app_root, &sb) == 0 && !S_ISDIR(sb.st_mode))
                return failf(&w->out, j, 409, "app_root", "%s exists and is not a directory",
                             s->app_root);
        /* made when missing; an app's (empty) tree goes to its user, a static
         * site's stays as it is */
        bool made = false;
        int e =
            files_tree_prepare(s->app_root, has_unit(s) ? w->user : static_owner(w->cfg, s), &made);
        if (made) {
                w->made_root = true;
                data_flags(j, w);
        }
        if (e < 0)
                return failf(&w->out, j, 500, made ? "chown" : "app_root", "%s: %s", s->app_root,
                             strerror(-e));
        /* a new static site without a repository answers a page, not 403,
         * until its files arrive (the undo removes the tree it is in) */
        if (made && s->app_type == APP_STATIC && str_empty(s->git_repo)) {
                e = files_placeholder(s->app_root, s->domain);
                if (e < 0)
                        job_printf(j, "no placeholder page: %s\n", strerror(-e));
                else
                        job_printf(j, "==> placeholder %s/index.html\n", s->app_root);
        }
        return 0;
}

/* The user this create made goes, its processes first. */
static void create_user_drop(struct site_job *w)
{
        if (!w->made_user || w->user_dropped)
                return;
        drop_site_user(w->site.id);
        w->user_dropped = true;
}

static void create_root_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        /* before the files go: none of its processes may still be at work */
        create_user_drop(w);
        if (w->made_root)
                files_rm_tree(w->site.app_root, true);
        else if (w->filled_root)
                files_rm_tree(w->site.app_root, false); /* it was empty before */
}

static int create_clone(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site *s = &w->site;
        if (str_empty(s->git_repo))
                return JOB_SKIP;
        _cleanup_free_ char *shown = site_git_repo_redacted(s->git_repo);
        job_printf(j, "==> git clone %s (branch %s)\n", shown ? shown : "", s->git_branch);
        w->filled_root = true;
        data_flags(j, w);
        struct deploy_as as = site_as(w);
        int e = deploy_git_clone(&as, s->git_repo, s->git_branch, s->app_root, job_output, j);
        if (e < 0)
                return fail_output(&w->out, j, "git clone", e);
        return 0;
}

static int step_deps(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!has_unit(&w->site))
                return JOB_SKIP;
        w->filled_root = true;
        data_flags(j, w);
        struct deploy_as as = site_as(w);
        return deps(&as, &w->site, j, &w->out);
}

static int step_systemd(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!has_unit(&w->site))
                return JOB_SKIP;
        return check_systemd(j, &w->out);
}

/* create: the site's user, before any of its code runs */
static int create_user(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site *s = &w->site;
        if (!has_unit(s))
                return JOB_SKIP;
        if (accounts_site_user_name(s->id, w->user) < 0)
                return failf(&w->out, j, 500, "site user", "bad site id %lld", s->id);
        int rc = site_user_add(s, w->user, j, &w->out);
        if (rc < 0)
                return -1;
        w->made_user = rc == 0;
        data_flags(j, w);
        return 0;
}

static void create_user_undo(struct job *j, void *ctx)
{
        create_user_drop(ctx);
}

/* deploy of a static site: its git runs as static_owner, which must own the
 * tree (one from before: root's) */
static int static_tree_owner(struct site_job *w, struct job *j)
{
        const char *u = static_owner(w->cfg, &w->site);
        unsigned uid = 0;
        struct stat sb;
        if (!*u || (accounts_lookup(u, &uid) == 0 && lstat(w->site.app_root, &sb) == 0 &&
                    sb.st_uid == uid))
                return JOB_SKIP;
        int rc = units_chown_tree(w->site.app_root, u);
        if (rc < 0)
                return failf(&w->out, j, 500, "chown", "%s: %s", w->site.app_root, strerror(-rc));
        return 0;
}

/* deploy: every step as the site user, so first make sure it owns the tree
 * (a site from before per-site users: its unit is rewritten for it) */
static int deploy_owner(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!has_unit(&w->site))
                return static_tree_owner(w, j);
        int own = owner(&w->site, j, &w->out, w->user);
        if (own < 0)
                return -1;
        if (own == 1 && unit_install_step(w->cfg, &w->site, w->user, j, &w->out) < 0)
                return -1;
        return 0;
}

static int create_unit(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site *s = &w->site;
        if (!has_unit(s))
                return JOB_SKIP;
        w->unit_tried = true;
        data_flags(j, w);
        if (unit_install_step(w->cfg, s, w->user, j, &w->out) < 0 ||
            unit_op(s, UNIT_ENABLE, "enable", j, &w->out) < 0 ||
            unit_op(s, UNIT_START, "start", j, &w->out) < 0)
                return -1;
        return 0;
}

static void create_unit_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!w->unit_tried)
                return;
        char unit[300];
        site_unit_name(&w->site, unit, sizeof(unit));
        site_remove_unit(w->cfg, unit);
}

/* ---- dns (create with dns_provider) ---- */

/* The provider's message for the last call, without the key. */
static const char *dns_msg(struct site_dns *d, int rc, char *buf, size_t len)
{
        const char *m = d->ctx->err.message[0] ? d->ctx->err.message : strerror(-rc);
        snprintf(buf, len, "%s", m);
        if (d->key && strlen(d->key) >= 4)
                for (char *p; (p = strstr(buf, d->key));)
                        memset(p, '*', strlen(d->key));
        return buf;
}

/* The zone holding `name` at the provider: the longest suffix (at least two
 * labels) whose records it lists. 0 with *zone, *recs; -ENOENT when none. */
static int dns_zone_of(struct site_dns *d, const char *name, char **zone, struct dns_record **recs,
                       size_t *n)
{
        const struct prov_dns_ops *ops = d->ctx->p->dns;
        for (const char *z = name; z && strchr(z, '.'); z = strchr(z, '.') + 1) {
                prov_ctx_clear(d->ctx);
                d->ctx->err.message[0] = '\0';
                int rc = ops->list(d->ctx, z, recs, n);
                if (rc == 0) {
                        *zone = strdup(z);
                        if (!*zone) {
                                dns_records_free(*recs, *n);
                                return -ENOMEM;
                        }
                        return 0;
                }
                if (rc != -ENOENT && rc != -EINVAL) /* no such zone: 404, or 422 */
                        return rc;
        }
        return -ENOENT;
}

static int dns_one(struct job *j, struct site_job *w, const char *fqdn)
{
        struct site_dns *d = w->dns;
        const struct prov_dns_ops *ops = d->ctx->p->dns;
        char msg[600];
        _cleanup_free_ char *zone = NULL;
        struct dns_record *recs = NULL;
        size_t n = 0;
        int rc = dns_zone_of(d, fqdn, &zone, &recs, &n);
        if (rc == -ENOENT)
                return failf(&w->out, j, 502, "dns", "%s has no DNS zone for %s", d->provider,
                             fqdn);
        if (rc < 0)
                return failf(&w->out, j, 502, "dns", "%s: %s", d->provider,
                             dns_msg(d, rc, msg, sizeof(msg)));
        size_t zl = strlen(zone), fl = strlen(fqdn);
        _cleanup_free_ char *rel = fl == zl ? strdup("@") : strndup(fqdn, fl - zl - 1);
        if (!rel) {
                dns_records_free(recs, n);
                return failf(&w->out, j, 500, "dns", "out of memory");
        }
        const char *types[2] = {"A", "AAAA"};
        const char *addrs[2] = {d->ipv4, d->ipv6};
        for (int t = 0; t < 2; t++) {
                if (!addrs[t][0])
                        continue;
                /* the set as it is now, for the undo */
                size_t nold = 0;
                for (size_t i = 0; i < n; i++)
                        if (streq(recs[i].name, rel) && streq(recs[i].type, types[t]))
                                nold++;
                struct site_dns_change *c =
                    realloc(d->changes, (d->nchanges + 1) * sizeof(*d->changes));
                if (!c) {
                        dns_records_free(recs, n);
                        return failf(&w->out, j, 500, "dns", "out of memory");
                }
                d->changes = c;
                c = &d->changes[d->nchanges];
                *c = (struct site_dns_change){
                    .zone = strdup(zone), .name = strdup(rel), .type = strdup(types[t])};
                if (nold)
                        c->old = calloc(nold, sizeof(*c->old));
                bool oom = !c->zone || !c->name || !c->type || (nold && !c->old);
                for (size_t i = 0; !oom && i < n; i++)
                        if (streq(recs[i].name, rel) && streq(recs[i].type, types[t])) {
                                struct dns_record *o = &c->old[c->nold++];
                                *o = (struct dns_record){.name = strdup(recs[i].name),
                                                         .type = strdup(recs[i].type),
                                                         .content = strdup(recs[i].content),
                                                         .ttl = recs[i].ttl,
                                                         .priority = recs[i].priority};
                                oom = !o->name || !o->type || !o->content;
                        }
                if (oom) {
                        free(c->zone);
                        free(c->name);
                        free(c->type);
                        dns_records_free(c->old, c->nold);
                        dns_records_free(recs, n);
                        return failf(&w->out, j, 500, "dns", "out of memory");
                }
                d->nchanges++;
                struct dns_record want = {.name = rel,
                                          .type = (char *)types[t],
                                          .content = (char *)addrs[t],
                                          .ttl = 300,
                                          .priority = -1};
                job_printf(j, "==> %s %s.%s -> %s (%s, zone %s)\n", types[t],
                           streq(rel, "@") ? "" : rel, zone, addrs[t], d->provider, zone);
                prov_ctx_clear(d->ctx);
                d->ctx->err.message[0] = '\0';
                rc = ops->update(d->ctx, zone, &want, 1, true);
                if (rc < 0) {
                        dns_records_free(recs, n);
                        return failf(&w->out, j, 502, "dns", "%s record of %s at %s: %s", types[t],
                                     fqdn, d->provider, dns_msg(d, rc, msg, sizeof(msg)));
                }
        }
        dns_records_free(recs, n);
        return 0;
}

static int create_dns(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!w->dns)
                return JOB_SKIP;
        job_set_data(j, "dns_provider", json_string(w->dns->provider));
        if (dns_one(j, w, w->site.domain) < 0)
                return -1;
        _cleanup_free_ char *al = strdup(w->site.aliases ? w->site.aliases : "");
        if (!al)
                return failf(&w->out, j, 500, "dns", "out of memory");
        char *save = NULL;
        for (char *a = strtok_r(al, " ", &save); a; a = strtok_r(NULL, " ", &save))
                if (!startswith(a, "*.") && dns_one(j, w, a) < 0)
                        return -1;
        int rc = sites_set_dns_provider(w->db, w->site.id, w->dns->provider);
        if (rc < 0)
                return failf(&w->out, j, 500, "dns", "cannot record the provider: %s",
                             strerror(-rc));
        return 0;
}

/* Put back what create_dns changed, newest first: sets it made go, sets it
 * replaced get their old records back. */
static void create_dns_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site_dns *d = w->dns;
        if (!d)
                return;
        const struct prov_dns_ops *ops = d->ctx->p->dns;
        char msg[600];
        while (d->nchanges > 0) {
                struct site_dns_change *c = &d->changes[d->nchanges - 1];
                prov_ctx_clear(d->ctx);
                d->ctx->err.message[0] = '\0';
                int rc = c->nold ? ops->update(d->ctx, c->zone, c->old, c->nold, true)
                                 : ops->remove(d->ctx, c->zone, c->name, c->type);
                if (rc < 0 && rc != -ENOENT)
                        job_printf(j, "dns undo: %s %s in %s: %s\n", c->type, c->name, c->zone,
                                   dns_msg(d, rc, msg, sizeof(msg)));
                else
                        job_printf(j, "dns undo: %s %s in %s %s\n", c->type, c->name, c->zone,
                                   c->nold ? "restored" : "removed");
                free(c->zone);
                free(c->name);
                free(c->type);
                dns_records_free(c->old, c->nold);
                d->nchanges--;
        }
}

static int create_nginx(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        /* a failed commit restores the files itself, and nginx is the last
         * step, so nothing of it stays on failure */
        if (nginx_apply(w->cfg, &w->site, NULL, j, &w->out) < 0)
                return -1;
        job_printf(j, "site created\n");
        return 0;
}

static void create_abandon(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        delete_row(w->db, w->site.id, w->site.domain);
}

/* After a crash in the middle of a create: the site never answered 201, so
 * everything the job made goes (unit, vhost, row, app_root). */
static void create_recover(const struct config *cfg, struct db *db, const char *subject,
                           json_t *data, const char *failed_step)
{
        long long id = json_integer_value(json_object_get(data, "site_id"));
        const char *domain = json_string_value(json_object_get(data, "domain"));
        const char *root = json_string_value(json_object_get(data, "app_root"));
        bool made = json_is_true(json_object_get(data, "made_root"));
        bool filled = json_is_true(json_object_get(data, "filled_root"));
        if (id <= 0 && sscanf(subject, "site:%lld", &id) != 1)
                return;
        struct site s = {0};
        if (sites_get(db, id, &s) < 0) {
                site_clear(&s);
                return; /* already gone */
        }
        if (domain && !streq(domain, s.domain)) {
                site_clear(&s); /* another site has the id now */
                return;
        }
        if (has_unit(&s) && json_is_true(json_object_get(data, "unit_tried"))) {
                char unit[300];
                site_unit_name(&s, unit, sizeof(unit));
                site_remove_unit(cfg, unit);
        }
        /* the user it made, before its files go */
        if (has_unit(&s) && json_is_true(json_object_get(data, "made_user")))
                drop_site_user(s.id);
        if (streq(failed_step, "nginx")) {
                struct nginx_txn *t = NULL;
                if (nginx_txn_begin(cfg, &t) == 0) {
                        _cleanup_free_ char *msg = NULL;
                        if (nginx_txn_drop_site(t, s.domain, true) == 0)
                                nginx_txn_commit(t, &msg);
                        nginx_txn_free(t);
                }
        }
        delete_row(db, id, s.domain);
        if (root && streq(root, s.app_root)) {
                if (made)
                        files_rm_tree(root, true);
                else if (filled)
                        files_rm_tree(root, false);
        }
        log_warn("sites: the interrupted create of %s was rolled back", s.domain);
        site_clear(&s);
}

static const struct job_step create_steps[] = {
    {"site row", create_row, create_row_undo},
    {"systemd", step_systemd, NULL},
    {"site user", create_user, create_user_undo},
    {"app_root", create_root, create_root_undo},
    {"git clone", create_clone, NULL},
    {"dependencies", step_deps, NULL},
    {"unit", create_unit, create_unit_undo},
    {"dns", create_dns, create_dns_undo},
    {"nginx", create_nginx, NULL},
};

const struct job_kind site_create_kind = {"site_create",  create_steps,   ARRAY_SIZE(create_steps),
                                          create_abandon, create_recover, site_job_free};

/* ---- deploy ---- */

static int deploy_pull(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site *s = &w->site;
        if (str_empty(s->git_repo))
                return JOB_SKIP;
        job_printf(j, "==> git pull --ff-only in %s\n", s->app_root);
        struct deploy_as as = site_as(w);
        int rc = deploy_git_pull(&as, s->app_root, job_output, j);
        if (rc < 0)
                return fail_output(&w->out, j, "git pull", rc);
        return 0;
}

static int deploy_restart(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!has_unit(&w->site) || !w->site.enabled)
                return JOB_SKIP;
        if (unit_op(&w->site, UNIT_RESTART, "restart", j, &w->out) < 0)
                return -1;
        return 0;
}

static int deploy_end(struct job *j, void *ctx)
{
        (void)ctx;
        job_printf(j, "deployed\n");
        return 0;
}

static const struct job_step deploy_steps[] = {
    {"systemd", step_systemd, NULL},   {"owner", deploy_owner, NULL},
    {"git pull", deploy_pull, NULL},   {"dependencies", step_deps, NULL},
    {"restart", deploy_restart, NULL}, {"end", deploy_end, NULL},
};

const struct job_kind site_deploy_kind = {"site_deploy", deploy_steps, ARRAY_SIZE(deploy_steps),
                                          NULL,          NULL,         site_job_free};

/* ---- update ---- */

static int update_row(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        struct site *nw = &w->site;
        pthread_mutex_lock(&rows_lock);
        struct site other = {0};
        int rc = sites_get_by_domain(w->db, nw->domain, &other);
        bool taken = rc == 0 && other.id != nw->id;
        site_clear(&other);
        if (taken) {
                pthread_mutex_unlock(&rows_lock);
                free(w->out.error);
                w->out.error = xasprintf("domain already exists");
                w->out.status = 409;
                job_fail(j, "domain already exists");
                return -1;
        }
        if (!streq(w->old.app_root, nw->app_root)) {
                free(w->out.error);
                w->out.error = NULL;
                rc = root_rules_locked(w->db, nw, nw->id, &w->out.status, &w->out.error);
                if (rc < 0) {
                        pthread_mutex_unlock(&rows_lock);
                        job_fail(j, "%s", w->out.error ? w->out.error : "app_root");
                        return -1;
                }
        }
        if (has_unit(nw) && (nw->app_port == 0 || (w->mask & SITE_COL_APP_PORT))) {
                int want = nw->app_port;
                rc = port_locked(w->db, nw->id, &nw->app_port);
                if (rc < 0) {
                        pthread_mutex_unlock(&rows_lock);
                        free(w->out.error);
                        port_error(rc, want, &w->out.status, &w->out.error);
                        job_fail(j, "%s", w->out.error ? w->out.error : "app_port");
                        return -1;
                }
                if (nw->app_port != w->old.app_port)
                        w->mask |= SITE_COL_APP_PORT;
        }
        rc = sites_update(w->db, nw, w->mask);
        pthread_mutex_unlock(&rows_lock);
        if (rc < 0) {
                free(w->out.error);
                w->out.error =
                    xasprintf(rc == -EEXIST ? "domain already exists" : "could not update site");
                w->out.status = rc == -EEXIST ? 409 : rc == -ENOENT ? 404 : 500;
                job_fail(j, "%s", w->out.error ? w->out.error : "site row");
                return rc;
        }
        w->row_updated = true;
        return 0;
}

static void update_row_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (w->row_updated && sites_update(w->db, &w->old, SITE_COL_ALL) < 0)
                log_error("sites: cannot restore row %lld", w->old.id);
}

/* Bring the unit from old to new: the old one goes when the name changes or
 * the site has no app any more; the new one is (re)installed when its text
 * changes and started/stopped as `enabled` says. *changed says whether
 * anything was touched (for the rollback). */
static int units_update(const struct config *cfg, const struct site *old, const struct site *nw,
                        bool *changed, struct site_outcome *o)
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
        if (touch && check_systemd(NULL, o) < 0)
                return -1;
        if (*old_unit && renamed) {
                *changed = true;
                int rc = site_remove_unit(cfg, old_unit);
                if (rc < 0)
                        return failf(o, NULL, 500, "unit", "cannot remove %s: %s", old_unit,
                                     strerror(-rc));
        }
        if (!*new_unit) {
                /* no app any more (now static): the site user goes, the
                 * tree is static_owner's (a repository's) or root's again */
                if (*old_unit) {
                        drop_site_user(old->id);
                        if (*static_owner(cfg, nw))
                                units_chown_tree(nw->app_root, static_owner(cfg, nw));
                        else
                                root_owns(nw->app_root);
                }
                return 0;
        }
        if (renamed || text_changed) {
                *changed = true;
                if (owner(nw, NULL, o, user) < 0 || unit_install_step(cfg, nw, user, NULL, o) < 0 ||
                    unit_op(nw, UNIT_ENABLE, "enable", NULL, o) < 0)
                        return -1;
        }
        if (nw->enabled != old->enabled || renamed || text_changed) {
                *changed = true;
                return unit_op(nw, nw->enabled ? UNIT_RESTART : UNIT_STOP,
                               nw->enabled ? "restart" : "stop", NULL, o);
        }
        return 0;
}

static int update_unit(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (units_update(w->cfg, &w->old, &w->site, &w->units_changed, &w->out) < 0) {
                if (w->out.error)
                        job_fail(j, "%s", w->out.error);
                return -1;
        }
        return 0;
}

static void update_unit_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!w->units_changed)
                return;
        bool dummy;
        struct site_outcome o2 = {0};
        if (units_update(w->cfg, &w->site, &w->old, &dummy, &o2) < 0)
                log_error("sites: restoring the unit of %s: %s", w->old.domain,
                          o2.error ? o2.error : "?");
        site_outcome_clear(&o2);
}

static int update_nginx(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        return nginx_apply(w->cfg, &w->site, w->old.domain, j, &w->out) < 0 ? -1 : 0;
}

static const struct job_step update_steps[] = {
    {"site row", update_row, update_row_undo},
    {"unit", update_unit, update_unit_undo},
    {"nginx", update_nginx, NULL},
};

const struct job_kind site_update_kind = {"site_update", update_steps, ARRAY_SIZE(update_steps),
                                          NULL,          NULL,         site_job_free};

/* ---- delete ---- */

static int delete_nginx(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        /* vhost first: when nginx refuses, nothing has changed yet */
        struct nginx_txn *t = NULL;
        int rc = nginx_txn_begin(w->cfg, &t);
        if (rc == 0)
                rc = nginx_txn_drop_site(t, w->site.domain, false);
        _cleanup_free_ char *msg = NULL;
        if (rc == 0)
                rc = nginx_txn_commit(t, &msg);
        nginx_txn_free(t);
        if (rc < 0)
                return failf(&w->out, j, 500, "nginx", "%s", msg ? msg : strerror(-rc));
        w->vhost_dropped = true;
        return 0;
}

static void delete_nginx_undo(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        /* put the vhost back: the site stays whole */
        if (w->vhost_dropped && w->site.enabled) {
                struct site_outcome o = {0};
                nginx_apply(w->cfg, &w->site, NULL, NULL, &o);
                site_outcome_clear(&o);
        }
}

static int delete_unit(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!has_unit(&w->site))
                return JOB_SKIP;
        char unit[300];
        site_unit_name(&w->site, unit, sizeof(unit));
        int rc = site_remove_unit(w->cfg, unit);
        if (rc < 0)
                return failf(&w->out, j, 500, "unit", "cannot remove %s: %s", unit, strerror(-rc));
        return 0;
}

/* The site's user goes (its processes first); the kept files go back to
 * root, so a later user given the same uid does not own them. */
static int delete_user(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        if (!has_unit(&w->site))
                return JOB_SKIP;
        char user[ACCOUNTS_SITE_NAME_MAX];
        if (accounts_site_user_name(w->site.id, user) == 0)
                job_printf(j, "==> remove the site user %s\n", user);
        drop_site_user(w->site.id);
        root_owns(w->site.app_root);
        return 0;
}

static int delete_row_step(struct job *j, void *ctx)
{
        struct site_job *w = ctx;
        int rc = sites_delete(w->db, w->site.id);
        if (rc < 0 && rc != -ENOENT) {
                free(w->out.error);
                w->out.error = xasprintf("could not delete site");
                w->out.status = 500;
                job_fail(j, "could not delete site");
                return rc;
        }
        log_info("sites: deleted %s (id %lld), files kept in %s", w->site.domain, w->site.id,
                 w->site.app_root);
        return 0;
}

static const struct job_step delete_steps[] = {
    {"nginx", delete_nginx, delete_nginx_undo},
    {"unit", delete_unit, NULL},
    {"site user", delete_user, NULL},
    {"site row", delete_row_step, NULL},
};

const struct job_kind site_delete_kind = {"site_delete", delete_steps, ARRAY_SIZE(delete_steps),
                                          NULL,          NULL,         site_job_free};
