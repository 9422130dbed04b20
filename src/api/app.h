/* The application context every handler reaches through r->app. */
#pragma once

#include "core/config.h"
#include "core/ratelimit.h"
#include "core/token.h"
#include "db/db.h"
#include "http/server.h"

struct app {
        struct config *cfg;
        struct db *db;
        unsigned char jwt_key[TOKEN_KEY_LEN];
        struct ratelimit *login_limit;
        char *dummy_hash; /* hashed at start: verified against for unknown users */
        double started;   /* monotonic seconds at start */
};

static inline struct app *app_of(struct http_req *r)
{
        return r->app;
}

/* The route table (routes.c). */
extern const struct route api_routes[];
extern const size_t api_routes_count;

/* Hooks installed into the http server (gate.c). */
bool api_gate(struct http_req *r);
void api_after(struct http_req *r);
