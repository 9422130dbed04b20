#include "sys/autarch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/accounts.h"
#include "sys/exec.h"
#include "sys/files.h"
#include "sys/helpcall.h"
#include "sys/units.h"

static bool path_is(const char *dir, const char *rel, mode_t type)
{
        char p[4096];
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, rel) >= sizeof(p))
                return false;
        struct stat st;
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n > k && strcmp(s + n - k, suffix) == 0;
}

static int count_dists(const char *site)
{
        DIR *d = opendir(site);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (ends_with(de->d_name, ".dist-info") || ends_with(de->d_name, ".egg-info"))
                        n++;
        closedir(d);
        return n;
}

int autarch_count_packages(const char *dir)
{
        char lib[4096];
        if (!dir || (size_t)snprintf(lib, sizeof(lib), "%s/venv/lib", dir) >= sizeof(lib))
                return 0;
        DIR *d = opendir(lib);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!startswith(de->d_name, "python"))
                        continue;
                char site[4096 + 300];
                snprintf(site, sizeof(site), "%s/%s/site-packages", lib, de->d_name);
                n += count_dists(site);
        }
        closedir(d);
        return n;
}

/* The subject of the last HEAD seen: git_read_head inflates an object;
 * the status is asked often and HEAD rarely moves. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char cache_dir[4096], cache_hash[GIT_HASH_HEX + 1], cache_subject[256];

static void read_commit_cached(const char *dir, struct autarch_status *st)
{
        char hash[GIT_HASH_HEX + 1], subject[256] = "";
        if (git_head_hash(dir, hash) < 0)
                return;
        memcpy(st->head, hash, sizeof(hash));
        bool hit = false;
        pthread_mutex_lock(&cache_lock);
        if (streq(cache_dir, dir) && streq(cache_hash, hash)) {
                memcpy(subject, cache_subject, sizeof(subject));
                hit = true;
        }
        pthread_mutex_unlock(&cache_lock);
        if (!hit && git_object_subject(dir, hash, subject, sizeof(subject)) == 0) {
                pthread_mutex_lock(&cache_lock);
                snprintf(cache_dir, sizeof(cache_dir), "%s", dir);
                memcpy(cache_hash, hash, sizeof(cache_hash));
                memcpy(cache_subject, subject, sizeof(cache_subject));
                pthread_mutex_unlock(&cache_lock);
        }
        snprintf(st->git_commit, sizeof(st->git_commit), "%.7s%s%s", hash, subject[0] ? " " : "",
                 subject);
}

void autarch_status_read(const char *dir, struct autarch_status *st)
{
        memset(st, 0, sizeof(*st));
        if (dir && dir[0] == '/') {
                struct stat sb;
                char git[4096];
                snprintf(git, sizeof(git), "%s/.git", dir);
                st->installed = stat(git, &sb) == 0;
                if (st->installed)
                        read_commit_cached(dir, st);
                st->venv_ready = path_is(dir, "venv/bin/python3", S_IFREG);
                st->pip_packages = st->venv_ready ? autarch_count_packages(dir) : 0;
        }
        const char *units[] = {AUTARCH_WEB_UNIT, AUTARCH_DNS_UNIT};
        struct unit_state s[2];
        services_query(units, 2, s);
        st->web = s[0];
        st->dns = s[1];
}

int autarch_config_read(const char *dir, size_t max, char **out, size_t *len)
{
        if (helpcall_active()) {
                /* the file is the autarch user's, 0600: the helper reads it
                 * (from its own autarch.install_dir) */
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_AUTARCH_CONFIG_READ);
                hm_add_int(&hb, (int64_t)max);
                struct helpcall_reply rep;
                int r = helpcall_send(&hb, NULL, NULL, &rep, NULL);
                if (r == 0 && (rep.m.n != 3 || rep.m.f[2].type != 'b' || rep.m.f[2].len > max))
                        r = -EPROTO;
                if (r == 0) {
                        *len = rep.m.f[2].len;
                        *out = malloc(*len + 1);
                        if (*out) {
                                memcpy(*out, rep.m.f[2].data, *len);
                                (*out)[*len] = '\0';
                        } else {
                                r = -ENOMEM;
                        }
                }
                helpcall_reply_free(&rep);
                return r;
        }
        char p[4096];
        if (!dir || (size_t)snprintf(p, sizeof(p), "%s/%s", dir, AUTARCH_SETTINGS) >= sizeof(p))
                return -EINVAL;
        return read_file(p, max, out, len);
}

