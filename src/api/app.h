/* The application context every handler reaches through r->app. */
#pragma once

#include "core/config.h"
#include "core/ratelimit.h"
#include "core/token.h"
#include "db/audit.h"
#include "db/db.h"
#include "http/server.h"

struct app {
        struct config *cfg;
        struct db *db;
        unsigned char jwt_key[TOKEN_KEY_LEN];
        struct ratelimit *login_limit;
        struct backoff *login_backoff;   /* per-account login delay */
        struct audit_tally *audit_tally; /* anonymous requests (db/audit.h) */
        struct auth_cache *auth_cache;   /* verified tokens (api/authcache.h) */
        void *monitor;                   /* the monitor module's state */
        double started;                  /* monotonic seconds at start */
};

static inline struct app *app_of(struct http_req *r)
{
        return r->app;
}

/* The route table of every module (routes.c), malloc'd. 0 or -ENOMEM. */
int api_routes_build(struct route **out, size_t *n);
/* Start/stop the modules' background work (samplers, schedulers). */
int api_start(struct app *app);
void api_stop(struct app *app);
/* Before the http server stops: end the work requests may wait for (jobs). */
void api_drain(struct app *app);

/* Hooks installed into the http server (gate.c). */
bool api_gate(struct http_req *r);
/* The same decision from the headers alone, before the body is read: a
 * refused request is answered without reading its body. */
bool api_preauth(struct http_req *r);
/* The CSRF cookie of the session jti (NULL: clear it), and its name. */
void api_set_csrf_cookie(struct http_req *r, const char *jti);
const char *api_csrf_cookie_name(struct http_req *r);
void api_after(struct http_req *r);
