/* What every provider does the same way: one JSON exchange with its
 * upstream and the mapping of upstream statuses to -errno. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "net/http.h"
#include "providers/provider.h"

#define MSG_MAX 300

void prov_ctx_clear(struct prov_ctx *ctx)
{
        json_decref(ctx->err.fields);
        ctx->err.fields = NULL;
}

void dns_records_free(struct dns_record *r, size_t n)
{
        for (size_t i = 0; r && i < n; i++) {
                free(r[i].name);
                free(r[i].type);
                free(r[i].content);
        }
        free(r);
}

int prov_fail(struct prov_ctx *c, int r, const char *fmt, ...)
{
        if (!c->err.message[0]) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(c->err.message, sizeof(c->err.message), fmt, ap);
                va_end(ap);
        }
        return r;
}

/* printable ASCII only, at most MSG_MAX bytes: upstream text is outside input */
static void copy_clean(char *dst, size_t dstlen, const char *s, size_t n)
{
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < dstlen && k < MSG_MAX; i++) {
                unsigned char ch = (unsigned char)s[i];
                if (ch == '\n' || ch == '\r' || ch == '\t')
                        ch = ' ';
                if (ch < 0x20 || ch > 0x7e)
                        continue;
                dst[k++] = (char)ch;
        }
        while (k > 0 && dst[k - 1] == ' ')
                k--;
        dst[k] = '\0';
}

static json_t *clean_fields(const json_t *errors)
{
        if (!json_is_object(errors))
                return NULL;
        json_t *out = json_object();
        const char *k;
        json_t *v;
        size_t n = 0;
        json_object_foreach((json_t *)errors, k, v)
        {
                if (n++ >= 50)
                        break;
                char key[128], msg[MSG_MAX + 1];
                copy_clean(key, sizeof(key), k, strlen(k));
                json_t *arr = json_array();
                if (json_is_array(v)) {
                        size_t i;
                        json_t *m;
                        json_array_foreach(v, i, m)
                        {
                                if (i >= 10)
                                        break;
                                if (json_is_string(m)) {
                                        copy_clean(msg, sizeof(msg), json_string_value(m),
                                                   json_string_length(m));
                                        json_array_append_new(arr, json_string(msg));
                                }
                        }
                } else if (json_is_string(v)) {
                        copy_clean(msg, sizeof(msg), json_string_value(v), json_string_length(v));
                        json_array_append_new(arr, json_string(msg));
                }
                json_object_set_new(out, key, arr);
        }
        return out;
}

void prov_parse_error(struct prov_ctx *c, int status, const char *body, size_t len)
{
        c->err.upstream_status = status;
        c->err.message[0] = c->err.correlation_id[0] = '\0';
        json_decref(c->err.fields);
        c->err.fields = NULL;
        json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
        if (json_is_object(j)) {
                const json_t *m = json_object_get(j, "message");
                if (!json_is_string(m))
                        m = json_object_get(j, "error");
                if (json_is_string(m))
                        copy_clean(c->err.message, sizeof(c->err.message), json_string_value(m),
                                   json_string_length(m));
                const json_t *cid = json_object_get(j, "correlation_id");
                if (json_is_string(cid))
                        copy_clean(c->err.correlation_id, sizeof(c->err.correlation_id),
                                   json_string_value(cid), json_string_length(cid));
                c->err.fields = clean_fields(json_object_get(j, "errors"));
        } else if (body && len) {
                copy_clean(c->err.message, sizeof(c->err.message), body, len);
        }
        json_decref(j);
        if (!c->err.message[0])
                snprintf(c->err.message, sizeof(c->err.message), "upstream answered HTTP %d",
                         status);
}

int prov_call(struct prov_ctx *c, const char *method, const char *path, const char *const *headers,
              json_t *body, json_t **out)
{
        if (out)
                *out = NULL;
        _cleanup_strbuf_ struct strbuf url = STRBUF_INIT(0);
        if (strbuf_printf(&url, "%s%s", c->base_url, path) < 0)
                return -ENOMEM;
        _cleanup_free_ char *payload = NULL;
        if (body && !(payload = json_dumps(body, JSON_COMPACT)))
                return -ENOMEM;
        const char *hdrs[12];
        size_t k = 0;
        hdrs[k++] = "Accept: application/json";
        if (payload)
                hdrs[k++] = "Content-Type: application/json";
        for (const char *const *h = headers; h && *h && k + 1 < ARRAY_SIZE(hdrs); h++)
                hdrs[k++] = *h;
        hdrs[k] = NULL;
        struct net_response resp;
        net_response_init(&resp);
        int st;
        if (c->canned) {
                st = c->canned->status;
                if (c->canned->len &&
                    strbuf_append(&resp.body, c->canned->body, c->canned->len) < 0) {
                        net_response_free(&resp);
                        return prov_fail(c, -EFBIG, "%s: answer too large", c->p->display_name);
                }
        } else {
                struct net_request q = {
                    .method = method,
                    .url = url.data,
                    .headers = hdrs,
                    .body = payload,
                    .body_len = payload ? strlen(payload) : 0,
                    .retries_429 = c->retries_429,
                    .allow_http = c->allow_http,
                };
                char err[512] = "";
                int r = net_perform(c->net, &q, &resp, err, sizeof(err));
                if (r < 0) {
                        c->err.upstream_status = 0;
                        prov_fail(c, r, "%s: %s", c->p->display_name, err[0] ? err : strerror(-r));
                        net_response_free(&resp);
                        return r;
                }
                st = (int)resp.status;
        }
        if (st >= 200 && st < 300) {
                c->err.upstream_status = st;
                if (out && resp.body.len) {
                        *out = net_response_json(&resp);
                        if (!*out) {
                                net_response_free(&resp);
                                return prov_fail(c, -EPROTO, "%s sent an answer that is not JSON",
                                                 c->p->display_name);
                        }
                }
                net_response_free(&resp);
                return 0;
        }
        prov_parse_error(c, st, resp.body.data, resp.body.len);
        net_response_free(&resp);
        switch (st) {
        case 401:
        case 403:
                return -EACCES;
        case 404:
                return -ENOENT;
        case 400:
        case 422:
                return -EINVAL;
        case 429:
                return -EAGAIN;
        default:
                return -EPROTO;
        }
}

long long prov_cents(const json_t *v)
{
        if (json_is_integer(v))
                return json_integer_value(v);
        if (json_is_real(v))
                return (long long)(json_real_value(v) + 0.5);
        return -1;
}
