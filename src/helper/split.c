/* The HTTP process's side of the split (docs/ARCHITECTURE.md "Process
 * model"): it starts the root helper, the setec-helper executable beside
 * this one, on one end of a socket pair, and drops its own privileges. The
 * helper's code (helper.c, ops*.c) is not linked into setec-manager. */
#include "helper/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/exec.h"
#include "sys/helpcall.h"
#include "sys/sandbox.h"
#include "sys/units.h"

extern char **environ;

static pid_t helper = 0;

pid_t helper_pid(void)
{
        return helper;
}

bool helper_alive(void)
{
        if (helper <= 0)
                return false;
        int st;
        pid_t r = waitpid(helper, &st, WNOHANG);
        if (r == helper) {
                log_error("the root helper (pid %d) ended (%s %d)", (int)helper,
                          WIFSIGNALED(st) ? "signal" : "status",
                          WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                helper = -1;
                return false;
        }
        return true;
}

/* ---------- the split ---------- */

static int chown_path(const char *path, const char *user, uid_t uid, gid_t gid, bool tree)
{
        if (str_empty(path) || path[0] != '/' || streq(path, "/"))
                return 0;
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode) && tree)
                return units_chown_tree(path, user);
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
                return lchown(path, uid, gid) < 0 ? -errno : 0;
        return 0;
}

int helper_prepare_http_user(const struct config *cfg)
{
        const char *user = cfg->server.user;
        if (str_empty(user))
                return 0;
        struct passwd *pw = getpwnam(user);
        if (!pw) {
                const char *argv[] = {"useradd",
                                      "--system",
                                      "--user-group",
                                      "--no-create-home",
                                      "--home-dir",
                                      cfg->data_dir,
                                      "--shell",
                                      "/usr/sbin/nologin",
                                      "--",
                                      user,
                                      NULL};
                struct exec_opts o = {.argv = argv, .timeout_ms = 30000};
                struct exec_result res;
                int r = exec_run(&o, &res);
                if (r < 0 || res.status != 0) {
                        log_error("cannot create the user %s: %s", user,
                                  r < 0 ? strerror(-r) : res.output);
                        exec_result_free(&res);
                        return r < 0 ? r : -EIO;
                }
                exec_result_free(&res);
                pw = getpwnam(user);
                if (!pw)
                        return -ENOENT;
        }
        uid_t uid = pw->pw_uid;
        gid_t gid = pw->pw_gid;
        /* what the HTTP process writes; the directories it creates later are
         * its own anyway */
        const char *trees[] = {cfg->data_dir, cfg->acme.account_dir, cfg->nginx.certbot_webroot,
                               cfg->backups.dir, cfg->hosting.dir};
        for (size_t i = 0; i < ARRAY_SIZE(trees); i++) {
                if (!str_empty(trees[i]) && trees[i][0] == '/' && access(trees[i], F_OK) < 0)
                        mkdir_p(trees[i], 0700);
                int r = chown_path(trees[i], user, uid, gid, true);
                if (r < 0)
                        log_warn("cannot give %s to %s: %s", trees[i], user, strerror(-r));
        }
        const char *files[] = {cfg->logging.file, cfg->server.cert, cfg->server.key};
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                int r = chown_path(files[i], user, uid, gid, false);
                if (r < 0)
                        log_warn("cannot give %s to %s: %s", files[i], user, strerror(-r));
        }
        return 0;
}

/* Become user for good: its groups plus systemd-journal and adm
 * (the journal and nginx's logs are read, never written), no capabilities
 * (a uid change from root clears them), no_new_privs. */
static int drop_privileges(const char *user)
{
        struct passwd *pw = getpwnam(user);
        if (!pw)
                return -ENOENT;
        gid_t groups[3] = {pw->pw_gid};
        int ng = 1;
        const char *extra[] = {"systemd-journal", "adm"};
        for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
                struct group *g = getgrnam(extra[i]);
                if (g)
                        groups[ng++] = g->gr_gid;
        }
        if (prctl(PR_SET_KEEPCAPS, 0) < 0 || setgroups((size_t)ng, groups) < 0 ||
            setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                return -errno;
        /* no way back */
        if (setuid(0) == 0 || geteuid() == 0)
                return -EPERM;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        /* the uid change made us non-dumpable; the process reads its own
         * /proc entries (memory figures) and nothing here is secret from
         * its own user */
        prctl(PR_SET_DUMPABLE, 1);
        return 0;
}

int helper_binary(char path[PATH_MAX])
{
        snprintf(path, PATH_MAX, "%s", HELPER_BINARY);
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -ENOENT;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash || exe[0] != '/')
                return -ENOENT;
        *slash = '\0';
        if (snprintf(path, PATH_MAX, "%s/" HELPER_BINARY, exe) >= PATH_MAX)
                return -ENAMETOOLONG;
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        return access(path, X_OK) < 0 ? -errno : 0;
}

/* What the helper's code reads from the environment (sys/services,
 * sys/journal, libsystemd's sd_bus_open_system, the journal's local time,
 * the sanitizers of a sanitizer build); everything else of ours stays
 * here, and PATH is fixed. */
static const char *const helper_env[] = {
    "SETEC_SYSTEM_BUS", "SETEC_JOURNAL_DIR", "DBUS_SYSTEM_BUS_ADDRESS", "TZ", "ASAN_OPTIONS",
    "UBSAN_OPTIONS",    "LSAN_OPTIONS"};