static int owner_for(const char *path, uid_t *uid, gid_t *gid)
{
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(AUTARCH_USER, &pw, buf, sizeof(buf), &res) == 0 && res) {
                *uid = pw.pw_uid;
                *gid = pw.pw_gid;
                return 0;
        }
        struct stat st;
        if (stat(path, &st) == 0) {
                *uid = st.st_uid;
                *gid = st.st_gid;
                return 0;
        }
        *uid = geteuid();
        *gid = getegid();
        return 0;
}

int autarch_config_write(const char *dir, const char *text, size_t len)
{
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_AUTARCH_CONFIG_WRITE);
                hm_add_bytes(&hb, text, len);
                return helpcall_send(&hb, NULL, NULL, NULL, NULL);
        }
        char path[4096], tmp[4096 + 16];
        if (!dir || dir[0] != '/' || !text ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, AUTARCH_SETTINGS) >= sizeof(path))
                return -EINVAL;
        struct stat ds;
        if (stat(dir, &ds) < 0)
                return -errno;
        if (!S_ISDIR(ds.st_mode))
                return -ENOTDIR;
        snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
        uid_t uid;
        gid_t gid;
        owner_for(path, &uid, &gid);
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = 0;
        if (fchmod(fd, 0600) < 0 || (geteuid() == 0 && fchown(fd, uid, gid) < 0))
                r = -errno;
        if (!r)
                r = write_all(fd, text, len);
        if (!r && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && !r)
                r = -errno;
        if (!r && rename(tmp, path) < 0)
                r = -errno;
        if (r) {
                unlink(tmp);
                return r;
        }
        fsync_parent_dir(path);
        return 0;
}

/* ---------------------------------------------------------------- steps */

/* Time limits per step (a hung mirror must not hold the subject forever). */
#define CLONE_TIMEOUT_MS (10u * 60u * 1000u)
#define VENV_TIMEOUT_MS  (5u * 60u * 1000u)
#define PIP_TIMEOUT_MS   (20u * 60u * 1000u)
#define NPM_TIMEOUT_MS   (10u * 60u * 1000u)
#define GO_TIMEOUT_MS    (10u * 60u * 1000u)
#define SMALL_TIMEOUT_MS (60u * 1000u)
#define KEEP_OUTPUT      (64u * 1024u)

static const char *const data_dirs[] = {"data",    "data/certs", "data/dns",
                                        "results", "dossiers",   "models"};

struct step_run {
        const struct config *cfg;
        const char *dir;
        deploy_output_fn out;
        void *ctx;
        char *err;
        size_t errlen;
};

static void stepf(struct step_run *sr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stepf(struct step_run *sr, const char *fmt, ...)
{
        if (!sr->err || !sr->errlen)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sr->err, sr->errlen, fmt, ap);
        va_end(ap);
}

static void say(struct step_run *sr, const char *s)
{
        if (sr->out)
                sr->out(sr->ctx, s, strlen(s));
}

/* The last non-empty line of out (for the error text), at most len-1 bytes. */
static void last_line(const char *out, char *buf, size_t len)
{
        buf[0] = '\0';
        if (!out)
                return;
        size_t n = strlen(out);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
                n--;
        size_t s = n;
        while (s > 0 && out[s - 1] != '\n' && out[s - 1] != '\r')
                s--;
        size_t k = n - s < len - 1 ? n - s : len - 1;
        memcpy(buf, out + s, k);
        buf[k] = '\0';
        /* no cut UTF-8 sequence at the end */
        while (k > 0 && ((unsigned char)buf[k - 1] & 0x80)) {
                if (((unsigned char)buf[k - 1] & 0xc0) == 0xc0) {
                        buf[k - 1] = '\0';
                        break;
                }
                k--;
        }
}

