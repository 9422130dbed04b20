/* GET /api/account, PUT /api/account/password, GET/DELETE
 * /api/account/sessions[/{id}], POST /api/account/2fa/setup and /enable,
 * DELETE /api/account/2fa. Every route acts on the caller's own account only
 * (ROUTE_SELF: viewers too); an API token cannot use them (gate.c). */
#include "api/account.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "core/password.h"
#include "core/qrsvg.h"
#include "core/totp.h"
#include "db/account.h"
#include "db/audit.h"
#include "db/users.h"

#define PASSWORD_MIN_CHARS 12
#define RECOVERY_CODES     10
#define SEEN_SLOTS         256
#define SEEN_EVERY         60 /* seconds */

/* ---- last_seen_at, cheaply ---- */

static struct {
        pthread_mutex_t lock;
        struct {
                char jti[33];
                time_t at;
        } slot[SEEN_SLOTS];
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static unsigned slot_of(const char *jti)
{
        unsigned h = 2166136261u;
        for (const char *p = jti; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
        return h % SEEN_SLOTS;
}

void account_session_seen(struct app *app, const char *jti)
{
        if (!jti || !*jti)
                return;
        time_t now = (time_t)time_monotonic();
        unsigned i = slot_of(jti);
        pthread_mutex_lock(&seen.lock);
        bool fresh = streq(seen.slot[i].jti, jti) && now - seen.slot[i].at < SEEN_EVERY;
        if (!fresh) {
                snprintf(seen.slot[i].jti, sizeof(seen.slot[i].jti), "%s", jti);
                seen.slot[i].at = now;
        }
        pthread_mutex_unlock(&seen.lock);
        if (!fresh && sessions_touch(app->db, jti) < 0)
                log_warn("could not record the last use of a session");
}

void account_session_record(struct http_req *r, long long user_id, long long pwc, const char *jti,
                            long long exp)
{
        struct app *app = app_of(r);
        const char *ua = http_header(r, "User-Agent");
        char agent[256];
        snprintf(agent, sizeof(agent), "%s", ua ? ua : "");
        /* stored text is shown later: keep it printable ASCII */
        for (char *p = agent; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                        *p = '?';
        if (sessions_add(app->db, jti, user_id, pwc, r->peer, agent, exp) < 0)
                log_warn("could not record the session of user %lld", user_id);
}

/* ---- helpers ---- */

/* The jti of the token this request came with (cookie or Bearer). */
static bool current_jti(struct http_req *r, char jti[33])
{
        const char *tok = NULL, *authz = http_header(r, "Authorization");
        if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
                tok = authz + 7;
                while (*tok == ' ')
                        tok++;
        } else {
                tok = http_cookie(r, "setec_token");
        }
        struct token_claims c;
        if (!tok || token_verify(app_of(r)->jwt_key, tok, time(NULL), &c) < 0)
                return false;
        snprintf(jti, 33, "%s", c.jti);
        return true;
}

static size_t utf8_chars(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        n++;
        return n;
}

const char *account_password_problem(const char *username, const char *pw)
{
        if (!pw || !valid_password(pw))
                return "new_password must be 1-1024 bytes without NUL, CR or LF";
        if (utf8_chars(pw) < PASSWORD_MIN_CHARS)
                return "new_password must have at least 12 characters";
        if (username && strcasecmp(pw, username) == 0)
                return "new_password must not be the username";
        return NULL;
}

static void sha256_hex(const char *s, char out[65])
{
        unsigned char d[32];
        gnutls_hash_fast(GNUTLS_DIG_SHA256, s, strlen(s), d);
        for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Recovery codes are compared without case, spaces or dashes. */
static void recovery_hash(const char *code, char out[65])
{
        char norm[64];
        size_t k = 0;
        for (const char *p = code; *p && k < sizeof(norm) - 1; p++)
                if (isalnum((unsigned char)*p))
                        norm[k++] = (char)tolower((unsigned char)*p);
        norm[k] = '\0';
        char salted[96];
        snprintf(salted, sizeof(salted), "setec-recovery:%s", norm);
        sha256_hex(salted, out);
}

static int secret_key(const char *b32, unsigned char key[64], size_t *len)
{
        int n = base32_decode(b32, key, 64);
        if (n <= 0)
                return -EINVAL;
        *len = (size_t)n;
        return 0;
}

/* Guesses of the password of a signed-in account are limited per account
 * (the sign-in budget of the address is left alone). */
static const char *limit_key(struct http_req *r, char key[40])
{
        snprintf(key, 40, "account:%lld", r->user_id);
        return key;
}

/* ---- GET /api/account ---- */

static void get_account(struct http_req *r)
{
        struct app *app = app_of(r);
        struct panel_user u = {0};
        int rc = users_get_by_id(app->db, r->user_id, &u);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                return;
        }
        struct totp_state t = {0};
        totp_state_get(app->db, u.id, &t);
        long long left = t.enabled ? totp_recovery_left(app->db, u.id) : 0;
        api_reply_json(r, 200,
                       json_pack("{s:I,s:s,s:s,s:b,s:s,s:I}", "id", (json_int_t)u.id, "username",
                                 u.username, "role", u.role, "totp_enabled", t.enabled,
                                 "created_at", u.created_at, "recovery_codes_left",
                                 (json_int_t)(left > 0 ? left : 0)));
        panel_user_clear(&u);
}

/* ---- PUT /api/account/password ---- */

struct pw_body {
        char *current_password, *new_password;
        bool has_current_password, has_new_password;
};
static const struct field pw_fields[] = {
    FIELD(struct pw_body, FIELD_STRING, current_password, false, 1024),
    FIELD(struct pw_body, FIELD_STRING, new_password, false, 1024),
};

static void change_password(struct http_req *r)
{
        struct app *app = app_of(r);
        struct pw_body b = {0};
        if (!fields_decode(r, pw_fields, ARRAY_SIZE(pw_fields), &b))
                return;
        struct panel_user u = {0};
        _cleanup_free_ char *hash = NULL, *tok = NULL;
        if (str_empty(b.current_password)) {
                http_reply_error(r, 400, "current_password is required");
                goto out;
        }
        if (str_empty(b.new_password)) {
                http_reply_error(r, 400, "new_password is required");
                goto out;
        }
        int rc = users_get_by_id(app->db, r->user_id, &u);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                goto out;
        }
        const char *problem = account_password_problem(u.username, b.new_password);
        if (problem) {
                http_reply_error(r, 400, problem);
                goto out;
        }
        /* guessing the current password is limited like logins */
        unsigned retry = 0;
        char key[40];
        if (!ratelimit_hit(app->login_limit, limit_key(r, key), time_monotonic(), &retry)) {
                http_reply_errorf(r, 429, "too many attempts, try again in %u seconds", retry);
                goto out;
        }
        if (!password_verify(b.current_password, u.password_hash)) {
                http_reply_error(r, 403, "current_password is wrong");
                goto out;
        }
        if (!(hash = password_hash(b.new_password))) {
                http_reply_error(r, 500, "could not hash password");
                goto out;
        }
        /* a new password generation ends every session, this one included;
         * this client gets a new token at once */
        if ((rc = users_update(app->db, u.id, hash, NULL)) < 0) {
                api_reply_errno(r, rc, "could not update password");
                goto out;
        }
        struct panel_user nu = {0};
        char new_jti[33] = "";
        if (users_get_by_id(app->db, u.id, &nu) == 0) {
                struct token_claims c;
                tok = token_issue(app->jwt_key, nu.id, nu.username, nu.role, nu.pw_changed,
                                  time(NULL), &c);
                if (tok) {
                        account_session_record(r, nu.id, nu.pw_changed, c.jti, c.exp);
                        snprintf(new_jti, sizeof(new_jti), "%s", c.jti);
                }
                panel_user_clear(&nu);
        }
        if (tok && r->via_cookie) {
                http_set_cookie(r, "setec_token", tok, TOKEN_TTL, true);
                /* the CSRF token is bound to the session's token id */
                api_set_csrf_cookie(r, new_jti);
        }
        if (tok && !r->via_cookie)
                api_reply_json(r, 200, json_pack("{s:s,s:s}", "status", "updated", "token", tok));
        else
                api_reply_status(r, 200, "updated");
out:
        panel_user_clear(&u);
        fields_free(pw_fields, ARRAY_SIZE(pw_fields), &b);
}

/* ---- sessions ---- */

static void list_sessions(struct http_req *r)
{
        struct session_row *list = NULL;
        size_t n = 0;
        int rc = sessions_list(app_of(r)->db, r->user_id, time(NULL), &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list sessions");
                return;
        }
        char jti[33] = "";
        current_jti(r, jti);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    arr, json_pack("{s:I,s:s?,s:s?,s:s,s:s,s:b}", "id", (json_int_t)list[i].id,
                                   "client_ip", list[i].client_ip, "user_agent", list[i].user_agent,
                                   "created_at", list[i].created_at, "last_seen_at",
                                   list[i].last_seen_at, "current", streq(list[i].jti, jti)));
        sessions_list_free(list, n);
        api_reply_json(r, 200, arr);
}

