/* POST /login, POST /logout, GET /api/auth/status */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/account.h"
#include "api/app.h"
#include "api/json.h"
#include "api/routes.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "core/password.h"
#include "db/audit.h"
#include "db/users.h"

struct login_body {
        char *username, *password, *otp, *recovery_code;
        bool has_username, has_password, has_otp, has_recovery_code;
};

static const struct field login_fields[] = {
    FIELD(struct login_body, FIELD_STRING, username, false, 64),
    FIELD(struct login_body, FIELD_STRING, password, false, 1024),
    FIELD(struct login_body, FIELD_STRING, otp, false, 16),
    FIELD(struct login_body, FIELD_STRING, recovery_code, false, 64),
};

/* A browser always sends Origin on a cross-site POST: it must be ours. */
static bool origin_ok(struct http_req *r)
{
        const char *origin = http_header(r, "Origin");
        const char *host = http_header(r, "Host");
        if (!origin)
                return true;
        if (!host)
                return false;
        const char *scheme = r->tls ? "https://" : "http://";
        size_t sl = strlen(scheme);
        return strncmp(origin, scheme, sl) == 0 && strcmp(origin + sl, host) == 0;
}

/* What an unknown user's password is verified against, so that a login costs
 * one hash either way. Made at the first login, whoever logs in (so that one
 * does not tell names apart either), not at start: an idle panel nobody
 * logged into never loads libxcrypt. Tried again at the next login when it
 * failed; kept for the life of the process. */
static const char *dummy_hash(void)
{
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        static char *hash;
        pthread_mutex_lock(&lock);
        if (!hash)
                hash = password_hash("not a password");
        const char *h = hash;
        pthread_mutex_unlock(&lock);
        return h;
}

void api_login(struct http_req *r)
{
        struct app *app = app_of(r);
        if (!origin_ok(r)) {
                http_reply_error(r, 403, "cross-origin login refused");
                return;
        }
        unsigned retry = 0;
        if (!ratelimit_hit(app->login_limit, r->peer, time_monotonic(), &retry)) {
                char ra[16];
                snprintf(ra, sizeof(ra), "%u", retry);
                http_reply_errorf(r, 429, "too many login attempts, try again in %u seconds",
                                  retry);
                http_add_header(r, "Retry-After", ra);
                audit_tally_count(app->audit_tally, AUDIT_ANON_RATE_LIMITED, r->peer);
                return;
        }
        struct login_body b = {0};
        bool ok = fields_decode(r, login_fields, ARRAY_SIZE(login_fields), &b);
        if (ok && (str_empty(b.username) || str_empty(b.password))) {
                http_reply_error(r, 400, "username and password required");
                ok = false;
        }
        if (!ok) {
                fields_free(login_fields, ARRAY_SIZE(login_fields), &b);
                return;
        }

        /* Per account as well: many addresses do not buy many guesses. */
        if (!backoff_check(app->login_backoff, b.username, time_monotonic(), &retry)) {
                char ra[16];
                snprintf(ra, sizeof(ra), "%u", retry);
                http_reply_errorf(
                    r, 429, "too many failed logins for this account, try again in %u seconds",
                    retry);
                http_add_header(r, "Retry-After", ra);
                audit_tally_count(app->audit_tally, AUDIT_ANON_ACCOUNT_THROTTLED, r->peer);
                fields_free(login_fields, ARRAY_SIZE(login_fields), &b);
                return;
        }

        struct panel_user u = {0};
        _cleanup_free_ char *tok = NULL;
        const char *dummy = dummy_hash();
        int rc = users_get_by_name(app->db, b.username, &u);
        /* An unknown user costs one hash too, so timing does not reveal names. */
        bool good = password_verify(b.password, rc == 0 ? u.password_hash : dummy) && rc == 0;
        if (rc < 0 && rc != -ENOENT) {
                http_reply_error(r, 500, "database error");
                goto out;
        }
        if (!good) {
                /* Every name is throttled alike (a 429 must not tell which
                 * exist). A failure of an account is a row; of a name that
                 * is none, only a count: anyone could write those rows. */
                backoff_fail(app->login_backoff, b.username, time_monotonic());
                if (rc == 0)
                        audit_add(app->db, b.username, r->peer, "login failed", NULL);
                else
                        audit_tally_count(app->audit_tally, AUDIT_ANON_UNKNOWN_USER, r->peer);
                http_reply_error(r, 401, "invalid credentials");
                goto out;
        }
        if (!account_login_second_factor(r, &u, b.otp, b.recovery_code)) {
                /* a wrong one-time code counts like a wrong password */
                if (!str_empty(b.otp) || !str_empty(b.recovery_code))
                        backoff_fail(app->login_backoff, b.username, time_monotonic());
                goto out;
        }
        if (password_needs_rehash(u.password_hash)) {
                _cleanup_free_ char *h = password_hash(b.password);
                if (h && users_update(app->db, u.id, h, NULL) == 0) {
                        log_info("upgraded the password hash of '%s' to yescrypt", u.username);
                        long long id = u.id;
                        panel_user_clear(&u);
                        if (users_get_by_id(app->db, id, &u) < 0) {
                                http_reply_error(r, 500, "database error");
                                goto out;
                        }
                }
        }
        backoff_success(app->login_backoff, b.username);
        users_touch_login(app->db, u.id);
        struct token_claims c;
        tok = token_issue(app->jwt_key, u.id, u.username, u.role, u.pw_changed, time(NULL), &c);
        if (!tok) {
                http_reply_error(r, 500, "could not issue token");
                goto out;
        }
        account_session_record(r, u.id, u.pw_changed, c.jti, c.exp);
        audit_add(app->db, u.username, r->peer, "login", NULL);
        if (api_body_is_form(r)) {
                http_redirect(r, 303, "/");
        } else {
                api_reply_json(r, 200,
                               json_pack("{s:s,s:s,s:s}", "token", tok, "username", u.username,
                                         "role", u.role));
        }
        http_set_cookie(r, "setec_token", tok, TOKEN_TTL, true);
        api_set_csrf_cookie(r, c.jti);
out:
        panel_user_clear(&u);
        fields_free(login_fields, ARRAY_SIZE(login_fields), &b);
}

void api_logout(struct http_req *r)
{
        struct app *app = app_of(r);
        if (!origin_ok(r)) {
                http_reply_error(r, 403, "cross-origin logout refused");
                return;
        }
        /* Revoke the presented token, whichever way it came. */
        const char *tok = http_cookie(r, "setec_token");
        const char *authz = http_header(r, "Authorization");
        if (authz && strncasecmp(authz, "Bearer ", 7) == 0)
                tok = authz + 7;
        struct token_claims c;
        if (tok && *tok && token_verify(app->jwt_key, tok, time(NULL), &c) == 0) {
                tokens_revoke(app->db, c.jti, c.exp);
                snprintf(r->username, sizeof(r->username), "%s", c.username);
        }
        http_set_cookie(r, "setec_token", "", -1, true);
        api_set_csrf_cookie(r, NULL);
        if (api_body_is_form(r))
                http_redirect(r, 303, "/login");
        else
                api_reply_status(r, 200, "logged out");
}

void api_auth_status(struct http_req *r)
{
        api_reply_json(r, 200,
                       json_pack("{s:I,s:s,s:s}", "user_id", (json_int_t)r->user_id, "username",
                                 r->username, "role", r->role));
}

void api_login_page(struct http_req *r)
{
        http_reply_asset(r, "/login.html");
}
