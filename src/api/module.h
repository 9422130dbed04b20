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

extern const struct api_module jobs_module, monitor_module, logs_module, firewall_module,
    sysusers_module, backups_module, sites_module, nginx_module, ssl_module, sched_module,
    hosting_module, float_module, autarch_module;

/* Cancel every job and stop the job engine (api/jobs.c); before the http
 * server stops, so no reply waits for a job then. */
void api_jobs_drain(void);
/* issue 15: your account, API tokens, the audit trail */
extern const struct api_module account_module, tokens_module, audit_module;