static void end_session(struct http_req *r)
{
        long long id;
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), &id) < 0) {
                http_reply_error(r, 400, "invalid id");
                return;
        }
        int rc = sessions_end(app_of(r)->db, r->user_id, id, NULL);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "session not found" : NULL);
                return;
        }
        api_reply_status(r, 200, "deleted");
}

/* DELETE /api/account/sessions: every session but this one */
static void end_other_sessions(struct http_req *r)
{
        struct db *db = app_of(r)->db;
        struct session_row *list = NULL;
        size_t n = 0;
        int rc = sessions_list(db, r->user_id, time(NULL), &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list sessions");
                return;
        }
        char jti[33] = "";
        current_jti(r, jti);
        long long ended = 0;
        for (size_t i = 0; i < n && rc >= 0; i++) {
                if (streq(list[i].jti, jti))
                        continue;
                rc = sessions_end(db, r->user_id, list[i].id, NULL);
                if (rc == 0)
                        ended++;
                else if (rc == -ENOENT)
                        rc = 0;
        }
        sessions_list_free(list, n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not end sessions");
                return;
        }
        api_reply_json(r, 200,
                       json_pack("{s:s,s:I}", "status", "deleted", "ended", (json_int_t)ended));
}

/* ---- 2FA ---- */

static json_t *uri_escaped(const char *s)
{
        char out[256];
        size_t k = 0;
        for (const char *p = s; *p && k < sizeof(out) - 4; p++) {
                unsigned char c = (unsigned char)*p;
                if (isalnum(c) || c == '-' || c == '_' || c == '.')
                        out[k++] = (char)c;
                else
                        k += (size_t)snprintf(out + k, 4, "%%%02X", c);
        }
        out[k] = '\0';
        return json_string(out);
}

