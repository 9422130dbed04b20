/* The helper's ops for app trees, deploy steps (streamed output), backups,
 * AUTARCH. Every path is checked against the helper's own config: app trees
 * strictly inside nginx.webroot, AUTARCH's tree at or inside
 * autarch.install_dir, archives directly in backups.dir; normalised (no
 * ".", "..", "//"), and no symbolic link on the way (a site user may plant
 * one in its own tree). Users: a site user, AUTARCH_USER (its tree only) or
 * root. */
#include "helper/ops.h"

#include <errno.h>
#include <sched.h>
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
#include "core/ini.h"
#include "sys/accounts.h"
#include "sys/archive.h"
#include "sys/autarch.h"
#include "sys/deploy.h"
#include "sys/files.h"
#include "sys/units.h"

/* String field i of the request ("" when it is none: the shape is checked
 * before the op runs). */
static const char *arg_str(const struct helper_call *c, unsigned i)
{
        const char *s = hm_str(c->req, i);
        return s ? s : "";
}

/* No component of path is a symbolic link (those that exist). */
static bool no_links(const char *path)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return false;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char keep = *s;
                *s = '\0';
                struct stat st;
                int r = lstat(p, &st);
                *s = keep;
                if (r < 0)
                        return errno == ENOENT;
                if (S_ISLNK(st.st_mode))
                        return false;
                if (!keep)
                        return true;
        }
}

static bool usable_root(const char *root)
{
        return !str_empty(root) && root[0] == '/' && !streq(root, "/");
}

static bool in_webroot(const struct config *cfg, const char *path)
{
        return usable_root(cfg->nginx.webroot) && valid_path_inside(path, cfg->nginx.webroot) &&
               no_links(path);
}

static bool in_autarch(const struct config *cfg, const char *path)
{
        const char *d = cfg->autarch.install_dir;
        return usable_root(d) && (streq(path, d) || valid_path_inside(path, d)) && no_links(path);
}

/* "": nobody (prepare: mkdir only); else a site user or root for the
 * webroot, AUTARCH_USER or root for AUTARCH's tree. */
static bool tree_ok(struct helper_call *c, const char *path, const char *user, bool allow_none)
{
        bool web = in_webroot(c->cfg, path), aut = !web && in_autarch(c->cfg, path);
        if (!web && !aut) {
                helper_msgf(c, "%s is not inside nginx.webroot or autarch.install_dir", path);
                return false;
        }
        if (!user)
                return true;
        bool ok = (allow_none && !*user) || streq(user, "root") ||
                  (web && accounts_is_site_user(user)) || (aut && streq(user, AUTARCH_USER)) ||
                  (web && !str_empty(c->cfg->server.user) && streq(user, c->cfg->server.user));
        if (!ok)
                helper_msgf(c, "%s may not own %s", *user ? user : "nobody", path);
        return ok;
}

int op_tree_prepare(struct helper_call *c)
{
        const char *path = arg_str(c, 0), *user = arg_str(c, 1);
        strbuf_printf(&c->subject, "%s for %s", path, *user ? user : "root");
        if (!tree_ok(c, path, user, true))
                return -EPERM;
        bool made = false;
        int r = files_tree_prepare(path, user, &made);
        hm_add_int(&c->extra, made);
        return r;
}

int op_tree_chown(struct helper_call *c)
{
        const char *path = arg_str(c, 0), *user = arg_str(c, 1);
        strbuf_printf(&c->subject, "%s to %s", path, user);
        if (!tree_ok(c, path, user, false))
                return -EPERM;
        return units_chown_tree(path, user);
}

int op_tree_remove(struct helper_call *c)
{
        const char *path = arg_str(c, 0);
        bool self = hm_int(c->req, 1, 0) != 0;
        strbuf_printf(&c->subject, "%s%s", path, self ? "" : "/*");
        if (!tree_ok(c, path, NULL, false))
                return -EPERM;
        if (self)
                return files_remove(path);
        files_rm_tree(path, false);
        return 0;
}

/* (path, domain): a new static site's placeholder page, only into an empty
 * directory inside nginx.webroot. */
int op_tree_placeholder(struct helper_call *c)
{
        const char *path = arg_str(c, 0), *domain = arg_str(c, 1);
        strbuf_printf(&c->subject, "%s for %s", path, domain);
        if (!in_webroot(c->cfg, path)) {
                helper_msgf(c, "%s is not inside nginx.webroot", path);
                return -EPERM;
        }
        return files_placeholder(path, domain);
}

/* (step, site id, dir, repo, branch). The user is the site user of the id
 * when that account exists; without one the site is static: git only, as
 * the HTTP process's own user (server.user, which owns a static site's
 * tree: its content is the panel's to write anyway), in a tree that user
 * owns. Nothing of a repository runs as root, unless server.user is ""
 * (development, tests: the HTTP process is root itself then). */
