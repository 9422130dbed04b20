/* The only place that starts programs. argv arrays only (never a shell),
 * a timeout, a cap on captured output, optional stdin data, a clean
 * environment. Callers validate every identifier first and put "--" before
 * user data in argv.
 *
 * The child gets: fds 0-2 only (everything else closed with close_range
 * before exec), its own process group (a timeout or a cancel ends the whole
 * tree), SIGKILL when the panel dies (PR_SET_PDEATHSIG: strictly, when the
 * thread that called exec_run ends, so call it from a thread that outlives
 * the child, as pool workers do), the default signal
 * mask and dispositions, and a fixed environment: PATH=EXEC_PATH,
 * LANG=C.UTF-8, HOME, plus the caller's entries. Nothing of the panel's own
 * environment is inherited. With .user set it runs as that user (groups,
 * gid, uid, HOME, umask 022, no_new_privs), switched in the child before
 * exec. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The PATH of every child, and where exec_find looks. */
#define EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define EXEC_USER_MAX_GROUPS 64

/* Who a child runs as (exec_user_lookup fills it from the passwd/group
 * databases in the parent: the child only makes system calls). */
struct exec_user {
        uid_t uid;
        gid_t gid;
        gid_t groups[EXEC_USER_MAX_GROUPS]; /* supplementary groups */
        int ngroups;
        char home[4096];
};

/* Fill u for user name: uid, primary gid, supplementary groups (initgroups'
 * list), home. 0, -EINVAL (bad name), -ENOENT (no such user), -errno. */
int exec_user_lookup(const char *name, struct exec_user *u);

struct exec_opts {
        const char *const *argv; /* argv[0] is looked up in PATH when it has no '/' */
        const char *stdin_data;  /* written to the child's stdin, then closed; NULL = /dev/null */
        size_t stdin_len;
        const char *cwd; /* NULL = inherit */
        const char *const
            *env; /* extra "KEY=value" entries over a minimal environment; NULL-terminated */
        unsigned timeout_ms; /* 0 = 60 s; on expiry the process group gets SIGTERM, then SIGKILL */
        size_t
            max_output; /* bytes of combined stdout+stderr kept; 0 = 1 MiB; the rest is dropped */
        /* Called with each chunk of output as it arrives (for live progress), may be NULL. */
        void (*on_output)(void *ctx, const char *data, size_t len);
        void *ctx;
        /* Run as this user (NULL = as ourselves). Entries of env named PATH or
         * HOME are ignored either way: those two are fixed. */
        const struct exec_user *user;
};

struct exec_result {
        int status; /* exit code, or 128+signal when killed by a signal */
        bool timed_out;
        bool truncated; /* output exceeded max_output */
        bool cancelled; /* stopped because the thread's cancel fd became readable */
        char *output;   /* combined stdout+stderr, NUL-terminated, malloc'd */
        size_t output_len;
};

/* Run to completion. 0 when the program ran (look at res->status), -errno
 * when it could not be started (-ENOENT: no such program). res->output is
 * always set (maybe "") on 0 and must be freed with exec_result_free. */
int exec_run(const struct exec_opts *o, struct exec_result *res);
void exec_result_free(struct exec_result *res);
/* Cancellation for the calling thread (a job thread): while fd (>= 0) is
 * set, every exec_run on this thread also watches it; when it becomes
 * readable the process group gets SIGTERM, then SIGKILL after 2 s, and the
 * result says cancelled. -1 clears it. The fd stays the caller's. */
void exec_set_cancel_fd(int fd);
/* The calling thread's cancel fd, -1 when none. */
int exec_cancel_fd(void);

/* Run fn(arg) in a short-lived forked child of this process (no exec) and
 * wait for it: for work whose code and memory must not stay resident in the
 * caller. fn's return value < 0 makes the child exit 1. 0 when the child
 * exited 0, -ECHILD when it failed, -errno when it could not be forked. */
int exec_in_child(int (*fn)(void *arg), void *arg);

/* Search EXEC_PATH for prog (what the child would run): true when found
 * executable. */
bool exec_find(const char *prog);

/* Close every descriptor from first up (close_range when the kernel has it,
 * else one close per possible descriptor). Async-signal-safe: for a child
 * between fork and execve. */
void exec_close_from(int first);

/* Every signal's disposition back to SIG_DFL (those the caller ignores
 * would survive execve) and an empty signal mask (it would too), for a
 * program that starts from a clean state whatever this process blocks or
 * ignores. Async-signal-safe: for a child between fork and execve. */
void exec_default_signals(void);