/* Run argv (as AUTARCH_USER when as_autarch), its output to the caller. */
static int run_prog(struct step_run *sr, const char *const *argv, const char *cwd,
                    const char *const *env, unsigned timeout_ms, bool as_autarch)
{
        _cleanup_strbuf_ struct strbuf shown = STRBUF_INIT(0);
        strbuf_puts(&shown, "$");
        for (size_t i = 0; argv[i]; i++)
                strbuf_printf(&shown, " %s", argv[i]);
        strbuf_puts(&shown, "\n");
        say(sr, shown.data ? shown.data : "");
        struct exec_user user;
        if (as_autarch) {
                int r = exec_user_lookup(AUTARCH_USER, &user);
                if (r < 0) {
                        stepf(sr, "user %s: %s", AUTARCH_USER, strerror(-r));
                        return r;
                }
                if (user.uid == 0 || user.gid == 0) {
                        stepf(sr, "user %s is root", AUTARCH_USER);
                        return -EPERM;
                }
        }
        struct exec_opts o = {
            .argv = argv,
            .cwd = cwd ? cwd : "/",
            .env = env,
            .timeout_ms = timeout_ms,
            .max_output = KEEP_OUTPUT,
            .on_output = sr->out,
            .ctx = sr->ctx,
            .user = as_autarch ? &user : NULL,
        };
        struct exec_result res = {0};
        int r = exec_run(&o, &res);
        if (r < 0) {
                stepf(sr, "cannot run %s: %s", argv[0], strerror(-r));
                return r;
        }
        char line[300];
        last_line(res.output, line, sizeof(line));
        if (res.cancelled) {
                stepf(sr, "%s cancelled", argv[0]);
                r = -ECANCELED;
        } else if (res.timed_out) {
                stepf(sr, "%s timed out after %u s", argv[0], timeout_ms / 1000);
                r = -ETIMEDOUT;
        } else if (res.status != 0) {
                stepf(sr, "%s exited with status %d%s%s", argv[0], res.status, line[0] ? ": " : "",
                      line);
                r = -EIO;
        }
        exec_result_free(&res);
        return r;
}

static char *in_dir(const char *dir, const char *rel)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", dir, rel) < 0)
                return NULL;
        return strbuf_steal(&p);
}

static bool exists_in(const char *dir, const char *rel)
{
        _cleanup_free_ char *p = in_dir(dir, rel);
        return p && access(p, F_OK) == 0;
}

