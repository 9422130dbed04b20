/* The route table: every route declares its authentication and role.
 * ROUTE_USER: any panel user may GET; every other method needs admin. */
#include "api/app.h"
#include "api/routes.h"
#include "base/util.h"

#define PAGE(path, fn)                                                                             \
        {                                                                                          \
                "GET", path, fn, ROUTE_USER, ROUTE_PAGE, "/app.html"                               \
        }

const struct route api_routes[] = {
    /* public */
    {"GET", "/login", api_login_page, ROUTE_PUBLIC, 0, NULL},
    {"POST", "/login", api_login, ROUTE_PUBLIC, ROUTE_WORKER, NULL},
    {"POST", "/logout", api_logout, ROUTE_PUBLIC, 0, NULL},

    /* dashboard and auth */
    PAGE("/", api_dashboard),
    {"GET", "/api/system/info", api_system_info, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/auth/status", api_auth_status, ROUTE_USER, 0, NULL},

    /* panel users (hashing blocks: worker pool) */
    PAGE("/panel/users", api_panel_users_list),
    {"POST", "/panel/users", api_panel_users_create, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"PUT", "/panel/users/{id}", api_panel_users_update, ROUTE_ADMIN, ROUTE_WORKER, NULL},
    {"DELETE", "/panel/users/{id}", api_panel_users_delete, ROUTE_ADMIN, 0, NULL},

    /* pages of areas whose API comes in later issues */
    PAGE("/sites", api_not_yet),
    PAGE("/sites/new", api_not_yet),
    PAGE("/sites/{id}", api_not_yet),
    PAGE("/autarch", api_not_yet),
    PAGE("/ssl", api_not_yet),
    PAGE("/nginx", api_not_yet),
    PAGE("/firewall", api_not_yet),
    PAGE("/users", api_not_yet),
    PAGE("/backups", api_not_yet),
    PAGE("/hosting", api_not_yet),
    PAGE("/monitor", api_not_yet),
    PAGE("/logs", api_not_yet),
    PAGE("/float/sessions", api_not_yet),
};

const size_t api_routes_count = ARRAY_SIZE(api_routes);
