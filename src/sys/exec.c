#include "sys/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"

static const char default_path[] = EXEC_PATH;

/* prog as the child will run it: itself when it has a '/', else the first
 * executable EXEC_PATH entry. */
static bool resolve(const char *prog, char full[PATH_MAX])
{
        if (str_empty(prog))
                return false;
        if (strchr(prog, '/')) {
                if (snprintf(full, PATH_MAX, "%s", prog) >= PATH_MAX)
                        return false;
                return access(prog, X_OK) == 0;
        }
        _cleanup_free_ char *copy = strdup(default_path);
        if (!copy)
                return false;
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                struct stat st;
                if (snprintf(full, PATH_MAX, "%s/%s", d, prog) < PATH_MAX &&
                    access(full, X_OK) == 0 && stat(full, &st) == 0 && S_ISREG(st.st_mode))
                        return true;
        }
        return false;
}

bool exec_find(const char *prog)
{
        char full[PATH_MAX];
        return resolve(prog, full);
}

int exec_user_lookup(const char *name, struct exec_user *u)
{
        memset(u, 0, sizeof(*u));
        if (str_empty(name) || strlen(name) > 32)
                return -EINVAL;
        struct passwd pw, *res = NULL;
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t bufsz = sz > 0 ? (size_t)sz : 16384;
        _cleanup_free_ char *buf = malloc(bufsz);
        if (!buf)
                return -ENOMEM;
        int r = getpwnam_r(name, &pw, buf, bufsz, &res);
        if (r != 0)
                return r > 0 ? -r : -EIO;
        if (!res)
                return -ENOENT;
        if (!pw.pw_dir || pw.pw_dir[0] != '/' || strlen(pw.pw_dir) >= sizeof(u->home))
                return -EINVAL;
        u->uid = pw.pw_uid;
        u->gid = pw.pw_gid;
        snprintf(u->home, sizeof(u->home), "%s", pw.pw_dir);
        int n = EXEC_USER_MAX_GROUPS;
        if (getgrouplist(name, pw.pw_gid, u->groups, &n) < 0)
                return -E2BIG;
        u->ngroups = n;
        return 0;
}

/* PATH and HOME are fixed: a caller's entry cannot redirect the lookup of
 * argv[0] or where a tool reads its dot-files. */
static bool reserved_entry(const char *e)
{
        return !strncmp(e, "PATH=", 5) || !strncmp(e, "HOME=", 5) || !strchr(e, '=');
}

/* The child's environment: PATH=EXEC_PATH, LANG=C.UTF-8 (untranslated,
 * stable output for parsers), HOME (root's, or the user's), plus the
 * caller's entries. Nothing of the panel's own environment leaks into it. */
static char **build_env(const char *const *extra, const struct exec_user *user)
{
        size_t n = 0;
        while (extra && extra[n])
                n++;
        char **env = calloc(n + 4, sizeof(char *));
        if (!env)
                return NULL;
        size_t i = 0;
        env[i++] = strdup("PATH=" EXEC_PATH);
        env[i++] = strdup("LANG=C.UTF-8");
        _cleanup_strbuf_ struct strbuf h = STRBUF_INIT(0);
        strbuf_printf(&h, "HOME=%s", user ? user->home : "/root");
        env[i++] = strbuf_steal(&h);
        for (size_t k = 0; k < n; k++)
                if (!reserved_entry(extra[k]))
                        env[i++] = strdup(extra[k]);
        for (size_t k = 0; k < i; k++)
                if (!env[k]) {
                        for (size_t f = 0; f < i; f++)
                                free(env[f]);
                        free(env);
                        return NULL;
                }
        return env;
}

static void free_env(char **env)
{
        for (size_t i = 0; env && env[i]; i++)
                free(env[i]);
        free(env);
}

static __thread int cancel_fd = -1;

void exec_set_cancel_fd(int fd)
{
        cancel_fd = fd;
}

int exec_cancel_fd(void)
{
        return cancel_fd;
}

void exec_close_from(int first)
{
#ifdef SYS_close_range
        if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0)
                return;
#endif
        struct rlimit rl;
        long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                       ? (long)rl.rlim_cur
                       : 65536;
        if (max > 1 << 20)
                max = 1 << 20;
        for (long fd = first; fd < max; fd++)
                close((int)fd);
}

