/* A resource of the API: its routes plus optional start/stop hooks (for
 * background work such as the monitor's sampler). routes.c lists them all. */
#pragma once

#include <stddef.h>

#include "http/server.h"

struct app;

struct api_module {
        const char *name;
        const struct route *routes;
        size_t nroutes;
        int (*start)(struct app *app); /* may be NULL; 0 or -errno */
        void (*stop)(struct app *app); /* may be NULL */
};

extern const struct api_module monitor_module, logs_module, firewall_module, sysusers_module,
    backups_module, sites_module, nginx_module, ssl_module, sched_module, hosting_module;
