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
 * message ("" when none) and the op's extra fields from index 2 of m.
 * answered is false when the call itself failed (then m is empty). */
struct helpcall_reply {
        bool answered;
        int rc;
        const char *msg;
        struct hm_msg m;
        unsigned char *buf;
        int fd; /* a descriptor that came with the result, -1 when none; the caller's */
};
void helpcall_reply_free(struct helpcall_reply *r);

/* The one call of every mutating sys/ function in the HTTP process: ends
 * the request built in hb (HM_REQUEST), sends it, waits for its result and
 * frees hb in every case (its bytes cleared first: a request may carry a
 * password or a key). Program output the helper streams meanwhile goes to
 * out(ctx, ...) (may be NULL). While it waits it also watches the calling
 * thread's exec cancel fd (exec_set_cancel_fd): when that becomes readable
 * the helper is told to cancel and the result follows as usual.
 *
 * Returns the op's rc, or the call's own -errno when the request could not
 * be built or sent, the helper could not be reached or answered nonsense
 * (-EPROTO; logged). msg (may be NULL): *msg is freed and becomes the
 * helper's message (malloc'd), the text of the call's own failure
 * (helpcall_strerror), or NULL when there is none. rep (may be NULL): the
 * answer, for the op's extras and descriptor; free it with
 * helpcall_reply_free in every case. */
int helpcall_send(struct hm_builder *hb, void (*out)(void *ctx, const char *data, size_t len),
                  void *ctx, struct helpcall_reply *rep, char **msg);

/* The message of a failed call (an -errno of the call itself) as text. */
const char *helpcall_strerror(int rc);
