#include "sys/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool exec_find(const char *prog)
{
        if (str_empty(prog))
                return false;
        if (strchr(prog, '/'))
                return access(prog, X_OK) == 0;
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : default_path);
        if (!copy)
                return false;
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char full[PATH_MAX];
                if (snprintf(full, sizeof(full), "%s/%s", d, prog) < (int)sizeof(full) &&
                    access(full, X_OK) == 0)
                        return true;
        }
        return false;
}

/* The child's environment: PATH, LANG=C (stable output for parsers), HOME,
 * plus the caller's entries. Nothing else of ours leaks into it. */
static char **build_env(const char *const *extra)
{
        size_t n = 0;
        while (extra && extra[n])
                n++;
        char **env = calloc(n + 4, sizeof(char *));
        if (!env)
                return NULL;
        size_t i = 0;
        const char *path = getenv("PATH");
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        strbuf_printf(&p, "PATH=%s", path && *path ? path : default_path);
        env[i++] = strbuf_steal(&p);
        env[i++] = strdup("LANG=C");
        const char *home = getenv("HOME");
        _cleanup_strbuf_ struct strbuf h = STRBUF_INIT(0);
        strbuf_printf(&h, "HOME=%s", home && *home ? home : "/root");
        env[i++] = strbuf_steal(&h);
        for (size_t k = 0; k < n; k++)
                env[i++] = strdup(extra[k]);
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
        if (!exec_find(o->argv[0]))
                return -ENOENT;
        int out[2] = {-1, -1}, in[2] = {-1, -1};
        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        if (o->stdin_data && pipe2(in, O_CLOEXEC) < 0) {
                int e = -errno;
                close(out[0]);
                close(out[1]);
                return e;
        }
        char **env = build_env(o->env);
        if (!env) {
                close(out[0]);
                close(out[1]);
                if (in[0] >= 0) {
                        close(in[0]);
                        close(in[1]);
                }
                return -ENOMEM;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int e = -errno;
                free_env(env);
                close(out[0]);
                close(out[1]);
                if (in[0] >= 0) {
                        close(in[0]);
                        close(in[1]);
                }
                return e;
        }
        if (pid == 0) {
                /* child: own process group so a timeout kills its children too */
                setpgid(0, 0);
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                signal(SIGPIPE, SIG_DFL);
                int devnull = open("/dev/null", O_RDONLY);
                dup2(in[0] >= 0 ? in[0] : devnull, STDIN_FILENO);
                dup2(out[1], STDOUT_FILENO);
                dup2(out[1], STDERR_FILENO);
                if (o->cwd && chdir(o->cwd) < 0)
                        _exit(126);
                /* execvpe searches PATH from the environment we pass */
                execvpe(o->argv[0], (char *const *)o->argv, env);
                _exit(127);
        }
        setpgid(pid, pid);
        free_env(env);
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
                if (np == 3 && (p[2].revents & POLLIN)) {
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
