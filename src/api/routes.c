/* The route table: every route declares its authentication and role.
 * ROUTE_USER: any panel user may GET; every other method needs admin. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/module.h"
#include "api/routes.h"
#include "base/log.h"
#include "base/util.h"

#define PAGE(path, fn)                                                                             \
        {                                                                                          \
                "GET", path, fn, ROUTE_USER, ROUTE_PAGE, "/app.html"                               \
        }

static const struct route core_routes[] = {
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
};

static const struct api_module core_module = {"core", core_routes, ARRAY_SIZE(core_routes), NULL,
                                              NULL};

/* Resource modules come before the core table: where both list a path, the
 * module's route wins. */
static const struct api_module *const modules[] = {
    &jobs_module,    &monitor_module, &logs_module,    &firewall_module, &sysusers_module,
    &backups_module, &sites_module,   &nginx_module,   &ssl_module,      &sched_module,
    &hosting_module, &float_module,   &autarch_module, &account_module,  &tokens_module,
    &audit_module,   &core_module,
};

int api_routes_build(struct route **out, size_t *n)
{
        size_t total = 0;
        for (size_t i = 0; i < ARRAY_SIZE(modules); i++)
                total += modules[i]->nroutes;
        struct route *all = calloc(total, sizeof(*all));
        if (!all)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < ARRAY_SIZE(modules); i++)
                for (size_t j = 0; j < modules[i]->nroutes; j++)
                        all[k++] = modules[i]->routes[j];
        *out = all;
        *n = total;
        return 0;
}

int api_start(struct app *app)
{
        for (size_t i = 0; i < ARRAY_SIZE(modules); i++) {
                if (!modules[i]->start)
                        continue;
                int r = modules[i]->start(app);
                if (r < 0) {
                        log_error("cannot start %s: %s", modules[i]->name, strerror(-r));
                        while (i-- > 0)
                                if (modules[i]->stop)
                                        modules[i]->stop(app);
                        return r;
                }
        }
        return 0;
}

void api_drain(struct app *app)
{
        (void)app;
        api_jobs_drain();
}

void api_stop(struct app *app)
{
        for (size_t i = ARRAY_SIZE(modules); i-- > 0;)
                if (modules[i]->stop)
                        modules[i]->stop(app);
}