static void totp_setup(struct http_req *r)
{
        struct app *app = app_of(r);
        struct totp_state t = {0};
        int rc = totp_state_get(app->db, r->user_id, &t);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                return;
        }
        if (t.enabled) {
                http_reply_error(r, 409, "two-factor login is already on; turn it off first");
                return;
        }
        char secret[TOTP_SECRET_B32];
        if (totp_secret_new(secret) < 0 || totp_set_pending(app->db, r->user_id, secret) < 0) {
                http_reply_error(r, 500, "could not make a secret");
                return;
        }
        _cleanup_json_ json_t *user = uri_escaped(r->username);
        char uri[512];
        snprintf(uri, sizeof(uri),
                 "otpauth://totp/Setec%%20Manager:%s?secret=%s&issuer=Setec%%20Manager"
                 "&algorithm=SHA1&digits=6&period=30",
                 json_string_value(user), secret);
        _cleanup_free_ char *svg = qr_svg(uri);
        if (!svg) {
                http_reply_errorf(r, 500, "could not draw the QR code: %s", strerror(errno));
                return;
        }
        api_reply_json(
            r, 200,
            json_pack("{s:s,s:s,s:s}", "secret", secret, "otpauth_uri", uri, "qr_svg", svg));
}

struct code_body {
        char *code, *password;
        bool has_code, has_password;
};
static const struct field code_fields[] = {
    FIELD(struct code_body, FIELD_STRING, code, false, 64),
    FIELD(struct code_body, FIELD_STRING, password, false, 1024),
};