static const char *python(void)
{
        return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static const char *const pip_env[] = {"PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1",
                                      "PYTHONDONTWRITEBYTECODE=1", NULL};
static const char *const git_env[] = {"GIT_TERMINAL_PROMPT=0", NULL};

static int step_user(struct step_run *sr, long long *made)
{
        unsigned uid;
        if (accounts_lookup(AUTARCH_USER, &uid) == 0) {
                char m[120];
                snprintf(m, sizeof(m), "user %s exists (uid %u)\n", AUTARCH_USER, uid);
                say(sr, m);
                return 0;
        }
        const char *const argv[] = {"useradd",          "--system", "--home-dir",        sr->dir,
                                    "--no-create-home", "--shell",  "/usr/sbin/nologin", "--",
                                    AUTARCH_USER,       NULL};
        int r = run_prog(sr, argv, NULL, NULL, SMALL_TIMEOUT_MS, false);
        if (r == 0)
                *made = 1;
        return r;
}

static int step_clone(struct step_run *sr, long long *made)
{
        const struct config *cfg = sr->cfg;
        const char *repo = cfg->autarch.git_repo, *branch = cfg->autarch.git_branch;
        if (!valid_git_branch(branch) || str_empty(repo) || repo[0] == '-') {
                stepf(sr, "autarch.git_repo or git_branch is not usable");
                return -EINVAL;
        }
        if (exists_in(sr->dir, ".git")) {
                stepf(sr, "AUTARCH already installed at %s", sr->dir);
                return -EEXIST;
        }
        struct stat st;
        if (stat(sr->dir, &st) == 0)
                *made |= 1;
        _cleanup_free_ char *parent = path_dirname(sr->dir);
        if (!parent)
                return -ENOMEM;
        if (access(parent, F_OK) != 0) {
                int r = mkdir_p(parent, 0755);
                if (r < 0) {
                        stepf(sr, "mkdir %s: %s", parent, strerror(-r));
                        return r;
                }
                *made |= 2;
        }
        /* core.fileMode false: the permission step must not make every file
         * look modified to a later git pull --ff-only */
        const char *const argv[] = {"git",      "clone", "-c",         "core.fileMode=false",
                                    "--branch", branch,  "--progress", "--",
                                    repo,       sr->dir, NULL};
        int r = run_prog(sr, argv, NULL, git_env, CLONE_TIMEOUT_MS, false);
        if (r < 0)
                return r;
        /* from here on the tree's code runs as its owner only */
        r = units_chown_tree(sr->dir, AUTARCH_USER);
        if (r < 0)
                stepf(sr, "chown %s to %s: %s", sr->dir, AUTARCH_USER, strerror(-r));
        return r;
}

static int step_clone_undo(struct step_run *sr, long long flags)
{
        char m[600];
        snprintf(m, sizeof(m), "removing %s\n", sr->dir);
        say(sr, m);
        int r = files_remove(sr->dir);
        if (r < 0)
                stepf(sr, "cannot remove %s: %s", sr->dir, strerror(-r));
        if ((flags & 1) && mkdir(sr->dir, 0755) < 0 && r == 0) {
                r = -errno;
                stepf(sr, "cannot recreate %s: %s", sr->dir, strerror(errno));
        }
        if (flags & 2) {
                _cleanup_free_ char *parent = path_dirname(sr->dir);
                if (parent)
                        rmdir(parent); /* only when still empty */
        }
        return r;
}

static int step_permissions(struct step_run *sr)
{
        for (size_t i = 0; i < ARRAY_SIZE(data_dirs); i++) {
                _cleanup_free_ char *p = in_dir(sr->dir, data_dirs[i]);
                int r = p ? mkdir_p(p, 0755) : -ENOMEM;
                if (r < 0) {
                        stepf(sr, "mkdir %s: %s", data_dirs[i], strerror(-r));
                        return r;
                }
        }
        int r = units_chown_tree(sr->dir, AUTARCH_USER);
        if (r < 0) {
                stepf(sr, "chown %s to %s: %s", sr->dir, AUTARCH_USER, strerror(-r));
                return r;
        }
        _cleanup_free_ char *settings = in_dir(sr->dir, AUTARCH_SETTINGS);
        if (settings && chmod(settings, 0600) < 0 && errno != ENOENT) {
                stepf(sr, "chmod %s: %s", AUTARCH_SETTINGS, strerror(errno));
                return -errno;
        }
        if (chmod(sr->dir, 0755) < 0) {
                stepf(sr, "chmod %s: %s", sr->dir, strerror(errno));
                return -errno;
        }
        char m[600];
        snprintf(m, sizeof(m), "%s owned by %s, data directories made, %s mode 0600\n", sr->dir,
                 AUTARCH_USER, AUTARCH_SETTINGS);
        say(sr, m);
        return 0;
}

static bool valid_hash(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n != 40 && n != 64)
                return false;
        return strspn(s, "0123456789abcdef") == n;
}

