/* Authentication, CSRF and roles for every route (the http server's gate
 * hook), and the audit row written after every state-changing request. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "api/account.h"
#include "api/authcache.h"
#include "api/json.h"
#include "api/tokens.h"
#include "base/log.h"
#include "core/csrf.h"
#include "base/util.h"
#include "db/audit.h"
#include "db/users.h"

#define TOKEN_COOKIE "setec_token"

static bool is_safe_method(const char *m)
{
        return streq(m, "GET") || streq(m, "HEAD") || streq(m, "OPTIONS");
}

/* Over TLS the cookie is __Host-: Secure, Path=/, no Domain, so no sibling
 * (sub)domain can set or shadow it. Over plain HTTP (behind a proxy) a
 * browser refuses that prefix: the plain name. A planted value is worthless
 * either way: the token is bound to the session (core/csrf.h). */
const char *api_csrf_cookie_name(struct http_req *r)
{
        return r->tls ? "__Host-setec_csrf" : "setec_csrf";
}

void api_set_csrf_cookie(struct http_req *r, const char *jti)
{
        char tok[CSRF_TOKEN_LEN + 1];
        if (!jti) {
                http_set_cookie(r, api_csrf_cookie_name(r), "", -1, false);
                return;
        }
        if (csrf_token_for(app_of(r)->jwt_key, jti, tok) == 0)
                http_set_cookie(r, api_csrf_cookie_name(r), tok, TOKEN_TTL, false);
}

/* A cookie session's GET hands out the session's CSRF token when the client
 * does not hold it yet (the page's JS reads it). API clients that
 * authenticate with a Bearer header never need one. */
static void ensure_csrf_cookie(struct http_req *r, const char *jti)
{
        if (!is_safe_method(r->method) || !r->via_cookie)
                return;
        if (!csrf_token_valid(app_of(r)->jwt_key, jti, http_cookie(r, api_csrf_cookie_name(r))))
                api_set_csrf_cookie(r, jti);
}

/* A cookie-authenticated state change must come from one of the panel's own
 * pages: a same-origin Origin (every current browser sends it on a POST, PUT
 * or DELETE from fetch or a form), or Sec-Fetch-Site: same-origin. */
static bool same_origin(struct http_req *r)
{
        const char *origin = http_header(r, "Origin");
        const char *host = http_header(r, "Host");
        if (origin && host) {
                const char *scheme = r->tls ? "https://" : "http://";
                size_t sl = strlen(scheme);
                return strncmp(origin, scheme, sl) == 0 && strcmp(origin + sl, host) == 0;
        }
        if (origin)
                return false;
        const char *site = http_header(r, "Sec-Fetch-Site");
        return site && streq(site, "same-origin");
}

/* To the sign-in page, which comes back here after it (?next=, a local path
 * only: login.js checks it again). */
static void login_redirect(struct http_req *r)
{
        if (streq(r->path, "/")) {
                http_redirect(r, 303, "/login");
                return;
        }
        char loc[1024] = "/login?next=";
        size_t k = strlen(loc);
        for (const unsigned char *p = (const unsigned char *)r->path; *p && k < sizeof(loc) - 4;
             p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("/-_.~", *p))
                        loc[k++] = (char)*p;
                else
                        k += (size_t)snprintf(loc + k, 4, "%%%02X", *p);
        }
        loc[k] = '\0';
        http_redirect(r, 303, loc);
}

/* API tokens: Bearer only (never a cookie), acting as their creator; a read
 * token may only GET; your own account needs a real sign-in. */
static bool gate_api_token(struct http_req *r, const char *token)
{
        bool read_only = true;
        if (!api_token_authenticate(r, token, &read_only)) {
                http_reply_error(r, 401, "invalid or expired token");
                return false;
        }
        if (r->route->auth == ROUTE_SELF) {
                http_reply_error(r, 403, "an API token cannot use the account routes");
                return false;
        }
        if (read_only && !is_safe_method(r->method)) {
                http_reply_error(r, 403, "this API token is read-only");
                return false;
        }
        if ((r->route->auth == ROUTE_ADMIN || !is_safe_method(r->method)) &&
            !streq(r->role, "admin")) {
                http_reply_error(r, 403, "admin role required");
                return false;
        }
        return true;
}

static bool deny_unauthenticated(struct http_req *r, const char *msg)
{
        if (is_safe_method(r->method) && http_accepts_html(r) && (r->route->flags & ROUTE_PAGE)) {
                login_redirect(r);
        } else {
                http_reply_error(r, 401, msg);
        }
        return false;
}

