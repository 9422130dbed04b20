/* The request path (http/router.h) against the panel's real route table
 * (api_routes_build). Input: "METHOD PATH", cut at the first space; the path
 * ends at '?' as in the server's dispatch. router_match must agree with a
 * segment-by-segment matcher written independently here: the same outcome,
 * the first route of the request's method (HEAD as GET), its parameters
 * decoded exactly once and holding neither '/' nor NUL. Leaks show up
 * through LeakSanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fuzz.h"
#include "http/router.h"

static struct route *routes;
static size_t nroutes;

/* %XX decoding of one segment [s, s+n) into out (n+1 bytes): false when
 * malformed or it would produce NUL or '/'. */
static bool ref_decode(const char *s, size_t n, char *out)
{
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] != '%') {
                        out[o++] = s[i];
                        continue;
                }
                if (i + 2 >= n)
                        return false;
                int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
                if (hi < 0 || lo < 0)
                        return false;
                char c = (char)(hi * 16 + lo);
                if (c == '\0' || c == '/')
                        return false;
                out[o++] = c;
                i += 2;
        }
        out[o] = '\0';
        return true;
}

/* Pattern and path split on '/' have the same segments: literals equal,
 * each "{name}" a non-empty segment that decodes. Fills want[] with the
 * decoded values (malloc'd). */
static bool ref_match(const char *pat, const char *path, char *want[HTTP_MAX_PARAMS], size_t *nw)
{
        *nw = 0;
        for (;;) {
                size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
                if (pat[0] == '{') {
                        char *v = malloc(sl + 1);
                        CHECK(v);
                        if (sl == 0 || *nw >= HTTP_MAX_PARAMS || !ref_decode(path, sl, v)) {
                                free(v);
                                goto no;
                        }
                        want[(*nw)++] = v;
                } else if (pl != sl || memcmp(pat, path, pl) != 0) {
                        goto no;
                }
                pat += pl;
                path += sl;
                if (!*pat && !*path)
                        return true;
                if (!*pat || !*path)
                        goto no;
                pat++; /* both at '/' */
                path++;
        }
no:
        for (size_t i = 0; i < *nw; i++)
                free(want[i]);
        *nw = 0;
        return false;
}

static void check_decode(const char *s)
{
        char *copy = strdup(s), *want = malloc(strlen(s) + 1);
        CHECK(copy && want);
        bool ok = url_decode_segment(copy);
        /* url_decode_segment has no '/' rule for the input itself: compare
         * on inputs that are one segment */
        if (!strchr(s, '/')) {
                CHECK(ok == ref_decode(s, strlen(s), want));
                if (ok)
                        CHECK(streq(copy, want));
        }
        if (ok)
                CHECK(strlen(copy) <= strlen(s));
        free(copy);
        free(want);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        if (!routes)
                CHECK(api_routes_build(&routes, &nroutes) == 0 && nroutes > 0);
        char *in = strndup((const char *)data, size);
        CHECK(in);
        char *sp = strchr(in, ' ');
        const char *method = in, *path = "";
        if (sp) {
                *sp = '\0';
                path = sp + 1;
                sp[1 + strcspn(sp + 1, "?")] = '\0';
        }
        check_decode(path);

        const struct route *got = NULL;
        struct http_param params[HTTP_MAX_PARAMS];
        size_t np = 0;
        _cleanup_strbuf_ struct strbuf allow = STRBUF_INIT(256);
        enum route_match m = router_match(routes, nroutes, method, path, &got, params, &np, &allow);

        /* the reference: the first route of this method whose pattern matches */
        const char *want_method = streq(method, "HEAD") ? "GET" : method;
        enum route_match want = MATCH_NONE;
        const struct route *want_route = NULL;
        char *want_vals[HTTP_MAX_PARAMS];
        size_t nwant = 0;
        for (size_t i = 0; i < nroutes; i++) {
                char *vals[HTTP_MAX_PARAMS];
                size_t nv;
                if (!ref_match(routes[i].pattern, path, vals, &nv))
                        continue;
                if (streq(routes[i].method, want_method)) {
                        want = MATCH_FOUND;
                        want_route = &routes[i];
                        memcpy(want_vals, vals, sizeof(vals[0]) * nv);
                        nwant = nv;
                        break;
                }
                for (size_t k = 0; k < nv; k++)
                        free(vals[k]);
                want = MATCH_BAD_METHOD;
                /* 405's Allow lists every method the path has */
                if (m == MATCH_BAD_METHOD)
                        CHECK(allow.data && strstr(allow.data, routes[i].method));
        }

        CHECK(m == want);
        if (m == MATCH_FOUND) {
                CHECK(got == want_route);
                CHECK(streq(got->method, want_method));
                CHECK(np == nwant);
                for (size_t i = 0; i < np; i++) {
                        CHECK(params[i].value && params[i].name && params[i].name_len > 0);
                        CHECK(!strchr(params[i].value, '/'));
                        /* no NUL inside: the decoded text is all of it */
                        CHECK(streq(params[i].value, want_vals[i]));
                        free(want_vals[i]);
                }
                router_params_free(params, np);
                for (size_t i = 0; i < np; i++)
                        CHECK(!params[i].value);
        } else {
                CHECK(np == 0);
                if (m == MATCH_NONE)
                        CHECK(allow.len == 0);
        }
        free(in);
        return 0;
}
