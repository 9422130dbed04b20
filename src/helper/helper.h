/* The root helper (docs/ARCHITECTURE.md "Process model"). `serve` started
 * as root splits in two right after start-up: a small helper process that
 * stays root and does only the closed set of operations of sys/helpmsg.h,
 * and the HTTP process (TLS, HTTP, JSON, SQLite, ACME, the UI), which drops
 * to the unprivileged server.user (default `setec`) with no capabilities and no_new_privs.
 * Started as another user the split happens the same way minus the drop,
 * so tests run the same code path.
 *
 * The helper is its own executable, setec-helper (helper/main.c), installed
 * beside setec-manager and linking only this layer and base/core/sys:
 * serve (split.c) starts it with `--config <the file serve loaded> --fd 3`
 * and a minimal environment; it loads that config itself.
 *
 * The helper forks one short-lived child per call: the child reads the
 * request from the call's own socket, checks its shape and re-validates
 * every value with the same base/core/sys rules (the helper's own config,
 * never a path or text of the caller's), logs the operation and its result
 * (the audit trail of root actions), does it, and answers. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/strbuf.h"
#include "core/config.h"
#include "sys/helpmsg.h"

#define HELPER_BINARY "setec-helper"
#define HELPER_CTL_FD 3 /* the control socket's descriptor in the helper */
/* the helper's first datagram on the control socket, once its config is
 * loaded; serve waits HELPER_READY_MS for it */
#define HELPER_READY    "ready"
#define HELPER_READY_MS 30000

/* Split this process (split.c): start HELPER_BINARY, found beside this
 * binary (never on PATH), on one end of a socket pair with config_path (the
 * file this process loaded) and wait for its HELPER_READY. Returns 0 in the
 * HTTP process (privileges dropped when it was root, helpcall_init done).
 * -errno (logged, naming the helper binary when it is missing or not
 * executable) when the split or the drop failed: the caller must not
 * serve. Call before any thread is started. */
int helper_split(const struct config *cfg, const char *config_path);

/* The helper binary's path, the directory of /proc/self/exe plus
 * HELPER_BINARY (HELPER_BINARY alone when that directory is unknown): 0
 * when it is an executable file, else -errno. */
int helper_binary(char path[PATH_MAX]);

/* The helper's pid in the HTTP process (0 before the split), and whether it
 * still runs (reaps it when it ended). */
pid_t helper_pid(void);
bool helper_alive(void);

/* Create the HTTP user (server.user; nothing when "") when missing and give it what it writes (the
 * data dir, the ACME account dir, the challenge webroot, backups, the log file, the panel's
 * certificate and key). Root only; `setup` runs it too. */
int helper_prepare_http_user(const struct config *cfg);

/* ---- the call side (helper.c, ops*.c; unit tests drive these) ---- */

struct helper_call {
        const struct config *cfg;
        int sock;                 /* the call's socket: output and the result go here */
        const struct hm_msg *req; /* shape already checked against the op's signature */
        struct strbuf msg;        /* the result's message (bounded) */
        struct strbuf subject;    /* what the op acted on, for the log line */
        struct hm_builder extra;  /* the result's extra fields */
        int fd_out;               /* a descriptor to pass with the result, -1 */
};

/* Stream one chunk of a program's output to the caller (a deploy_output_fn). */
void helper_output(void *call, const char *data, size_t len);
/* printf into the result's message. */
void helper_msgf(struct helper_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct helper_op {
        unsigned op;
        const char *sig; /* hm_expect signature of the request */
        int (*fn)(struct helper_call *c);
};
/* The closed set: helper/ops.c. */
extern const struct helper_op helper_ops[];
extern const size_t helper_nops;

/* Serve the one call on sock: read the request, check it, run the op,
 * answer. 0 when an answer was sent (whatever the op's result), -errno when
 * none could be. */
int helper_serve_call(const struct config *cfg, int sock);

/* The helper's loop on the control socket: one forked child per call. */
int helper_main(const struct config *cfg, int ctl);
