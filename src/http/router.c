#include "http/router.h"

#include <string.h>

#include "base/util.h"

bool url_decode_segment(char *s)
{
        char *o = s;
        for (const char *p = s; *p; p++) {
                if (*p != '%') {
                        *o++ = *p;
                        continue;
                }
                int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
                if (hi < 0 || lo < 0)
                        return false;
                char c = (char)(hi * 16 + lo);
                if (c == '\0' || c == '/')
                        return false;
                *o++ = c;
                p += 2;
        }
        *o = '\0';
        return true;
}

/* Compare one pattern against a path segment by segment; fills params. */
static bool match_pattern(const char *pat, const char *path, struct http_param *params, size_t *np)
{
        size_t n = 0;
        while (*pat && *path) {
                if (*pat != '/' || *path != '/')
                        return false;
                pat++;
                path++;
                if (*pat != '{' && *pat != *path) { /* the cheap reject of most routes */
                        router_params_free(params, n);
                        return false;
                }
                const char *pe = strchrnul(pat, '/');
                const char *se = strchrnul(path, '/');
                if (*pat == '{') {
                        if (se == path || n >= HTTP_MAX_PARAMS) {
                                router_params_free(params, n);
                                return false;
                        }
                        params[n].name = pat + 1;
                        params[n].name_len = (size_t)(pe - pat - 2);
                        params[n].value = strndup(path, (size_t)(se - path));
                        n++;
                } else if (pe - pat != se - path || memcmp(pat, path, (size_t)(pe - pat)) != 0) {
                        router_params_free(params, n);
                        return false;
                }
                pat = pe;
                path = se;
        }
        if (*pat || *path) {
                router_params_free(params, n);
                return false;
        }
        for (size_t i = 0; i < n; i++)
                if (!params[i].value || !url_decode_segment(params[i].value)) {
                        router_params_free(params, n);
                        return false;
                }
        *np = n;
        return true;
}

enum route_match router_match(const struct route *routes, size_t n, const char *method,
                              const char *path, const struct route **out,
                              struct http_param params[HTTP_MAX_PARAMS], size_t *nparams,
                              struct strbuf *allow)
{
        enum route_match res = MATCH_NONE;
        *nparams = 0;
        if (streq(method, "HEAD"))
                method = "GET";
        for (size_t i = 0; i < n; i++) {
                struct http_param tmp[HTTP_MAX_PARAMS];
                size_t nt = 0;
                if (!match_pattern(routes[i].pattern, path, tmp, &nt))
                        continue;
                if (streq(routes[i].method, method)) { /* first match wins */
                        memcpy(params, tmp, sizeof(tmp[0]) * nt);
                        *nparams = nt;
                        *out = &routes[i];
                        return MATCH_FOUND;
                }
                router_params_free(tmp, nt);
                if (res == MATCH_NONE)
                        res = MATCH_BAD_METHOD;
                if (allow && res == MATCH_BAD_METHOD &&
                    (!allow->data || !strstr(allow->data, routes[i].method)))
                        strbuf_printf(allow, "%s%s", allow->len ? ", " : "", routes[i].method);
        }
        return res;
}

void router_params_free(struct http_param *params, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(params[i].value);
                params[i].value = NULL;
        }
}
