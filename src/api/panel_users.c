/* Panel accounts: GET/POST /panel/users, PUT/DELETE /panel/users/{id} */
#include <errno.h>
#include <string.h>

#include "api/app.h"
#include "api/json.h"
#include "api/listq.h"
#include "api/routes.h"
#include "base/util.h"
#include "base/validate.h"
#include "core/password.h"
#include "db/users.h"

static bool valid_role(const char *role)
{
        return streq(role, "admin") || streq(role, "viewer");
}

static json_t *user_json(const struct panel_user *u)
{
        return json_pack("{s:I,s:s,s:s,s:b,s:s?,s:s?}", "id", (json_int_t)u->id, "username",
                         u->username, "role", u->role, "force_change", u->force_change,
                         "last_login", u->last_login, "created_at", u->created_at);
}

static bool id_param(struct http_req *r, long long *id)
{
        if (parse_int64(http_param(r, "id"), 1, (1LL << 53), id) < 0) {
                http_reply_error(r, 400, "invalid id");
                return false;
        }
        return true;
}

void api_panel_users_list(struct http_req *r)
{
        struct panel_user *list = NULL;
        size_t n = 0;
        int rc = users_list(app_of(r)->db, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not list users");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, user_json(&list[i]));
        users_list_free(list, n);
        list_reply(r, arr, (const char *const[]){"username", NULL}, NULL);
}

struct user_body {
        char *username, *password, *role;
        bool has_username, has_password, has_role;
};

static const struct field user_fields[] = {
    FIELD(struct user_body, FIELD_STRING, username, false, 64),
    FIELD(struct user_body, FIELD_STRING, password, false, 1024),
    FIELD(struct user_body, FIELD_STRING, role, false, 16),
};

static void user_body_free(struct user_body *b)
{
        fields_free(user_fields, ARRAY_SIZE(user_fields), b);
}

static bool check_password(struct http_req *r, const char *pw)
{
        if (!valid_password(pw)) {
                http_reply_error(r, 400, "password must be 1-1024 bytes without NUL, CR or LF");
                return false;
        }
        return true;
}

void api_panel_users_create(struct http_req *r)
{
        __attribute__((cleanup(user_body_free))) struct user_body b = {0};
        if (!fields_decode(r, user_fields, ARRAY_SIZE(user_fields), &b))
                return;
        if (str_empty(b.username) || str_empty(b.password)) {
                http_reply_error(r, 400,
                                 str_empty(b.username) ? "username is required"
                                                       : "password is required");
                return;
        }
        if (!valid_username(b.username)) {
                http_reply_error(r, 400, "username must match ^[a-z_][a-z0-9_-]{0,31}$");
                return;
        }
        if (!check_password(r, b.password))
                return;
        const char *role = b.has_role && *b.role ? b.role : "admin";
        if (!valid_role(role)) {
                http_reply_error(r, 400, "role must be admin or viewer");
                return;
        }
        _cleanup_free_ char *hash = password_hash(b.password);
        if (!hash) {
                http_reply_error(r, 500, "could not hash password");
                return;
        }
        long long id = users_create(app_of(r)->db, b.username, hash, role);
        if (id == -EEXIST) {
                http_reply_errorf(r, 409, "user '%s' already exists", b.username);
                return;
        }
        if (id < 0) {
                api_reply_errno(r, (int)id, "could not create user");
                return;
        }
        if (api_body_is_form(r)) {
                http_redirect(r, 303, "/users");
                return;
        }
        api_reply_json(r, 201,
                       json_pack("{s:I,s:s}", "id", (json_int_t)id, "username", b.username));
}

void api_panel_users_update(struct http_req *r)
{
        long long id;
        if (!id_param(r, &id))
                return;
        __attribute__((cleanup(user_body_free))) struct user_body b = {0};
        if (!fields_decode(r, user_fields, ARRAY_SIZE(user_fields), &b))
                return;
        if (b.has_password && !check_password(r, b.password))
                return;
        if (b.has_role && !valid_role(b.role)) {
                http_reply_error(r, 400, "role must be admin or viewer");
                return;
        }
        if (b.has_username) {
                http_reply_error(r, 400, "username cannot be changed");
                return;
        }
        struct db *db = app_of(r)->db;
        int rc;
        if (b.has_role && !streq(b.role, "admin")) {
                rc = users_delete_or_demote_guarded(db, id, b.role);
                if (rc == -EBUSY) {
                        http_reply_error(r, 409, "cannot demote the last admin");
                        return;
                }
                if (rc < 0) {
                        api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                        return;
                }
        }
        _cleanup_free_ char *hash = NULL;
        if (b.has_password && !(hash = password_hash(b.password))) {
                http_reply_error(r, 500, "could not hash password");
                return;
        }
        const char *role = b.has_role && streq(b.role, "admin") ? "admin" : NULL;
        rc = users_update(db, id, hash, role);
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                return;
        }
        if (api_body_is_form(r)) {
                http_redirect(r, 303, "/users");
                return;
        }
        api_reply_status(r, 200, "updated");
}

void api_panel_users_delete(struct http_req *r)
{
        long long id;
        if (!id_param(r, &id))
                return;
        int rc = users_delete_or_demote_guarded(app_of(r)->db, id, NULL);
        if (rc == -EBUSY) {
                http_reply_error(r, 409, "cannot delete the last admin");
                return;
        }
        if (rc < 0) {
                api_reply_errno(r, rc, rc == -ENOENT ? "user not found" : NULL);
                return;
        }
        api_reply_status(r, 200, "deleted");
}
