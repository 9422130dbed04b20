/* System users: GET/POST /users, DELETE /users/{name} (sys/accounts). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/util.h"
#include "sys/accounts.h"

#define PASSWD_FILE "/etc/passwd"
#define SHELLS_FILE "/etc/shells"

static void list_users(struct http_req *r)
{
        struct account *list = NULL;
        size_t n = 0;
        int rc = accounts_list(PASSWD_FILE, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not read the passwd database");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                char uid[16];
                snprintf(uid, sizeof(uid), "%u", list[i].uid);
                json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "username",
                                                     list[i].username, "uid", uid, "home_dir",
                                                     list[i].home, "shell", list[i].shell));
        }
        accounts_free(list, n);
        api_reply_json(r, 200, arr);
}

/* The login shells a new user may get (the UI's choice list). */
static void list_shells(struct http_req *r)
{
        char **list = NULL;
        size_t n = 0;
        int rc = accounts_shells(SHELLS_FILE, &list, &n);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not read /etc/shells");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_string(list[i]));
        accounts_shells_free(list, n);
        api_reply_json(r, 200, arr);
}

struct create_body {
        char *username, *password, *shell;
        bool has_username, has_password, has_shell;
};

static const struct field create_fields[] = {
    FIELD(struct create_body, FIELD_STRING, username, false, 64),
    FIELD(struct create_body, FIELD_STRING, password, false, 1024),
    FIELD(struct create_body, FIELD_STRING, shell, false, 4096),
};

static void create_body_free(struct create_body *b)
{
        fields_free(create_fields, ARRAY_SIZE(create_fields), b);
}

static void create_user(struct http_req *r)
{
        __attribute__((cleanup(create_body_free))) struct create_body b = {0};
        if (!fields_decode(r, create_fields, ARRAY_SIZE(create_fields), &b))
                return;
        if (str_empty(b.username)) {
                http_reply_error(r, 400, "username is required");
                return;
        }
        if (str_empty(b.password)) {
                http_reply_error(r, 400, "password is required");
                return;
        }
        if (!accounts_valid_name(b.username)) {
                http_reply_error(r, 400, "username must match ^[a-z_][a-z0-9_-]{0,31}$");
                return;
        }
        if (!accounts_valid_password(b.password)) {
                http_reply_errorf(r, 400, "password must be 1-%u bytes without NUL, CR, LF or ':'",
                                  ACCOUNTS_PASSWORD_MAX);
                return;
        }
        const char *shell = b.has_shell && *b.shell ? b.shell : "/bin/bash";
        if (!accounts_shell_allowed(SHELLS_FILE, shell)) {
                http_reply_error(r, 400, "shell must be listed in /etc/shells");
                return;
        }
        _cleanup_free_ char *err = NULL;
        int rc = accounts_create(b.username, b.password, shell, SHELLS_FILE, &err);
        if (rc == -EEXIST) {
                http_reply_errorf(r, 409, "user '%s' already exists", b.username);
                return;
        }
        if (rc == -EINVAL) { /* /etc/shells changed between the two checks */
                http_reply_error(r, 400, "invalid username, password or shell");
                return;
        }
        if (rc < 0) {
                http_reply_errorf(r, 500, "create user failed: %s", err ? err : strerror(-rc));
                return;
        }
        if (api_body_is_form(r)) {
                http_redirect(r, 303, "/users");
                return;
        }
        api_reply_json(r, 201, json_pack("{s:s,s:s}", "status", "created", "username", b.username));
}

static void delete_user(struct http_req *r)
{
        const char *name = http_param(r, "name");
        if (!accounts_valid_name(name)) {
                http_reply_error(r, 400, "username must match ^[a-z_][a-z0-9_-]{0,31}$");
                return;
        }
        bool home_kept = false;
        _cleanup_free_ char *err = NULL;
        int rc = accounts_delete(name, &home_kept, &err);
        switch (rc) {
        case 0:
                break;
        case -EPERM:
                http_reply_errorf(r, 403,
                                  "cannot delete system account '%s' (root, autarch and UIDs "
                                  "below %u are protected)",
                                  name, ACCOUNTS_UID_MIN);
                return;
        case -ENOENT:
                http_reply_errorf(r, 404, "user '%s' does not exist", name);
                return;
        default:
                http_reply_errorf(r, 500, "delete user failed: %s", err ? err : strerror(-rc));
                return;
        }
        json_t *j = json_pack("{s:s}", "status", "deleted");
        if (home_kept)
                json_object_set_new(j, "warning",
                                    json_string(err ? err : "home directory was not removed"));
        api_reply_json(r, 200, j);
}

static const struct route routes[] = {
    {"GET", "/users", list_users, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"GET", "/api/users/shells", list_shells, ROUTE_USER, 0, NULL},
    {"POST", "/users", create_user, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/users/{name}", delete_user, ROUTE_ADMIN, ROUTE_WORKER, NULL},
};

const struct api_module sysusers_module = {"sysusers", routes, ARRAY_SIZE(routes), NULL, NULL};