int op_deploy_step(struct helper_call *c)
{
        const struct config *cfg = c->cfg;
        const char *step = arg_str(c, 0), *dir = arg_str(c, 2), *repo = arg_str(c, 3),
                   *branch = arg_str(c, 4);
        long long id = hm_int(c->req, 1, 0);
        strbuf_printf(&c->subject, "%s site %lld in %s", step, id, dir);
        char user[ACCOUNTS_SITE_NAME_MAX];
        if (accounts_site_user_name(id, user) < 0) {
                helper_msgf(c, "bad site id %lld", id);
                return -EINVAL;
        }
        if (!in_webroot(cfg, dir)) {
                helper_msgf(c, "%s is not inside nginx.webroot", dir);
                return -EPERM;
        }
        bool clone = streq(step, "git_clone"), pull = streq(step, "git_pull"),
             py = streq(step, "python"), node = streq(step, "node");
        if (!clone && !pull && !py && !node) {
                helper_msgf(c, "unknown deploy step");
                return -EINVAL;
        }
        if (clone && (!valid_git_repo(repo, cfg->git.local_root) || !valid_git_branch(branch))) {
                helper_msgf(c, "bad repository or branch");
                return -EINVAL;
        }
        /* pull: repo only names a local source */
        if (pull && *repo && (repo[0] != '/' || !valid_git_repo(repo, cfg->git.local_root))) {
                helper_msgf(c, "bad local repository");
                return -EINVAL;
        }
        unsigned uid = 0;
        bool app = accounts_lookup(user, &uid) == 0 && uid != 0;
        struct deploy_as as = {.site_id = id, .ca_bundle = cfg->git.ca_bundle};
        if (app) {
                as.user = user;
                if (repo[0] == '/')
                        as.local_source = repo;
        } else {
                if (py || node) {
                        helper_msgf(c, "no user %s: app code never runs as root", user);
                        return -EPERM;
                }
                const char *owner = cfg->server.user;
                unsigned ouid = 0;
                if (!str_empty(owner)) {
                        if (accounts_lookup(owner, &ouid) < 0 || ouid == 0) {
                                helper_msgf(c, "no user %s", owner);
                                return -EPERM;
                        }
                        as.user = owner;
                }
                if (repo[0] == '/')
                        as.local_source = repo;
                struct stat st;
                if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ouid) {
                        helper_msgf(c, "%s is not a tree of %s's", dir,
                                    str_empty(owner) ? "root" : owner);
                        return -EPERM;
                }
        }
        if (clone)
                return deploy_git_clone(&as, repo, branch, dir, helper_output, c);
        if (pull)
                return deploy_git_pull(&as, dir, helper_output, c);
        if (py)
                return deploy_python(&as, dir, helper_output, c);
        return deploy_node(&as, dir, helper_output, c);
}

/* dest: a new "<name>.tar.gz" directly in backups.dir. */
static bool archive_path_ok(const struct config *cfg, const char *p, bool must_exist)
{
        const char *dir = cfg->backups.dir;
        if (!usable_root(dir) || !valid_path_inside(p, dir) || !no_links(p))
                return false;
        const char *base = p + strlen(dir) + 1;
        size_t n = strlen(base);
        if (strchr(base, '/') || base[0] == '.' || n < 8 || !streq(base + n - 7, ".tar.gz"))
                return false;
        struct stat st;
        return !must_exist || (lstat(p, &st) == 0 && S_ISREG(st.st_mode));
}

static void add_stats(struct helper_call *c, const struct archive_stats *st)
{
        hm_add_int(&c->extra, (int64_t)st->files);
        hm_add_int(&c->extra, (int64_t)st->entries);
        hm_add_int(&c->extra, (int64_t)st->bytes);
}

/* (kind "full"|"site", root, snapshot, dest): the sources are the helper's
 * (sys/archive archive_backup_create); a site's root inside nginx.webroot,
 * the database snapshot a ".setec-db-snapshot-*" file of backups.dir. */
/* Compressing or unpacking an archive is the heaviest CPU work the panel
 * does. Under SCHED_IDLE this call's process (and what it starts) gives the
 * CPU up at once whenever a request thread, or anything else on the server,
 * wants it; nice 10 alone left a slice's worth of tail latency. */
static void in_background(void)
{
        struct sched_param p = {0};
        if (sched_setscheduler(0, SCHED_IDLE, &p) < 0)
                log_warn("helper: cannot lower the backup's CPU priority: %s", strerror(errno));
}

