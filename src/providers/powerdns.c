/* PowerDNS Authoritative HTTP API: the dns capability. Names are canonical
 * upstream (trailing dot), TXT quoted; an append is read-merge-REPLACE of
 * the record set (4.7 has no UPSERT). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "net/http.h"
#include "providers/provider.h"
#include "providers/records.h"

static bool valid_server_id(const char *s)
{
        if (str_empty(s) || strlen(s) > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

static int call(struct prov_ctx *c, const char *method, const char *path, json_t *body,
                json_t **out)
{
        _cleanup_strbuf_ struct strbuf auth = STRBUF_INIT(0);
        if (strbuf_printf(&auth, "X-API-Key: %s", c->api_key) < 0)
                return -ENOMEM;
        const char *hdrs[] = {auth.data, NULL};
        int r = prov_call(c, method, path, hdrs, body, out);
        explicit_bzero(auth.data, auth.len);
        return r;
}

static char *server_path(struct prov_ctx *c, const char *zone)
{
        const json_t *sid = json_object_get(c->extra, "server_id");
        const char *s = json_is_string(sid) ? json_string_value(sid) : "localhost";
        if (!valid_server_id(s))
                s = "localhost";
        struct strbuf b = STRBUF_INIT(0);
        int r = zone ? strbuf_printf(&b, "/api/v1/servers/%s/zones/%s.", s, zone)
                     : strbuf_printf(&b, "/api/v1/servers/%s", s);
        if (r < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_steal(&b);
}

static bool known_type(const char *t)
{
        static const char *const types[] = {"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"};
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                if (streq(t, types[i]))
                        return true;
        return false;
}

static int get_zone(struct prov_ctx *c, const char *zone, json_t **out)
{
        _cleanup_free_ char *p = server_path(c, zone);
        if (!p)
                return -ENOMEM;
        int r = call(c, "GET", p, NULL, out);
        if (r == 0 && !json_is_object(*out)) {
                json_decref(*out);
                *out = NULL;
                return prov_fail(c, -EPROTO, "PowerDNS sent an unexpected answer");
        }
        return r;
}

static int dns_list(struct prov_ctx *c, const char *zone, struct dns_record **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        json_t *z = NULL;
        int r = get_zone(c, zone, &z);
        if (r < 0)
                return r;
        size_t cap = 0, i, k;
        json_t *set, *rec;
        struct dns_record *v = NULL;
        json_array_foreach(json_object_get(z, "rrsets"), i, set)
        {
                const json_t *jn = json_object_get(set, "name"), *jt = json_object_get(set, "type");
                if (!json_is_string(jn) || !json_is_string(jt) ||
                    !known_type(json_string_value(jt)))
                        continue;
                _cleanup_free_ char *rel = dns_name_relative(json_string_value(jn), zone);
                if (!rel)
                        continue;
                json_array_foreach(json_object_get(set, "records"), k, rec)
                {
                        const json_t *jc = json_object_get(rec, "content");
                        if (!json_is_string(jc))
                                continue;
                        if (*n == cap) {
                                cap = cap ? cap * 2 : 16;
                                struct dns_record *t = realloc(v, cap * sizeof(*v));
                                if (!t) {
                                        dns_records_free(v, *n);
                                        json_decref(z);
                                        return -ENOMEM;
                                }
                                v = t;
                        }
                        struct dns_record *d = &v[(*n)++];
                        memset(d, 0, sizeof(*d));
                        d->name = strdup(rel);
                        d->type = strdup(json_string_value(jt));
                        d->ttl = (long)json_integer_value(json_object_get(set, "ttl"));
                        if (!d->name || !d->type ||
                            dns_content_from_upstream(d, json_string_value(jc)) < 0) {
                                dns_records_free(v, *n);
                                json_decref(z);
                                return prov_fail(c, -EPROTO,
                                                 "PowerDNS sent a record that cannot be read");
                        }
                }
        }
        json_decref(z);
        *out = v;
        return 0;
}

/* the current records (upstream spelling) of name/type in a zone answer */
static const json_t *find_set(const json_t *z, const char *abs, const char *type)
{
        size_t i;
        json_t *set;
        json_array_foreach(json_object_get(z, "rrsets"), i, set)
        {
                const char *n = json_string_value(json_object_get(set, "name"));
                const char *t = json_string_value(json_object_get(set, "type"));
                if (n && t && strcasecmp(n, abs) == 0 && streq(t, type))
                        return set;
        }
        return NULL;
}