void exec_default_signals(void)
{
        /* the raw call: glibc's refuses the signals it keeps for itself (32,
         * 33), and those too may have been ignored by whoever started us.
         * All zeroes is SIG_DFL with no flags and an empty mask, whatever
         * the architecture's layout of the kernel's struct. */
        unsigned long dfl[4] = {0};
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        syscall(SYS_rt_sigaction, sig, dfl, NULL, sizeof(unsigned long));
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child, after fork: only async-signal-safe calls, then exec. Exit
 * 126 when the child cannot be set up as asked (never runs the program
 * half-configured, e.g. still as root). */
static void __attribute__((noreturn)) child(const struct exec_opts *o, const char *prog, int in_fd,
                                            int out_fd, int devnull, pid_t parent, char **env)
{
        /* own process group so a timeout or a cancel kills its children too */
        setpgid(0, 0);
        exec_default_signals();
        if (dup2(in_fd >= 0 ? in_fd : devnull, STDIN_FILENO) < 0 ||
            dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)
                _exit(126);
        exec_close_from(3);
        const struct exec_user *u = o->user;
        if (u) {
                umask(022);
                if (setgroups((size_t)u->ngroups, u->groups) < 0 ||
                    setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
                        _exit(126);
                /* no way back: a uid that could regain root is refused */
                if (u->uid != 0 && (setuid(0) == 0 || geteuid() == 0))
                        _exit(126);
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(126);
        }
        /* after the credential change, which clears it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(126); /* the panel died before the line above */
        if (o->cwd && chdir(o->cwd) < 0)
                _exit(126);
        /* execve: argv[0] was resolved in the parent, on EXEC_PATH */
        execve(prog, (char *const *)o->argv, env);
        _exit(127);
}

static void kill_group(pid_t pid, int sig)
{
        if (kill(-pid, sig) < 0)
                kill(pid, sig);
}

int exec_run(const struct exec_opts *o, struct exec_result *res)
{
        memset(res, 0, sizeof(*res));
        if (!o->argv || str_empty(o->argv[0]))
                return -EINVAL;
        char prog[PATH_MAX];
        if (!resolve(o->argv[0], prog))
                return -ENOENT;
        /* every fd made here is CLOEXEC: only the dup2'd copies (0-2) reach
         * the program, and no other thread's fork inherits them */
        int out[2] = {-1, -1}, in[2] = {-1, -1};
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0)
                return -errno;
        if (pipe2(out, O_CLOEXEC) < 0) {
                int e = -errno;
                close(devnull);
                return e;
        }
        if (o->stdin_data && pipe2(in, O_CLOEXEC) < 0) {
                int e = -errno;
                close(devnull);
                close(out[0]);
                close(out[1]);
                return e;
        }
        char **env = build_env(o->env, o->user);
        pid_t parent = getpid();
        pid_t pid = env ? fork() : -1;
        if (pid < 0) {
                int e = env ? -errno : -ENOMEM;
                free_env(env);
                close(devnull);
                close(out[0]);
                close(out[1]);
                if (in[0] >= 0) {
                        close(in[0]);
                        close(in[1]);
                }
                return e;
        }
        if (pid == 0)
                child(o, prog, in[0], out[1], devnull, parent, env);
        setpgid(pid, pid);
        free_env(env);
        close(devnull);
        close(out[1]);
        if (in[0] >= 0)
                close(in[0]);

        size_t max = o->max_output ? o->max_output : (1u << 20);
        struct strbuf buf = STRBUF_INIT(max);
        double deadline = time_monotonic() + (o->timeout_ms ? o->timeout_ms : 60000) / 1000.0;
        size_t written = 0;
        int infd = in[1];
        if (infd >= 0)
                fcntl(infd, F_SETFL, O_NONBLOCK);
        if (infd >= 0 && o->stdin_len == 0) {
                close(infd);
                infd = -1;
        }
        bool out_open = true, killed = false;
        while (out_open) {
                double left = deadline - time_monotonic();
                if (left <= 0 && !killed) {
                        res->timed_out = true;
                        kill_group(pid, SIGTERM);
                        killed = true;
                        deadline = time_monotonic() + 2.0; /* grace, then SIGKILL */
                        continue;
                }
                if (left <= 0 && killed) {
                        kill_group(pid, SIGKILL);
                        break;
                }
                struct pollfd p[3] = {{out[0], POLLIN, 0}, {infd, POLLOUT, 0}, {-1, POLLIN, 0}};
                if (cancel_fd >= 0 && !killed)
                        p[2].fd = cancel_fd; /* poll ignores negative fds */
                int np = p[2].fd >= 0 ? 3 : infd >= 0 ? 2 : 1;
                int pr = poll(p, (nfds_t)np, (int)(left * 1000) + 1);
                if (pr < 0 && errno == EINTR)
                        continue;
                if (pr < 0)
                        break;
                if (np == 3 && (p[2].revents & (POLLIN | POLLHUP))) {
                        res->cancelled = true;
                        kill_group(pid, SIGTERM);
                        killed = true;
                        deadline = time_monotonic() + 2.0; /* grace, then SIGKILL */
                        continue;
                }
                if (np >= 2 && infd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t k = write(infd, o->stdin_data + written, o->stdin_len - written);
                        if (k > 0)
                                written += (size_t)k;
                        if (k < 0 && errno != EAGAIN && errno != EINTR)
                                written = o->stdin_len;
                        if (written >= o->stdin_len) {
                                close(infd);
                                infd = -1;
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        char chunk[8192];
                        ssize_t k = read(out[0], chunk, sizeof(chunk));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                out_open = false;
                                continue;
                        }
                        if (o->on_output)
                                o->on_output(o->ctx, chunk, (size_t)k);
                        size_t room = buf.len < max ? max - buf.len : 0;
                        size_t take = (size_t)k < room ? (size_t)k : room;
                        if (take)
                                strbuf_append(&buf, chunk, take);
                        if (take < (size_t)k)
                                res->truncated = true;
                }
        }
        if (infd >= 0)
                close(infd);
        close(out[0]);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        /* children of the program that kept the pipe open are ended with it */
        if (res->timed_out || res->cancelled)
                kill_group(pid, SIGKILL);
        res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        res->output_len = buf.len;
        res->output = strbuf_steal(&buf);
        return res->output ? 0 : -ENOMEM;
}

void exec_result_free(struct exec_result *res)
{
        free(res->output);
        res->output = NULL;
}

int exec_in_child(int (*fn)(void *arg), void *arg)
{
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int r = fn(arg);
                fflush(NULL);
                _exit(r < 0 ? 1 : 0);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}
