/* The HTTP process's side of the root helper. When serve split itself
 * (src/helper/helper.h), every mutating sys/ call (vhosts, units, ufw,
 * accounts, app trees, deploy steps, backups, AUTARCH) is sent to the
 * helper as one typed operation (sys/helpmsg.h) instead of being done here:
 * the sys/ headers stay the same, their functions start with
 * `if (helpcall_active()) return <the call>;`. In the helper itself (and in
 * a process that never split) helpcall_active() is false and the same
 * functions do the work.
 *
 * Each call gets a socket pair of its own: one end goes to the helper over
 * the control socket (SCM_RIGHTS), the request and the answers travel on
 * it, so concurrent calls (two jobs, a request) never wait for each other
 * and a call's program output streams back while it runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sys/helpmsg.h"

/* Route mutating calls to the helper behind ctl (the control socket; kept). */
void helpcall_init(int ctl);
bool helpcall_active(void);

/* The answer to a call: rc (0 or -errno, the operation's own result), its
 * message ("" when none) and the op's extra fields from index 2 of m. */
struct helpcall_reply {
        int rc;
        const char *msg;
        struct hm_msg m;
        unsigned char *buf;
        int fd; /* a descriptor that came with the result, -1 when none; the caller's */
};
void helpcall_reply_free(struct helpcall_reply *r);

/* Send the request built in hb (HM_REQUEST) and wait for its result.
 * Program output the helper streams meanwhile goes to out(ctx, ...) (may be
 * NULL). While it waits it also watches the calling thread's exec cancel
 * fd (exec_set_cancel_fd): when that becomes readable the helper is told to
 * cancel and the result follows as usual. 0 with *rep filled (look at
 * rep->rc), or -errno when the helper could not be reached or answered
 * nonsense (-EPROTO). */
int helpcall(const struct hm_builder *hb, void (*out)(void *ctx, const char *data, size_t len),
             void *ctx, struct helpcall_reply *rep);

/* The common case: send hb, return rep.rc, copy the message into *msg
 * (malloc'd, NULL when empty; msg may be NULL). */
int helpcall_simple(const struct hm_builder *hb, char **msg);

/* The message of a failed call (an -errno of helpcall itself) as text. */
const char *helpcall_strerror(int rc);
