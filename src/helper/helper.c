#include "helper/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
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

#define MAX_CALLS        32 /* calls running at once; more wait in the control socket */
#define HELPER_CALL_NICE 10 /* the job threads' niceness (jobs/engine.c) */

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

/* ---------- one call ---------- */

void helper_output(void *call, const char *data, size_t len)
{
        struct helper_call *c = call;
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        while (len > 0) {
                size_t n = len < 16384 ? len : 16384;
                hm_begin(&hb, HM_OUTPUT, HOP_NONE);
                hm_add_bytes(&hb, data, n);
                if (hm_send(c->sock, &hb, -1) < 0)
                        break; /* the caller went away: the cancel fd says so too */
                data += n;
                len -= n;
        }
        hm_builder_free(&hb);
}

void helper_msgf(struct helper_call *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        strbuf_vprintf(&c->msg, fmt, ap);
        va_end(ap);
}

static const struct helper_op *find_op(unsigned op)
{
        for (size_t i = 0; i < helper_nops; i++)
                if (helper_ops[i].op == op)
                        return &helper_ops[i];
        return NULL;
}

static int answer(struct helper_call *c, int rc)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_RESULT, HOP_NONE);
        hm_add_int(&hb, rc);
        hm_add_str(&hb, c->msg.data ? c->msg.data : "");
        /* the extras' fields follow as they were built */
        if (c->extra.n && !c->extra.err && !hb.err) {
                if (strbuf_append(&hb.b, c->extra.b.data + HM_HEADER, c->extra.b.len - HM_HEADER))
                        hb.err = -E2BIG;
                hb.n += c->extra.n;
                hb.b.data[6] = (char)(hb.n >> 8);
                hb.b.data[7] = (char)hb.n;
        }
        int r = hm_send(c->sock, &hb, c->fd_out);
        hm_builder_free(&hb);
        return r;
}

int helper_serve_call(const struct config *cfg, int sock)
{
        _cleanup_free_ unsigned char *buf = malloc(HM_MAX);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        int fd = -1;
        int r = hm_recv(sock, buf, HM_MAX, &len, &fd);
        if (fd >= 0)
                close(fd); /* a request never carries one */
        if (r < 0)
                return r;
        struct hm_msg m;
        struct helper_call c = {.cfg = cfg,
                                .sock = sock,
                                .req = &m,
                                .msg = STRBUF_INIT(65536),
                                .subject = STRBUF_INIT(512),
                                .extra = {.b = STRBUF_INIT(HM_MAX)},
                                .fd_out = -1};
        hm_begin(&c.extra, HM_RESULT, HOP_NONE);
        int pr = hm_parse(buf, len, &m);
        const struct helper_op *op = pr == 0 && m.kind == HM_REQUEST ? find_op(m.op) : NULL;
        int rc;
        if (pr < 0 || m.kind != HM_REQUEST) {
                helper_msgf(&c, "malformed request");
                rc = -EBADMSG;
        } else if (!op) {
                helper_msgf(&c, "unknown operation %u", m.op);
                rc = -EOPNOTSUPP;
        } else if (!hm_expect(&m, op->sig)) {
                helper_msgf(&c, "%s: wrong arguments", hm_op_name(m.op));
                rc = -EINVAL;
        } else {
                /* a cancel from the caller (or its end) stops the program */
                exec_set_cancel_fd(sock);
                rc = op->fn(&c);
                exec_set_cancel_fd(-1);
        }
        if (rc > 0)
                rc = 0;
        log_msg(rc == 0 ? LOG_INFO : LOG_WARN, "helper: %s%s%s -> %s%s%s",
                pr == 0 ? hm_op_name(m.op) : "?", c.subject.len ? " " : "",
                c.subject.len ? c.subject.data + strspn(c.subject.data, " ") : "",
                rc == 0 ? "ok" : strerror(-rc), c.msg.len ? ": " : "", c.msg.len ? c.msg.data : "");
        r = answer(&c, rc);
        if (c.fd_out >= 0)
                close(c.fd_out);
        strbuf_free(&c.msg);
        strbuf_free(&c.subject);
        hm_builder_free(&c.extra);
        hm_msg_clear(&m);
        return r;
}

/* ---------- the loop ---------- */

int helper_main(const struct config *cfg, int ctl)
{
        prctl(PR_SET_NAME, "setec-helper");
        /* what start-up freed stays freed here too */
        malloc_trim(0);
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        _cleanup_close_ int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
                return -errno;
        unsigned running = 0;
        unsigned char hello[64];
        for (;;) {
                struct pollfd p[2] = {{sfd, POLLIN, 0},
                                      {running < MAX_CALLS ? ctl : -1, POLLIN, 0}};
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                ;
                        while (running > 0 && waitpid(-1, NULL, WNOHANG) > 0)
                                running--;
                }
                if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                /* a call: a "hello" datagram carrying the call's socket */
                size_t len = 0;
                int sock = -1;
                int r = hm_recv(ctl, hello, sizeof(hello), &len, &sock);
                if (r == -EPIPE || r == -ECONNRESET)
                        break; /* the HTTP process ended: so do we */
                if (r < 0 || sock < 0) {
                        if (sock >= 0)
                                close(sock);
                        continue;
                }
                pid_t pid = fork();
                if (pid == 0) {
                        close(ctl);
                        close(sfd);
                        sigprocmask(SIG_UNBLOCK, &chld, NULL);
                        /* system work yields the CPU to the panel's answers,
                         * as the job threads that ask for most of it do: a
                         * backup's compression or a build runs here */
                        setpriority(PRIO_PROCESS, 0, HELPER_CALL_NICE);
                        int rc = helper_serve_call(cfg, sock);
                        _exit(rc < 0 ? 1 : 0);
                }
                if (pid > 0)
                        running++;
                else
                        log_error("helper: cannot fork for a call: %s", strerror(errno));
                close(sock); /* a failed fork: the caller sees the end of its call */
        }
        /* the calls still running finish (their callers are gone: the
         * programs they run see the cancel) */
        while (running > 0 && waitpid(-1, NULL, 0) > 0)
                running--;
        return 0;
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

int helper_split(const struct config *cfg)
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
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                log_error("cannot start the root helper: %s", strerror(errno));
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                r = helper_main(cfg, sv[1]);
                if (r < 0)
                        log_error("helper: %s", strerror(-r));
                log_flush();
                _exit(r < 0 ? 1 : 0);
        }
        close(sv[1]);
        helper = pid;
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