int op_backup_create(struct helper_call *c)
{
        const struct config *cfg = c->cfg;
        const char *kind = arg_str(c, 0), *root = arg_str(c, 1), *snap = arg_str(c, 2),
                   *dest = arg_str(c, 3);
        bool full = streq(kind, "full");
        strbuf_printf(&c->subject, "%s %s", kind, dest);
        if (!full && !streq(kind, "site")) {
                helper_msgf(c, "unknown backup kind");
                return -EINVAL;
        }
        if (!archive_path_ok(cfg, dest, false)) {
                helper_msgf(c, "%s is not a new archive in backups.dir", dest);
                return -EPERM;
        }
        if (full) {
                const char *b = strrchr(snap, '/');
                struct stat st;
                if (!usable_root(cfg->backups.dir) || !valid_path_inside(snap, cfg->backups.dir) ||
                    !b || strncmp(b + 1, ".setec-db-snapshot-", 19) != 0 ||
                    strchr(snap + strlen(cfg->backups.dir) + 1, '/') || lstat(snap, &st) < 0 ||
                    !S_ISREG(st.st_mode)) {
                        helper_msgf(c, "not a database snapshot in backups.dir");
                        return -EPERM;
                }
        } else if (!in_webroot(cfg, root)) {
                helper_msgf(c, "%s is not inside nginx.webroot", root);
                return -EPERM;
        }
        in_background();
        char err[512] = "";
        struct archive_stats st = {0};
        int r = archive_backup_create(cfg, dest, full, root, snap, &st, err, sizeof(err));
        add_stats(c, &st);
        if (r < 0)
                helper_msgf(c, "%s", err);
        return r;
}

/* (archive, target): an archive of backups.dir into a tree inside
 * nginx.webroot. */
int op_backup_restore(struct helper_call *c)
{
        const char *path = arg_str(c, 0), *target = arg_str(c, 1);
        strbuf_printf(&c->subject, "%s into %s", path, target);
        if (!archive_path_ok(c->cfg, path, true)) {
                helper_msgf(c, "%s is not an archive in backups.dir", path);
                return -EPERM;
        }
        if (!in_webroot(c->cfg, target)) {
                helper_msgf(c, "%s is not inside nginx.webroot", target);
                return -EPERM;
        }
        in_background();
        char err[512] = "";
        struct archive_stats st = {0};
        int r = archive_restore_dir(path, target, &st, err, sizeof(err));
        add_stats(c, &st);
        if (r < 0)
                helper_msgf(c, "%s", err);
        return r;
}

/* (max): the settings file of the helper's autarch.install_dir (the
 * autarch user's, 0600), at most max bytes (and what a result holds). */
int op_autarch_config_read(struct helper_call *c)
{
        const char *dir = c->cfg->autarch.install_dir;
        int64_t max = hm_int(c->req, 0, 0);
        strbuf_printf(&c->subject, "%s/%s", dir ? dir : "", AUTARCH_SETTINGS);
        if (max < 0 || max > INI_MAX_SIZE) {
                helper_msgf(c, "bad size");
                return -EINVAL;
        }
        if (!usable_root(dir) || !no_links(dir)) {
                helper_msgf(c, "autarch.install_dir is not usable");
                return -EINVAL;
        }
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = autarch_config_read(dir, (size_t)max, &text, &len);
        if (r == 0)
                hm_add_bytes(&c->extra, text, len);
        return r;
}

/* (text): the settings file of the helper's autarch.install_dir. */
int op_autarch_config_write(struct helper_call *c)
{
        const struct hm_field *f = &c->req->f[0];
        const char *dir = c->cfg->autarch.install_dir;
        strbuf_printf(&c->subject, "%s/%s (%u bytes)", dir ? dir : "", AUTARCH_SETTINGS, f->len);
        if (!usable_root(dir) || !no_links(dir)) {
                helper_msgf(c, "autarch.install_dir is not usable");
                return -EINVAL;
        }
        _cleanup_free_ char *text = malloc(f->len + 1);
        if (!text)
                return -ENOMEM;
        memcpy(text, f->data, f->len);
        text[f->len] = '\0';
        struct ini_error e;
        if (memchr(text, '\0', f->len) || !ini_check(text, f->len, &e)) {
                helper_msgf(c, "not a valid settings text");
                return -EINVAL;
        }
        return autarch_config_write(dir, text, f->len);
}

/* (step, arg, flags): sys/autarch builds the argv from the helper's
 * config. */
int op_autarch_step(struct helper_call *c)
{
        const char *step = arg_str(c, 0), *arg = arg_str(c, 1);
        long long flags = hm_int(c->req, 2, 0);
        strbuf_printf(&c->subject, "%s%s%s", step, *arg ? " " : "", arg);
        if (flags < 0 || flags > 3) {
                helper_msgf(c, "bad flags");
                return -EINVAL;
        }
        if (!in_autarch(c->cfg, c->cfg->autarch.install_dir ? c->cfg->autarch.install_dir : "")) {
                helper_msgf(c, "autarch.install_dir is not usable");
                return -EINVAL;
        }
        char err[600] = "";
        long long made = 0;
        int r = autarch_step(c->cfg, step, arg, flags, helper_output, c, &made, err, sizeof(err));
        hm_add_int(&c->extra, made);
        if (r < 0 && err[0])
                helper_msgf(c, "%s", err);
        return r;
}