static void totp_enable_route(struct http_req *r)
{
        struct app *app = app_of(r);
        struct code_body b = {0};
        if (!fields_decode(r, code_fields, ARRAY_SIZE(code_fields), &b))
                return;
        struct totp_state t = {0};
        unsigned char key[64];
        size_t keylen = 0;
        uint64_t step = 0;
        char codes[RECOVERY_CODES][16], hashes[RECOVERY_CODES][65];
        const char *hp[RECOVERY_CODES];
        int rc = totp_state_get(app->db, r->user_id, &t);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                goto out;
        }
        if (t.enabled) {
                http_reply_error(r, 409, "two-factor login is already on");
                goto out;
        }
        if (!*t.pending || secret_key(t.pending, key, &keylen) < 0) {
                http_reply_error(r, 409, "no secret set up: POST /api/account/2fa/setup first");
                goto out;
        }
        if (str_empty(b.code)) {
                http_reply_error(r, 400, "code is required");
                goto out;
        }
        if (!totp_check(key, keylen, b.code, time(NULL), 0, &step)) {
                http_reply_error(r, 400, "code is not the authenticator's current code");
                goto out;
        }
        static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
        for (int i = 0; i < RECOVERY_CODES; i++) {
                unsigned char rnd[10];
                if (rand_bytes(rnd, sizeof(rnd)) < 0) {
                        http_reply_error(r, 500, "no randomness");
                        goto out;
                }
                /* xxxxx-xxxxx: 10 of 31 symbols, about 49 bits */
                int k = 0;
                for (int j = 0; j < 10; j++) {
                        if (j == 5)
                                codes[i][k++] = '-';
                        codes[i][k++] = alphabet[rnd[j] % (sizeof(alphabet) - 1)];
                }
                codes[i][k] = '\0';
                recovery_hash(codes[i], hashes[i]);
                hp[i] = hashes[i];
        }
        rc = totp_enable(app->db, r->user_id, t.pending, (long long)step, hp, RECOVERY_CODES);
        if (rc == -ESTALE) {
                http_reply_error(r, 409, "the secret changed meanwhile: set up again");
                goto out;
        }
        if (rc < 0) {
                api_reply_errno(r, rc, "could not turn on two-factor login");
                goto out;
        }
        json_t *arr = json_array();
        for (int i = 0; i < RECOVERY_CODES; i++)
                json_array_append_new(arr, json_string(codes[i]));
        api_reply_json(r, 200, json_pack("{s:o}", "recovery_codes", arr));
out:
        explicit_bzero(key, sizeof(key));
        fields_free(code_fields, ARRAY_SIZE(code_fields), &b);
}

/* A TOTP code (each once) or a recovery code (each once) of an enabled user. */
static bool second_factor_ok(struct app *app, long long user_id, const struct totp_state *t,
                             const char *otp, const char *recovery)
{
        if (!str_empty(otp)) {
                unsigned char key[64];
                size_t keylen;
                uint64_t step = 0;
                bool ok = secret_key(t->secret, key, &keylen) == 0 &&
                          totp_check(key, keylen, otp, time(NULL), (uint64_t)t->last_step, &step) &&
                          totp_use_step(app->db, user_id, (long long)step) == 0;
                explicit_bzero(key, sizeof(key));
                return ok;
        }
        if (!str_empty(recovery)) {
                char h[65];
                recovery_hash(recovery, h);
                return totp_use_recovery(app->db, user_id, h) == 0;
        }
        return false;
}

