/* The only place that starts programs. argv arrays only (never a shell),
 * a timeout, a cap on captured output, optional stdin data, a clean
 * environment. Callers validate every identifier first and put "--" before
 * user data in argv. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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

/* Search PATH for prog: true when found executable. */
bool exec_find(const char *prog);