static int local_step(struct step_run *sr, const char *step, const char *arg, long long flags,
                      long long *made)
{
        const char *dir = sr->dir;
        _cleanup_free_ char *venv = in_dir(dir, "venv");
        _cleanup_free_ char *pip = in_dir(dir, "venv/bin/pip");
        _cleanup_free_ char *req = in_dir(dir, "requirements.txt");
        _cleanup_strbuf_ struct strbuf a = STRBUF_INIT(0), b = STRBUF_INIT(0);
        if (!venv || !pip || !req)
                return -ENOMEM;
        if (streq(step, "user"))
                return step_user(sr, made);
        if (streq(step, "user_undo")) {
                const char *const argv[] = {"userdel", "--", AUTARCH_USER, NULL};
                return run_prog(sr, argv, NULL, NULL, SMALL_TIMEOUT_MS, false);
        }
        if (streq(step, "clone"))
                return step_clone(sr, made);
        if (streq(step, "clone_undo"))
                return step_clone_undo(sr, flags);
        if (streq(step, "permissions"))
                return step_permissions(sr);
        if (streq(step, "venv")) {
                const char *const argv[] = {python(), "-m", "venv", "--", venv, NULL};
                return run_prog(sr, argv, dir, NULL, VENV_TIMEOUT_MS, true);
        }
        if (streq(step, "upgrade_pip")) {
                const char *const argv[] = {pip,   "install",    "--no-input", "--retries",
                                            "1",   "--timeout",  "15",         "--upgrade",
                                            "pip", "setuptools", "wheel",      NULL};
                return run_prog(sr, argv, dir, pip_env, PIP_TIMEOUT_MS, true);
        }
        if (streq(step, "pip")) {
                const char *const argv[] = {pip, "install",   "--no-input", "--retries",
                                            "1", "--timeout", "15",         "-r",
                                            req, NULL};
                return run_prog(sr, argv, dir, pip_env, PIP_TIMEOUT_MS, true);
        }
        if (streq(step, "npm")) {
                if (strbuf_printf(&a, "npm_config_cache=%s/.cache/npm", dir) < 0)
                        return -ENOMEM;
                const char *const env[] = {a.data,
                                           "npm_config_yes=true",
                                           "npm_config_fetch_retries=1",
                                           "npm_config_fetch_timeout=15000",
                                           "npm_config_update_notifier=false",
                                           NULL};
                bool lock = exists_in(dir, "package-lock.json");
                /* without a lock file of its own, none is made: an untracked
                 * lock in the checkout would stop a later git pull that
                 * brings one */
                const char *const argv[] = {
                    "npm",       lock ? "ci" : "install", "--no-audit",
                    "--no-fund", "--ignore-scripts",      lock ? NULL : "--no-package-lock",
                    NULL};
                return run_prog(sr, argv, dir, env, NPM_TIMEOUT_MS, true);
        }
        if (streq(step, "pull")) {
                /* the tree is the autarch user's: git as that user needs no
                 * safe.directory, and whatever .git/config names runs as it */
                const char *repo = sr->cfg->autarch.git_repo;
                struct deploy_as as = {.user = AUTARCH_USER, .ca_bundle = sr->cfg->git.ca_bundle};
                /* a local source repository is root's: trusted for this pull
                 * only (sys/deploy), as a site's is */
                if (!str_empty(repo) && repo[0] == '/')
                        as.local_source = repo;
                say(sr, "$ git pull --ff-only\n");
                int r = deploy_git_pull(&as, dir, sr->out, sr->ctx);
                if (r < 0)
                        stepf(sr, "git pull --ff-only failed: %s",
                              r == -EIO ? "see the output" : strerror(-r));
                return r;
        }
        if (streq(step, "reset")) {
                if (!valid_hash(arg)) {
                        stepf(sr, "not a commit hash");
                        return -EINVAL;
                }
                const char *const argv[] = {"git", "-C", dir, "reset", "--hard", arg, NULL};
                return run_prog(sr, argv, NULL, git_env, SMALL_TIMEOUT_MS, true);
        }
        if (streq(step, "go_build")) {
                _cleanup_free_ char *src = in_dir(dir, "services/dns-server");
                if (!src)
                        return -ENOMEM;
                if (strbuf_printf(&a, "GOCACHE=%s/.cache/go", dir) < 0 ||
                    strbuf_printf(&b, "GOPATH=%s/.cache/gopath", dir) < 0)
                        return -ENOMEM;
                const char *const env[] = {
                    a.data, b.data, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "CGO_ENABLED=0", NULL};
                /* no VCS stamp: git would refuse the tree another user owns */
                const char *const argv[] = {"go", "build", "-buildvcs=false", "-o", "autarch-dns",
                                            ".",  NULL};
                return run_prog(sr, argv, src, env, GO_TIMEOUT_MS, true);
        }
        stepf(sr, "unknown step");
        return -EINVAL;
}

int autarch_step(const struct config *cfg, const char *step, const char *arg, long long flags,
                 deploy_output_fn out, void *ctx, long long *made, char *err, size_t errlen)
{
        long long m = 0;
        if (made)
                *made = 0;
        if (err && errlen)
                err[0] = '\0';
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_AUTARCH_STEP);
                hm_add_str(&hb, step);
                hm_add_str(&hb, arg ? arg : "");
                hm_add_int(&hb, flags);
                struct helpcall_reply rep;
                _cleanup_free_ char *msg = NULL;
                int r = helpcall_send(&hb, out, ctx, &rep, &msg);
                if (made)
                        *made = hm_int(&rep.m, 2, 0);
                if (r < 0 && err && errlen)
                        snprintf(err, errlen, "%s", msg ? msg : strerror(-r));
                helpcall_reply_free(&rep);
                return r;
        }
        const char *dir = cfg ? cfg->autarch.install_dir : NULL;
        if (str_empty(step) || str_empty(dir) || dir[0] != '/' || streq(dir, "/")) {
                if (err && errlen)
                        snprintf(err, errlen, "autarch.install_dir is not usable");
                return -EINVAL;
        }
        struct step_run sr = {cfg, dir, out, ctx, err, errlen};
        int r = local_step(&sr, step, arg, flags, &m);
        if (made)
                *made = m;
        return r;
}