static void totp_disable_route(struct http_req *r)
{
        struct app *app = app_of(r);
        struct code_body b = {0};
        if (!fields_decode(r, code_fields, ARRAY_SIZE(code_fields), &b))
                return;
        struct panel_user u = {0};
        struct totp_state t = {0};
        int rc = users_get_by_id(app->db, r->user_id, &u);
        if (rc == 0)
                rc = totp_state_get(app->db, r->user_id, &t);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                goto out;
        }
        if (!t.enabled) {
                http_reply_error(r, 409, "two-factor login is not on");
                goto out;
        }
        if (str_empty(b.password) || str_empty(b.code)) {
                http_reply_error(
                    r, 400, str_empty(b.password) ? "password is required" : "code is required");
                goto out;
        }
        unsigned retry = 0;
        char key[40];
        if (!ratelimit_hit(app->login_limit, limit_key(r, key), time_monotonic(), &retry)) {
                http_reply_errorf(r, 429, "too many attempts, try again in %u seconds", retry);
                goto out;
        }
        if (!password_verify(b.password, u.password_hash)) {
                http_reply_error(r, 403, "password is wrong");
                goto out;
        }
        /* the code may be a TOTP code or a recovery code */
        bool digits = strspn(b.code, "0123456789") == strlen(b.code);
        if (!second_factor_ok(app, u.id, &t, digits ? b.code : NULL, digits ? NULL : b.code)) {
                http_reply_error(r, 400, "code is not a current one-time or recovery code");
                goto out;
        }
        if ((rc = totp_disable(app->db, u.id)) < 0) {
                api_reply_errno(r, rc, "could not turn off two-factor login");
                goto out;
        }
        api_reply_status(r, 200, "disabled");
out:
        panel_user_clear(&u);
        fields_free(code_fields, ARRAY_SIZE(code_fields), &b);
}

bool account_login_second_factor(struct http_req *r, const struct panel_user *u, const char *otp,
                                 const char *recovery_code)
{
        struct app *app = app_of(r);
        struct totp_state t = {0};
        int rc = totp_state_get(app->db, u->id, &t);
        if (rc < 0) {
                http_reply_error(r, 500, "database error");
                return false;
        }
        if (!t.enabled)
                return true;
        const char *msg = NULL;
        if (str_empty(otp) && str_empty(recovery_code))
                msg = "one-time code required";
        else if (!second_factor_ok(app, u->id, &t, otp, recovery_code))
                msg = "invalid one-time code";
        if (!msg)
                return true;
        if (!streq(msg, "one-time code required"))
                audit_add(app->db, u->username, r->peer, "login failed (one-time code)", NULL);
        api_reply_json(r, 401, json_pack("{s:s,s:b}", "error", msg, "otp_required", true));
        return false;
}

static const struct route account_routes[] = {
    {"GET", "/api/account", get_account, ROUTE_SELF, 0, NULL},
    {"PUT", "/api/account/password", change_password, ROUTE_SELF, ROUTE_WORKER, NULL},
    {"GET", "/api/account/sessions", list_sessions, ROUTE_SELF, 0, NULL},
    {"DELETE", "/api/account/sessions", end_other_sessions, ROUTE_SELF, 0, NULL},
    {"DELETE", "/api/account/sessions/{id}", end_session, ROUTE_SELF, 0, NULL},
    {"POST", "/api/account/2fa/setup", totp_setup, ROUTE_SELF, ROUTE_WORKER, NULL},
    {"POST", "/api/account/2fa/enable", totp_enable_route, ROUTE_SELF, 0, NULL},
    {"DELETE", "/api/account/2fa", totp_disable_route, ROUTE_SELF, ROUTE_WORKER, NULL},
    {"GET", "/account", get_account, ROUTE_SELF, ROUTE_PAGE, "/app.html"},
};

const struct api_module account_module = {"account", account_routes, ARRAY_SIZE(account_routes),
                                          NULL, NULL};