static void build_env(char *env[], size_t max)
{
        size_t n = 0;
        env[n++] = (char *)"PATH=" EXEC_PATH;
        for (char **e = environ; e && *e && n + 1 < max; e++)
                for (size_t i = 0; i < ARRAY_SIZE(helper_env); i++) {
                        size_t len = strlen(helper_env[i]);
                        if (!strncmp(*e, helper_env[i], len) && (*e)[len] == '=') {
                                env[n++] = *e;
                                break;
                        }
                }
        env[n] = NULL;
}

/* In the child, after fork: only async-signal-safe calls. The control
 * socket becomes HELPER_CTL_FD, the error pipe the descriptor after it
 * (close-on-exec: it reports a failed execve, and its end on success),
 * every other descriptor above stderr is closed, the signals serve blocks
 * (and whatever its own parent left blocked or ignored) are back to their
 * defaults, and the helper binary replaces this program: what the helper
 * blocks or ignores is what its main() sets up. */
static void __attribute__((noreturn))
exec_helper(const char *path, char *const argv[], char *const env[], int ctl, int errw)
{
        int e = 0;
        /* out of the way of the descriptors placed below */
        int w = fcntl(errw, F_DUPFD_CLOEXEC, HELPER_CTL_FD + 2);
        if (w < 0) {
                e = errno;
                w = errw;
        } else if (ctl == HELPER_CTL_FD ? fcntl(ctl, F_SETFD, 0) < 0
                                        : dup2(ctl, HELPER_CTL_FD) < 0) {
                e = errno;
        } else if (dup3(w, HELPER_CTL_FD + 1, O_CLOEXEC) < 0) {
                e = errno;
        } else {
                w = HELPER_CTL_FD + 1;
                exec_close_from(HELPER_CTL_FD + 2);
                exec_default_signals();
                execve(path, argv, env);
                e = errno;
        }
        while (write(w, &e, sizeof(e)) < 0 && errno == EINTR)
                ;
        _exit(127);
}

/* Start the helper on ctl: 0 with its pid, or -errno (logged, naming the
 * binary) when it could not be started. */
static int start_helper(const char *config_path, int ctl, pid_t *pid)
{
        char path[PATH_MAX];
        int r = helper_binary(path);
        if (r < 0) {
                log_error("the root helper %s is missing or not executable (%s): it is installed "
                          "beside setec-manager",
                          path, strerror(-r));
                return r;
        }
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", HELPER_CTL_FD);
        char *argv[] = {path, (char *)"--config", (char *)config_path, (char *)"--fd", fd, NULL};
        char *env[ARRAY_SIZE(helper_env) + 2];
        build_env(env, ARRAY_SIZE(env));
        int ep[2];
        if (pipe2(ep, O_CLOEXEC) < 0) {
                r = -errno;
                log_error("cannot start the root helper %s: %s", path, strerror(errno));
                return r;
        }
        *pid = fork();
        if (*pid == 0)
                exec_helper(path, argv, env, ctl, ep[1]);
        r = *pid < 0 ? -errno : 0;
        close(ep[1]);
        if (r == 0) {
                /* the pipe ends with the execve: nothing read is success */
                int e = 0;
                ssize_t n;
                while ((n = read(ep[0], &e, sizeof(e))) < 0 && errno == EINTR)
                        ;
                if (n == sizeof(e)) {
                        r = e > 0 ? -e : -EIO;
                        waitpid(*pid, NULL, 0);
                } else if (n != 0) {
                        r = -EIO; /* the child died before its execve */
                        waitpid(*pid, NULL, 0);
                }
        }
        close(ep[0]);
        if (r < 0)
                log_error("cannot start the root helper %s: %s", path, strerror(-r));
        return r;
}

/* The helper's first datagram on the control socket, HELPER_READY, says it
 * has loaded its config and serves. Its end before that (a config it could
 * not load: it said why on stderr) or silence is a failed start. */
static int wait_ready(int ctl, pid_t pid)
{
        struct pollfd p = {ctl, POLLIN, 0};
        int n;
        while ((n = poll(&p, 1, HELPER_READY_MS)) < 0 && errno == EINTR)
                ;
        char buf[16];
        ssize_t len = n > 0 ? recv(ctl, buf, sizeof(buf), MSG_DONTWAIT) : -1;
        if (len == (ssize_t)strlen(HELPER_READY) && !memcmp(buf, HELPER_READY, (size_t)len))
                return 0;
        log_error("the root helper (pid %d) %s", (int)pid,
                  n == 0 ? "did not get ready" : "ended while starting (see above)");
        return n == 0 ? -ETIMEDOUT : -ECHILD;
}

int helper_split(const struct config *cfg, const char *config_path)
{
        const char *user = cfg->server.user;
        bool root = geteuid() == 0 && !str_empty(user);
        if (root) {
                int r = helper_prepare_http_user(cfg);
                if (r < 0)
                        return r;
        }
        int sv[2];
        int r = hm_socketpair(sv);
        if (r < 0) {
                log_error("cannot make the root helper's socket: %s", strerror(-r));
                return r;
        }
        pid_t pid = -1;
        r = start_helper(config_path, sv[1], &pid);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        helper = pid;
        r = wait_ready(sv[0], pid);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        if (root) {
                r = drop_privileges(user);
                if (r < 0) {
                        log_error("cannot drop privileges to %s: %s", user, strerror(-r));
                        close(sv[0]);
                        return r;
                }
        }
        /* what the HTTP process never does (start programs, namespaces,
         * io_uring, ptrace, ...) it cannot be made to do either */
        r = sandbox_http_process();
        if (r < 0)
                log_warn("no seccomp filter for the HTTP process: %s", strerror(-r));
        helpcall_init(sv[0]);
        log_info("root helper pid %d; serving as %s", (int)pid, root ? user : "the starting user");
        return 0;
}