static bool has_content(const json_t *records, const char *content)
{
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r)
        {
                const char *c = json_string_value(json_object_get(r, "content"));
                if (c && strcasecmp(c, content) == 0)
                        return true;
        }
        return false;
}

static int dns_update(struct prov_ctx *c, const char *zone, const struct dns_record *recs, size_t n,
                      bool overwrite)
{
        json_t *z = NULL;
        int r = 0;
        if (!overwrite && (r = get_zone(c, zone, &z)) < 0)
                return r;
        json_t *rrsets = json_array();
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_free_ char *abs = dns_name_absolute(recs[i].name, zone);
                _cleanup_free_ char *content = dns_content_to_upstream(&recs[i], true);
                if (!abs || !content) {
                        r = -ENOMEM;
                        break;
                }
                json_t *set = NULL, *s;
                size_t k;
                json_array_foreach(rrsets, k, s)
                {
                        if (strcasecmp(json_string_value(json_object_get(s, "name")), abs) == 0 &&
                            streq(json_string_value(json_object_get(s, "type")), recs[i].type)) {
                                set = s;
                                break;
                        }
                }
                if (!set) {
                        set = json_pack("{s:s,s:s,s:I,s:s,s:[]}", "name", abs, "type", recs[i].type,
                                        "ttl", (json_int_t)recs[i].ttl, "changetype", "REPLACE",
                                        "records");
                        json_array_append_new(rrsets, set);
                        const json_t *old = z ? find_set(z, abs, recs[i].type) : NULL;
                        json_t *o;
                        json_array_foreach(json_object_get(old, "records"), k, o)
                        {
                                const json_t *oc = json_object_get(o, "content");
                                if (json_is_string(oc))
                                        json_array_append_new(
                                            json_object_get(set, "records"),
                                            json_pack(
                                                "{s:O,s:b}", "content", oc, "disabled",
                                                json_is_true(json_object_get(o, "disabled"))));
                        }
                }
                json_object_set_new(set, "ttl", json_integer(recs[i].ttl));
                json_t *records = json_object_get(set, "records");
                if (!has_content(records, content))
                        json_array_append_new(
                            records, json_pack("{s:s,s:b}", "content", content, "disabled", 0));
        }
        json_decref(z);
        if (r == 0) {
                _cleanup_free_ char *p = server_path(c, zone);
                json_t *body = json_pack("{s:O}", "rrsets", rrsets);
                r = p && body ? call(c, "PATCH", p, body, NULL) : -ENOMEM;
                json_decref(body);
        }
        json_decref(rrsets);
        return r;
}

static int dns_remove(struct prov_ctx *c, const char *zone, const char *name, const char *type)
{
        _cleanup_free_ char *abs = dns_name_absolute(name, zone);
        _cleanup_free_ char *p = server_path(c, zone);
        if (!abs || !p)
                return -ENOMEM;
        json_t *body = json_pack("{s:[{s:s,s:s,s:s}]}", "rrsets", "name", abs, "type", type,
                                 "changetype", "DELETE");
        int r = body ? call(c, "PATCH", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static const struct prov_dns_ops dns_ops = {
    .list = dns_list,
    .update = dns_update,
    .validate = NULL, /* no upstream dry run: local validation only */
    .remove = dns_remove,
    .reset = NULL,
};

static int test(struct prov_ctx *c, char *msg, size_t msglen)
{
        _cleanup_free_ char *p = server_path(c, NULL);
        json_t *j = NULL;
        int r = p ? call(c, "GET", p, NULL, &j) : -ENOMEM;
        if (r < 0)
                return r;
        const json_t *v = json_object_get(j, "version");
        snprintf(msg, msglen, "PowerDNS %s answered",
                 json_is_string(v) ? json_string_value(v) : "");
        json_decref(j);
        return 0;
}

const struct provider powerdns_provider = {
    .name = "powerdns",
    .display_name = "PowerDNS",
    .default_base_url = "http://127.0.0.1:8081",
    .test = test,
    .dns = &dns_ops,
};
