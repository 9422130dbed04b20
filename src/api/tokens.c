/* GET/POST /api/tokens, DELETE /api/tokens/{id} (admin), and the check of an
 * API token for the gate. */
#include "api/tokens.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "api/json.h"
#include "api/listq.h"
#include "api/module.h"
#include "base/log.h"
#include "base/rand.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "db/account.h"

#define TOKEN_HEX       64 /* 32 random bytes */
#define TOUCH_EVERY     60 /* seconds between last_used writes */
#define MAX_EXPIRY_DAYS 3650

static void sha256_hex(const char *s, char out[65])
{
        unsigned char d[32];
        gnutls_hash_fast(GNUTLS_DIG_SHA256, s, strlen(s), d);
        for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

bool api_token_shaped(const char *token)
{
        size_t pl = strlen(API_TOKEN_PREFIX);
        if (!token || strncmp(token, API_TOKEN_PREFIX, pl) != 0 || strlen(token) != pl + TOKEN_HEX)
                return false;
        return strspn(token + pl, "0123456789abcdef") == TOKEN_HEX;
}

bool api_token_authenticate(struct http_req *r, const char *token, bool *read_only)
{
        struct app *app = app_of(r);
        if (!api_token_shaped(token))
                return false;
        char h[65];
        sha256_hex(token, h);
        struct token_auth t;
        if (apitokens_lookup(app->db, h, &t) < 0)
                return false;
        long long now = (long long)time(NULL);
        if (t.expires <= now)
                return false;
        if (now - t.last_used >= TOUCH_EVERY && apitokens_touch(app->db, t.id, now) < 0)
                log_warn("could not record the use of API token %lld", t.id);
        r->authenticated = true;
        r->user_id = t.user_id;
        snprintf(r->username, sizeof(r->username), "%s", t.username);
        snprintf(r->role, sizeof(r->role), "%s", t.role);
        *read_only = !streq(t.scope, "admin");
        return true;
}

static json_t *time_json(long long t)
{
        if (t <= 0)
                return json_null();
        char buf[TIME_RFC3339_LEN];
        time_format_rfc3339((time_t)t, buf);
        return json_string(buf);
}

static void list_tokens(struct http_req *r)
{
        struct api_token *list = NULL;
        size_t n = 0;
        int rc = apitokens_list(app_of(r)->db, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list API tokens");
                return;
        }
        long long now = (long long)time(NULL);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    arr,
                    json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:b}", "id", (json_int_t)list[i].id,
                              "name", list[i].name, "scope", list[i].scope, "created_by",
                              list[i].username, "created_at", list[i].created_at, "expires_at",
                              time_json(list[i].expires), "last_used_at",
                              time_json(list[i].last_used), "expired", list[i].expires <= now));
        apitokens_list_free(list, n);
        list_reply(r, arr, (const char *const[]){"name", "scope", "created_by", NULL}, NULL);
}

struct token_body {
        char *name, *scope;
        long long expires_in_days;
        bool has_name, has_scope, has_expires_in_days;
};
static const struct field token_fields[] = {
    FIELD(struct token_body, FIELD_STRING, name, false, 64),
    FIELD(struct token_body, FIELD_STRING, scope, false, 16),
    FIELD(struct token_body, FIELD_INT, expires_in_days, false, 0),
};

static bool printable_name(const char *s)
{
        if (str_empty(s))
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static void create_token(struct http_req *r)
{
        struct app *app = app_of(r);
        struct token_body b = {0};
        if (!fields_decode(r, token_fields, ARRAY_SIZE(token_fields), &b))
                return;
        char tok[sizeof(API_TOKEN_PREFIX) + TOKEN_HEX], hex[TOKEN_HEX + 1], h[65];
        if (!printable_name(b.name)) {
                http_reply_error(r, 400, "name is required (1-64 printable characters)");
                goto out;
        }
        if (!b.has_scope || (!streq(b.scope, "read") && !streq(b.scope, "admin"))) {
                http_reply_error(r, 400, "scope must be read or admin");
                goto out;
        }
        long long days = b.has_expires_in_days ? b.expires_in_days : 90;
        if (days < 1 || days > MAX_EXPIRY_DAYS) {
                http_reply_errorf(r, 400, "expires_in_days must be between 1 and %d",
                                  MAX_EXPIRY_DAYS);
                goto out;
        }
        if (rand_hex(hex, TOKEN_HEX / 2) < 0) {
                http_reply_error(r, 500, "no randomness");
                goto out;
        }
        snprintf(tok, sizeof(tok), "%s%s", API_TOKEN_PREFIX, hex);
        sha256_hex(tok, h);
        long long expires = (long long)time(NULL) + days * 86400;
        long long id = apitokens_create(app->db, r->user_id, b.name, b.scope, h, expires);
        if (id < 0) {
                api_reply_errno(r, (int)id, "could not create the token");
                goto out;
        }
        api_reply_json(r, 201,
                       json_pack("{s:I,s:s,s:s,s:o,s:s}", "id", (json_int_t)id, "name", b.name,
                                 "scope", b.scope, "expires_at", time_json(expires), "token", tok));
out:
        explicit_bzero(tok, sizeof(tok));
        fields_free(token_fields, ARRAY_SIZE(token_fields), &b);
}

static void delete_token(struct http_req *r)
{
        long long id;
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), &id) < 0) {
                http_reply_error(r, 400, "invalid id");
                return;
        }
        int rc = apitokens_delete(app_of(r)->db, id);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "token not found" : NULL);
                return;
        }
        api_reply_status(r, 200, "deleted");
}

static const struct route token_routes[] = {
    {"GET", "/api/tokens", list_tokens, ROUTE_ADMIN, 0, NULL},
    {"POST", "/api/tokens", create_token, ROUTE_ADMIN, 0, NULL},
    {"DELETE", "/api/tokens/{id}", delete_token, ROUTE_ADMIN, 0, NULL},
    {"GET", "/tokens", list_tokens, ROUTE_ADMIN, ROUTE_PAGE, "/app.html"},
};

const struct api_module tokens_module = {"tokens", token_routes, ARRAY_SIZE(token_routes), NULL,
                                         NULL};
