/* Matching a request path against the route table. */
#pragma once

#include "http/server.h"

enum route_match {
        MATCH_NONE = 0,   /* no route has this path: 404 */
        MATCH_FOUND,      /* *out is the route */
        MATCH_BAD_METHOD, /* the path exists with other methods: 405 (allow lists them) */
};

/* Percent-decodes parameters into params (caller frees values with
 * router_params_free). `allow` (may be NULL) receives "GET, POST" for 405. */
enum route_match router_match(const struct route *routes, size_t n, const char *method,
                              const char *path, const struct route **out,
                              struct http_param params[HTTP_MAX_PARAMS], size_t *nparams,
                              struct strbuf *allow);
void router_params_free(struct http_param *params, size_t n);
/* Decode %XX in place; false when malformed or it would produce NUL or '/'
 * inside a segment. */
bool url_decode_segment(char *s);
