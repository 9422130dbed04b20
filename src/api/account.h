/* Your own account (CONTRACT.md §9): GET /api/account, the password with
 * the current one, your sessions, TOTP 2FA; and what the gate and the login
 * need of it. */
#pragma once

#include <stdbool.h>

#include "http/server.h"

struct app;
struct panel_user;

/* Mark the session of jti as seen now: written at most once a minute per
 * session (an in-memory table says when it last was), so a busy client
 * costs no write per request. */
void account_session_seen(struct app *app, const char *jti);
/* The second factor of a login for u, when 2FA is on: true when it is not on
 * or the body's "otp" / "recovery_code" is good (and now used up); otherwise
 * replies 401 (with "otp_required": true) and returns false. */
bool account_login_second_factor(struct http_req *r, const struct panel_user *u, const char *otp,
                                 const char *recovery_code);
/* Record the session a login issued (jti, exp of the token). */
void account_session_record(struct http_req *r, long long user_id, long long pwc, const char *jti,
                            long long exp);
/* Password policy for a new password of username: NULL when fine, else the message. */
const char *account_password_problem(const char *username, const char *pw);