/* before_body: the body has not been read yet (api_preauth); a form's
 * csrf_token field is then checked later, by api_gate. */
static bool csrf_ok(struct http_req *r, const char *jti, bool before_body)
{
        const char *sent = http_header(r, "X-CSRF-Token");
        if (!sent && before_body && http_is_form(r))
                return true;
        if (!sent)
                sent = http_form(r, "csrf_token");
        return csrf_token_valid(app_of(r)->jwt_key, jti, sent);
}

static bool gate(struct http_req *r, bool before_body)
{
        struct app *app = app_of(r);
        if (r->route->auth == ROUTE_PUBLIC)
                return true;

        const char *token = NULL;
        const char *authz = http_header(r, "Authorization");
        if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
                token = authz + 7;
                while (*token == ' ')
                        token++;
                if (api_token_shaped(token))
                        return gate_api_token(r, token);
        } else if ((token = http_cookie(r, TOKEN_COOKIE)) && *token) {
                r->via_cookie = true;
        } else {
                return deny_unauthenticated(r, "authentication required");
        }

        /* Tokens are re-checked against the user row on every request, so a
         * deletion, a role change, a password change or a logout is effective
         * at once; the row read is kept while the database is unchanged. The
         * generation is read before the row, so a commit in between makes
         * the stored copy stale at once. */
        struct token_claims c;
        struct session_user su;
        time_t now = time(NULL);
        uint64_t gen = db_generation(app->db);
        if (!auth_cache_get(app->auth_cache, token, gen, now, &c, &su)) {
                if (token_verify(app->jwt_key, token, now, &c) < 0)
                        return deny_unauthenticated(r, "invalid or expired token");
                int rc = users_session_check(app->db, c.user_id, c.jti, &su);
                if (rc == -ENOENT)
                        return deny_unauthenticated(r, "invalid or expired token");
                if (rc < 0) {
                        http_reply_error(r, 500, "database error");
                        return false;
                }
                auth_cache_put(app->auth_cache, token, gen, &c, &su);
        }
        if (!streq(su.username, c.username) || su.revoked || su.pw_changed != c.pwc)
                return deny_unauthenticated(r, "invalid or expired token");
        snprintf(r->role, sizeof(r->role), "%s", su.role);

        r->authenticated = true;
        r->user_id = c.user_id;
        snprintf(r->username, sizeof(r->username), "%s", c.username);
        account_session_seen(app, c.jti);

        ensure_csrf_cookie(r, c.jti);
        if (r->via_cookie && !is_safe_method(r->method)) {
                if (!same_origin(r)) {
                        http_reply_error(r, 403, "cross-origin request refused");
                        return false;
                }
                if (!csrf_ok(r, c.jti, before_body)) {
                        http_reply_error(r, 403, "CSRF token missing or invalid");
                        return false;
                }
        }
        bool needs_admin = r->route->auth == ROUTE_ADMIN ||
                           (!is_safe_method(r->method) && r->route->auth != ROUTE_SELF);
        if (needs_admin && !streq(r->role, "admin")) {
                http_reply_error(r, 403, "admin role required");
                return false;
        }
        return true;
}

bool api_gate(struct http_req *r)
{
        return gate(r, false);
}

bool api_preauth(struct http_req *r)
{
        return gate(r, true);
}

void api_after(struct http_req *r)
{
        if (is_safe_method(r->method) || !r->route)
                return;
        /* login records its own rows (it knows the attempted user name) */
        if (streq(r->route->pattern, "/login"))
                return;
        /* anonymous noise (401s) would let anyone fill the table */
        if (!r->authenticated && !streq(r->route->pattern, "/logout"))
                return;
        struct app *app = app_of(r);
        /* a logout without a valid token: counted, not a row each */
        if (!r->username[0]) {
                audit_tally_count(app->audit_tally, AUDIT_ANON_LOGOUT, r->peer);
                return;
        }
        char detail[32];
        snprintf(detail, sizeof(detail), "status=%d", r->status);
        _cleanup_strbuf_ struct strbuf action = STRBUF_INIT(1024);
        strbuf_printf(&action, "%s %s", r->method, r->path);
        if (audit_add(app->db, r->username, r->peer, action.data ? action.data : r->method,
                      detail) < 0)
                log_warn("could not write audit row for %s %s", r->method, r->path);
}
