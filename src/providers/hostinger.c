/* Hostinger (developers.hostinger.com): every capability, on the paths and
 * shapes of Hostinger's published API (spec/hosting-api.md, upstream table). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "net/http.h"
#include "providers/provider.h"
#include "providers/records.h"
#include "providers/sshkey.h"

#define PAGES_MAX 100

static int call(struct prov_ctx *c, const char *method, const char *path, json_t *body,
                json_t **out)
{
        _cleanup_strbuf_ struct strbuf auth = STRBUF_INIT(0);
        if (strbuf_printf(&auth, "Authorization: Bearer %s", c->api_key) < 0)
                return -ENOMEM;
        const char *hdrs[] = {auth.data, NULL};
        int r = prov_call(c, method, path, hdrs, body, out);
        explicit_bzero(auth.data, auth.len);
        return r;
}

/* path built from a format with escaped segments */
static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
        struct strbuf b = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        int r = strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        if (r < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_steal(&b);
}

#define ESC(var, s)                                                                                \
        _cleanup_free_ char *var = net_escape(s);                                                  \
        if (!var)                                                                                  \
                return -ENOMEM;

static int not_array(struct prov_ctx *c, json_t *j)
{
        json_decref(j);
        return prov_fail(c, -EPROTO, "Hostinger sent an unexpected answer");
}

/* call, and the answer must be a JSON array (or object): else -EPROTO. A NULL
 * path (out of memory building it) is -ENOMEM. */
static int call_as(struct prov_ctx *c, const char *method, const char *path, json_t *body,
                   bool array, json_t **out)
{
        if (!path)
                return -ENOMEM;
        json_t *j = NULL;
        int r = call(c, method, path, body, &j);
        if (r < 0)
                return r;
        if (array ? !json_is_array(j) : !json_is_object(j))
                return not_array(c, j);
        *out = j;
        return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
        const json_t *v = json_object_get(o, k);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *jcopy(const json_t *o, const char *k)
{
        json_t *v = json_object_get(o, k);
        return v ? json_incref(v) : json_null();
}

/* an id the panel got as text, sent as a number when it is one */
static json_t *id_value(const char *s)
{
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*s && !*end && s[0] != '0')
                return json_integer(v);
        return json_string(s);
}

/* ---- DNS ---- */

static int dns_list(struct prov_ctx *c, const char *zone, struct dns_record **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        ESC(z, zone);
        _cleanup_free_ char *p = pathf("/api/dns/v1/zones/%s", z);
        json_t *j = NULL;
        int r = call_as(c, "GET", p, NULL, true, &j);
        if (r < 0)
                return r;
        size_t cap = 0, i, k;
        json_t *set, *rec;
        struct dns_record *v = NULL;
        json_array_foreach(j, i, set)
        {
                const char *name = jstr(set, "name"), *type = jstr(set, "type");
                json_t *recs = json_object_get(set, "records");
                if (!name || !type || !json_is_array(recs))
                        continue;
                json_array_foreach(recs, k, rec)
                {
                        const char *content = jstr(rec, "content");
                        if (!content)
                                continue;
                        if (*n == cap) {
                                cap = cap ? cap * 2 : 16;
                                struct dns_record *t = realloc(v, cap * sizeof(*v));
                                if (!t) {
                                        dns_records_free(v, *n);
                                        json_decref(j);
                                        return -ENOMEM;
                                }
                                v = t;
                        }
                        struct dns_record *d = &v[*n];
                        memset(d, 0, sizeof(*d));
                        d->name = strdup(name);
                        d->type = strdup(type);
                        json_t *ttl = json_object_get(set, "ttl");
                        d->ttl = json_is_integer(ttl) ? (long)json_integer_value(ttl) : 0;
                        (*n)++;
                        if (!d->name || !d->type || dns_content_from_upstream(d, content) < 0) {
                                dns_records_free(v, *n);
                                json_decref(j);
                                return prov_fail(c, -EPROTO,
                                                 "Hostinger sent a record that cannot be read");
                        }
                }
        }
        json_decref(j);
        *out = v;
        return 0;
}

/* {"overwrite":bool,"zone":[{name,type,ttl,records:[{content}]}]}, one set per name+type */
static json_t *zone_body(const struct dns_record *recs, size_t n, bool overwrite)
{
        json_t *zone = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *set = NULL, *s;
                size_t k;
                json_array_foreach(zone, k, s)
                {
                        if (strcasecmp(jstr(s, "name"), recs[i].name) == 0 &&
                            streq(jstr(s, "type"), recs[i].type)) {
                                set = s;
                                break;
                        }
                }
                if (!set) {
                        set = json_pack("{s:s,s:s,s:I,s:[]}", "name", recs[i].name, "type",
                                        recs[i].type, "ttl", (json_int_t)recs[i].ttl, "records");
                        json_array_append_new(zone, set);
                }
                char *content = dns_content_to_upstream(&recs[i], false);
                json_array_append_new(json_object_get(set, "records"),
                                      json_pack("{s:s}", "content", content ? content : ""));
                free(content);
        }
        return json_pack("{s:b,s:o}", "overwrite", overwrite, "zone", zone);
}

static int dns_validate(struct prov_ctx *c, const char *zone, const struct dns_record *recs,
                        size_t n, bool overwrite)
{
        ESC(z, zone);
        _cleanup_free_ char *p = pathf("/api/dns/v1/zones/%s/validate", z);
        json_t *body = zone_body(recs, n, overwrite);
        int r = p && body ? call(c, "POST", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static int dns_update(struct prov_ctx *c, const char *zone, const struct dns_record *recs, size_t n,
                      bool overwrite)
{
        int r = dns_validate(c, zone, recs, n, overwrite);
        if (r < 0)
                return r;
        ESC(z, zone);
        _cleanup_free_ char *p = pathf("/api/dns/v1/zones/%s", z);
        json_t *body = zone_body(recs, n, overwrite);
        r = p && body ? call(c, "PUT", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static int dns_remove(struct prov_ctx *c, const char *zone, const char *name, const char *type)
{
        ESC(z, zone);
        _cleanup_free_ char *p = pathf("/api/dns/v1/zones/%s", z);
        json_t *body = json_pack("{s:[{s:s,s:s}]}", "filters", "name", name, "type", type);
        int r = p && body ? call(c, "DELETE", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static int dns_reset(struct prov_ctx *c, const char *zone)
{
        ESC(z, zone);
        _cleanup_free_ char *p = pathf("/api/dns/v1/zones/%s/reset", z);
        json_t *body = json_pack("{s:b,s:b}", "sync", 1, "reset_email_records", 1);
        int r = p && body ? call(c, "POST", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static const struct prov_dns_ops dns_ops = {
    .list = dns_list,
    .update = dns_update,
    .validate = dns_validate,
    .remove = dns_remove,
    .reset = dns_reset,
};

/* ---- domains ---- */

static json_t *domain_json(const json_t *d, bool detail)
{
        json_t *ns = json_null();
        const json_t *uns = json_object_get(d, "name_servers");
        if (detail) {
                ns = json_array();
                static const char *const keys[] = {"ns1", "ns2", "ns3", "ns4"};
                if (json_is_object(uns)) {
                        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                                const char *v = jstr(uns, keys[i]);
                                if (v && *v)
                                        json_array_append_new(ns, json_string(v));
                        }
                } else if (json_is_array(uns)) {
                        size_t i;
                        json_t *v;
                        json_array_foreach(uns, i, v) if (json_is_string(v))
                            json_array_append(ns, v);
                }
        }
        return json_pack("{s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name", jcopy(d, "domain"),
                         "registrar", "hostinger", "status", jcopy(d, "status"), "created_at",
                         jcopy(d, "created_at"), "expires_at", jcopy(d, "expires_at"), "auto_renew",
                         detail ? jcopy(d, "auto_renew") : json_null(), "locked",
                         detail ? jcopy(d, "is_locked") : json_null(), "privacy_protection",
                         detail ? jcopy(d, "is_privacy_protected") : json_null(), "nameservers",
                         ns);
}

static int domains_list(struct prov_ctx *c, json_t **out)
{
        json_t *j = NULL;
        int r = call_as(c, "GET", "/api/domains/v1/portfolio", NULL, true, &j);
        if (r < 0)
                return r;
        json_t *a = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(j, i, d) if (json_is_object(d))
            json_array_append_new(a, domain_json(d, false));
        json_decref(j);
        *out = a;
        return 0;
}

static int domains_get(struct prov_ctx *c, const char *domain, json_t **out)
{
        ESC(d, domain);
        _cleanup_free_ char *p = pathf("/api/domains/v1/portfolio/%s", d);
        json_t *j = NULL;
        int r = call_as(c, "GET", p, NULL, false, &j);
        if (r < 0)
                return r;
        *out = domain_json(j, true);
        json_decref(j);
        return 0;
}

/* the catalog's item for a TLD: its name is ".COM Domain" style */
static const json_t *tld_item(const json_t *catalog, const char *tld)
{
        size_t i, n = strlen(tld);
        json_t *it;
        json_array_foreach(catalog, i, it)
        {
                const char *name = jstr(it, "name");
                if (name && name[0] == '.' && strncasecmp(name + 1, tld, n) == 0 &&
                    (name[n + 1] == ' ' || name[n + 1] == '\0'))
                        return it;
        }
        return NULL;
}

static const json_t *item_price(const json_t *item, long years)
{
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(item, "prices"), i, p)
        {
                const json_t *per = json_object_get(p, "period");
                const char *unit = jstr(p, "period_unit");
                if (json_is_integer(per) && json_integer_value(per) == years && unit &&
                    strcasecmp(unit, "year") == 0)
                        return p;
        }
        return NULL;
}

static int domain_catalog(struct prov_ctx *c, json_t **out)
{
        json_t *j = NULL;
        int r = call_as(c, "GET", "/api/billing/v1/catalog?category=DOMAIN", NULL, true, &j);
        if (r < 0)
                return r;
        *out = j;
        return 0;
}

static int domains_check(struct prov_ctx *c, const char *const *names, size_t n, json_t **out)
{
        json_t *seen = json_object(); /* full name -> upstream answer */
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                const char *dot = strchr(names[i], '.');
                if (!dot)
                        continue;
                _cleanup_free_ char *label = strndup(names[i], (size_t)(dot - names[i]));
                if (!label || json_object_get(seen, names[i]))
                        continue;
                /* every TLD asked for this label, in one call */
                json_t *tlds = json_array();
                for (size_t k = i; k < n; k++) {
                        const char *d2 = strchr(names[k], '.');
                        if (d2 && (size_t)(d2 - names[k]) == strlen(label) &&
                            strncmp(names[k], label, strlen(label)) == 0)
                                json_array_append_new(tlds, json_string(d2 + 1));
                }
                json_t *body = json_pack("{s:s,s:o}", "domain", label, "tlds", tlds);
                json_t *ans = NULL;
                r = call(c, "POST", "/api/domains/v1/availability", body, &ans);
                json_decref(body);
                if (r == 0 && !json_is_array(ans))
                        r = prov_fail(c, -EPROTO, "Hostinger sent an unexpected answer");
                size_t k;
                json_t *a;
                json_array_foreach(ans, k, a)
                {
                        const char *dn = jstr(a, "domain");
                        if (dn && json_is_true(json_object_get(a, "is_alternative")) == 0)
                                json_object_set(seen, dn, a);
                }
                json_decref(ans);
        }
        json_t *catalog = NULL;
        if (r == 0)
                r = domain_catalog(c, &catalog);
        if (r < 0) {
                json_decref(seen);
                json_decref(catalog);
                return r;
        }
        json_t *res = json_array();
        for (size_t i = 0; i < n; i++) {
                const json_t *a = json_object_get(seen, names[i]);
                bool avail = a && json_is_true(json_object_get(a, "is_available"));
                const char *dot = strchr(names[i], '.');
                const json_t *item = avail && dot ? tld_item(catalog, dot + 1) : NULL;
                const json_t *price = item ? item_price(item, 1) : NULL;
                long long cents = -1;
                if (price) {
                        cents = prov_cents(json_object_get(price, "first_period_price"));
                        if (cents < 0)
                                cents = prov_cents(json_object_get(price, "price"));
                }
                json_array_append_new(res, json_pack("{s:s,s:b,s:o,s:o}", "domain", names[i],
                                                     "available", avail, "price_cents",
                                                     cents >= 0 ? json_integer(cents) : json_null(),
                                                     "currency",
                                                     cents >= 0 && jstr(price, "currency")
                                                         ? json_string(jstr(price, "currency"))
                                                         : json_null()));
        }
        json_decref(seen);
        json_decref(catalog);
        *out = res;
        return 0;
}

static int set_flag(struct prov_ctx *c, const char *domain, const char *what, bool on)
{
        ESC(d, domain);
        _cleanup_free_ char *p = pathf("/api/domains/v1/portfolio/%s/%s", d, what);
        return p ? call(c, on ? "PUT" : "DELETE", p, NULL, NULL) : -ENOMEM;
}

static int domains_lock(struct prov_ctx *c, const char *domain, bool on)
{
        return set_flag(c, domain, "domain-lock", on);
}

static int domains_privacy(struct prov_ctx *c, const char *domain, bool on)
{
        return set_flag(c, domain, "privacy-protection", on);
}

static int domains_purchase(struct prov_ctx *c, const struct domain_order *o, json_t **out)
{
        _cleanup_free_ char *item_id = o->item_id ? strdup(o->item_id) : NULL;
        if (!item_id) {
                json_t *catalog = NULL;
                int r = domain_catalog(c, &catalog);
                if (r < 0)
                        return r;
                const char *dot = strchr(o->domain, '.');
                const json_t *item = dot ? tld_item(catalog, dot + 1) : NULL;
                const json_t *price = item ? item_price(item, o->period_years) : NULL;
                if (price && jstr(price, "id"))
                        item_id = strdup(jstr(price, "id"));
                json_decref(catalog);
                if (!item_id) {
                        c->err.upstream_status = 0;
                        return prov_fail(c, -EINVAL,
                                         "no catalog price for this TLD and period_years");
                }
        }
        json_t *body = json_pack("{s:s,s:s}", "domain", o->domain, "item_id", item_id);
        if (o->payment_method_id)
                json_object_set_new(body, "payment_method_id", id_value(o->payment_method_id));
        json_t *order = NULL;
        int r = call(c, "POST", "/api/domains/v1/portfolio", body, &order);
        json_decref(body);
        if (r < 0)
                return r;
        if (!json_is_object(order))
                return not_array(c, order);
        if (o->privacy_protection) {
                r = domains_privacy(c, o->domain, true);
                if (r < 0) {
                        json_decref(order);
                        return r;
                }
        }
        *out = json_pack("{s:s,s:o,s:o}", "domain", o->domain, "order_id", jcopy(order, "id"),
                         "status", jcopy(order, "status"));
        json_decref(order);
        return 0;
}

static int domains_ns(struct prov_ctx *c, const char *domain, const char *const *ns, size_t n)
{
        ESC(d, domain);
        _cleanup_free_ char *p = pathf("/api/domains/v1/portfolio/%s/nameservers", d);
        json_t *body = json_object();
        for (size_t i = 0; i < n && i < 4; i++) {
                char k[4] = {'n', 's', (char)('1' + i), '\0'};
                json_object_set_new(body, k, json_string(ns[i]));
        }
        int r = p ? call(c, "PUT", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static const struct prov_domain_ops domain_ops = {
    .list = domains_list,
    .get = domains_get,
    .check = domains_check,
    .purchase = domains_purchase,
    .set_nameservers = domains_ns,
    .set_lock = domains_lock,
    .set_privacy = domains_privacy,
};

/* ---- VPS ---- */

static json_t *addresses(const json_t *list)
{
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
                if (json_is_string(v))
                        json_array_append(a, v);
                else if (jstr(v, "address"))
                        json_array_append_new(a, json_string(jstr(v, "address")));
        }
        return a;
}

static json_t *vm_json(const json_t *v)
{
        const json_t *tpl = json_object_get(v, "template");
        return json_pack(
            "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", jcopy(v, "id"), "name",
            jcopy(v, "hostname"), "status", jcopy(v, "state"), "plan", jcopy(v, "plan"),
            "data_center_id", jcopy(v, "data_center_id"), "ipv4",
            addresses(json_object_get(v, "ipv4")), "ipv6", addresses(json_object_get(v, "ipv6")),
            "os", json_is_object(tpl) ? jcopy(tpl, "name") : json_null(), "cpus", jcopy(v, "cpus"),
            "memory_mb", jcopy(v, "memory"), "disk_mb", jcopy(v, "disk"), "bandwidth_mb",
            jcopy(v, "bandwidth"), "created_at", jcopy(v, "created_at"));
}

static int vps_list(struct prov_ctx *c, json_t **out)
{
        json_t *j = NULL;
        int r = call_as(c, "GET", "/api/vps/v1/virtual-machines", NULL, true, &j);
        if (r < 0)
                return r;
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) if (json_is_object(v)) json_array_append_new(a, vm_json(v));
        json_decref(j);
        *out = a;
        return 0;
}

static int vps_get(struct prov_ctx *c, const char *id, json_t **out)
{
        ESC(e, id);
        _cleanup_free_ char *p = pathf("/api/vps/v1/virtual-machines/%s", e);
        json_t *j = NULL;
        int r = call_as(c, "GET", p, NULL, false, &j);
        if (r < 0)
                return r;
        *out = vm_json(j);
        json_decref(j);
        return 0;
}

static int keys_attach(struct prov_ctx *c, const char *vm_id, const char *const *ids, size_t n);

static int vps_create(struct prov_ctx *c, const struct vm_order *o, json_t **out)
{
        json_t *setup = json_pack("{s:o,s:o}", "template_id", id_value(o->template_id),
                                  "data_center_id", id_value(o->data_center_id));
        if (o->hostname)
                json_object_set_new(setup, "hostname", json_string(o->hostname));
        if (o->password)
                json_object_set_new(setup, "password", json_string(o->password));
        json_t *body = json_pack("{s:s,s:o}", "item_id", o->item_id, "setup", setup);
        if (o->payment_method_id)
                json_object_set_new(body, "payment_method_id", id_value(o->payment_method_id));
        json_t *ans = NULL;
        int r = call(c, "POST", "/api/vps/v1/virtual-machines", body, &ans);
        json_decref(body);
        if (r < 0)
                return r;
        const json_t *vm = json_object_get(ans, "virtual_machine");
        if (!json_is_object(vm))
                return not_array(c, ans);
        if (o->ssh_key_id) {
                const json_t *idv = json_object_get(vm, "id");
                char idbuf[32];
                if (json_is_integer(idv))
                        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(idv));
                else
                        snprintf(idbuf, sizeof(idbuf), "%s", jstr(vm, "id") ? jstr(vm, "id") : "");
                const char *ids[] = {o->ssh_key_id};
                r = keys_attach(c, idbuf, ids, 1);
                if (r < 0) {
                        json_decref(ans);
                        return r;
                }
        }
        *out = vm_json(vm);
        json_decref(ans);
        return 0;
}

static int vps_power(struct prov_ctx *c, const char *id, const char *action, json_t **out)
{
        ESC(e, id);
        _cleanup_free_ char *p = pathf("/api/vps/v1/virtual-machines/%s/%s", e, action);
        json_t *j = NULL;
        int r = call_as(c, "POST", p, NULL, false, &j);
        if (r < 0)
                return r;
        *out = json_pack("{s:o,s:o,s:o}", "action_id", jcopy(j, "id"), "action",
                         json_object_get(j, "name") ? jcopy(j, "name") : json_string(action),
                         "state", jcopy(j, "state"));
        json_decref(j);
        return 0;
}

/* factor from the upstream's declared unit to ours (bytes, seconds, percent) */
static double unit_factor(const char *unit)
{
        static const struct {
                const char *u;
                double f;
        } t[] = {
            {"%", 1},
            {"percent", 1},
            {"bytes", 1},
            {"b", 1},
            {"kb", 1024.0},
            {"kilobytes", 1024.0},
            {"mb", 1048576.0},
            {"megabytes", 1048576.0},
            {"gb", 1073741824.0},
            {"gigabytes", 1073741824.0},
            {"milliseconds", 0.001},
            {"ms", 0.001},
            {"seconds", 1},
            {"s", 1},
            {"minutes", 60},
        };
        for (size_t i = 0; unit && i < ARRAY_SIZE(t); i++)
                if (strcasecmp(unit, t[i].u) == 0)
                        return t[i].f;
        return 1;
}

static int cmp_pt(const void *a, const void *b)
{
        json_int_t x = json_integer_value(json_array_get(*(json_t *const *)a, 0));
        json_int_t y = json_integer_value(json_array_get(*(json_t *const *)b, 0));
        return x < y ? -1 : x > y;
}

static json_t *series(const json_t *m)
{
        json_t *out = json_array();
        double f = unit_factor(jstr(m, "unit"));
        const json_t *usage = json_object_get(m, "usage");
        const char *k;
        json_t *v;
        size_t n = 0;
        json_t **pts = calloc(json_object_size(usage) + 1, sizeof(*pts));
        if (!pts)
                return out;
        json_object_foreach((json_t *)usage, k, v)
        {
                char *end;
                long long t = strtoll(k, &end, 10);
                if (*end || !json_is_number(v))
                        continue;
                double val = json_number_value(v) * f;
                pts[n++] = json_pack("[I,f]", (json_int_t)t, val);
        }
        qsort(pts, n, sizeof(*pts), cmp_pt);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(out, pts[i]);
        free(pts);
        return out;
}

static int vps_metrics(struct prov_ctx *c, const char *id, const char *from, const char *to,
                       json_t **out)
{
        ESC(e, id);
        ESC(f, from);
        ESC(t, to);
        _cleanup_free_ char *p =
            pathf("/api/vps/v1/virtual-machines/%s/metrics?date_from=%s&date_to=%s", e, f, t);
        json_t *j = NULL;
        int r = call_as(c, "GET", p, NULL, false, &j);
        if (r < 0)
                return r;
        *out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "cpu_percent",
                         series(json_object_get(j, "cpu_usage")), "ram_bytes",
                         series(json_object_get(j, "ram_usage")), "disk_bytes",
                         series(json_object_get(j, "disk_space")), "net_in_bytes",
                         series(json_object_get(j, "incoming_traffic")), "net_out_bytes",
                         series(json_object_get(j, "outgoing_traffic")), "uptime_s",
                         series(json_object_get(j, "uptime")));
        json_decref(j);
        return 0;
}

static int list_of(struct prov_ctx *c, const char *path, const char *const *keys, json_t **out)
{
        json_t *j = NULL;
        int r = call_as(c, "GET", path, NULL, true, &j);
        if (r < 0)
                return r;
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
                if (!json_is_object(v))
                        continue;
                json_t *o = json_object();
                for (const char *const *k = keys; *k; k++)
                        json_object_set_new(o, *k, jcopy(v, *k));
                json_array_append_new(a, o);
        }
        json_decref(j);
        *out = a;
        return 0;
}

static int vps_datacenters(struct prov_ctx *c, json_t **out)
{
        static const char *const keys[] = {"id", "name", "location", "city", "continent", NULL};
        return list_of(c, "/api/vps/v1/data-centers", keys, out);
}

static int vps_templates(struct prov_ctx *c, json_t **out)
{
        static const char *const keys[] = {"id", "name", "description", NULL};
        return list_of(c, "/api/vps/v1/templates", keys, out);
}

static const struct prov_vps_ops vps_ops = {
    .list = vps_list,
    .get = vps_get,
    .create = vps_create,
    .power = vps_power,
    .metrics = vps_metrics,
    .datacenters = vps_datacenters,
    .templates = vps_templates,
};

/* ---- SSH keys ---- */

static json_t *key_json(const json_t *k)
{
        char fp[SSHKEY_FP_LEN], msg[128];
        const char *pub = jstr(k, "key");
        bool ok = pub && sshkey_parse(pub, fp, msg, sizeof(msg)) == 0;
        return json_pack("{s:o,s:o,s:o,s:o}", "id", jcopy(k, "id"), "name", jcopy(k, "name"),
                         "fingerprint", ok ? json_string(fp) : json_null(), "public_key",
                         jcopy(k, "key"));
}

static int keys_list(struct prov_ctx *c, json_t **out)
{
        json_t *a = json_array();
        for (int page = 1; page <= PAGES_MAX; page++) {
                char p[64];
                snprintf(p, sizeof(p), "/api/vps/v1/public-keys?page=%d", page);
                json_t *j = NULL;
                int r = call(c, "GET", p, NULL, &j);
                if (r < 0) {
                        json_decref(a);
                        return r;
                }
                const json_t *data = json_object_get(j, "data");
                const json_t *meta = json_object_get(j, "meta");
                if (!json_is_array(data)) {
                        json_decref(a);
                        return not_array(c, j);
                }
                size_t i;
                json_t *k;
                json_array_foreach(data, i, k) if (json_is_object(k))
                    json_array_append_new(a, key_json(k));
                json_int_t per = json_integer_value(json_object_get(meta, "per_page"));
                json_int_t total = json_integer_value(json_object_get(meta, "total"));
                json_int_t cur = json_integer_value(json_object_get(meta, "current_page"));
                size_t got = json_array_size(data);
                json_decref(j);
                if (got == 0 || per <= 0 || (cur > 0 ? cur : page) * per >= total)
                        break;
        }
        *out = a;
        return 0;
}

static int keys_add(struct prov_ctx *c, const char *name, const char *public_key, json_t **out)
{
        json_t *body = json_pack("{s:s,s:s}", "name", name, "key", public_key);
        json_t *j = NULL;
        int r = call(c, "POST", "/api/vps/v1/public-keys", body, &j);
        json_decref(body);
        if (r < 0)
                return r;
        if (!json_is_object(j))
                return not_array(c, j);
        *out = key_json(j);
        json_decref(j);
        return 0;
}

static int keys_remove(struct prov_ctx *c, const char *id)
{
        ESC(e, id);
        _cleanup_free_ char *p = pathf("/api/vps/v1/public-keys/%s", e);
        return p ? call(c, "DELETE", p, NULL, NULL) : -ENOMEM;
}

static int keys_attach(struct prov_ctx *c, const char *vm_id, const char *const *ids, size_t n)
{
        ESC(e, vm_id);
        _cleanup_free_ char *p = pathf("/api/vps/v1/public-keys/attach/%s", e);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, id_value(ids[i]));
        json_t *body = json_pack("{s:o}", "ids", a);
        int r = p ? call(c, "POST", p, body, NULL) : -ENOMEM;
        json_decref(body);
        return r;
}

static const struct prov_sshkey_ops key_ops = {
    .list = keys_list,
    .add = keys_add,
    .remove = keys_remove,
    .attach = keys_attach,
};

/* ---- billing ---- */

static int subscriptions(struct prov_ctx *c, json_t **out)
{
        json_t *j = NULL;
        int r = call_as(c, "GET", "/api/billing/v1/subscriptions", NULL, true, &j);
        if (r < 0)
                return r;
        json_t *a = json_array();
        size_t i;
        json_t *s;
        json_array_foreach(j, i, s)
        {
                if (!json_is_object(s))
                        continue;
                long long price = prov_cents(json_object_get(s, "total_price"));
                long long renew = prov_cents(json_object_get(s, "renewal_price"));
                json_t *period = json_null();
                const json_t *bp = json_object_get(s, "billing_period");
                const char *bu = jstr(s, "billing_period_unit");
                if (json_is_integer(bp) && bu) {
                        char b[64];
                        snprintf(b, sizeof(b), "%lld %s", (long long)json_integer_value(bp), bu);
                        period = json_string(b);
                }
                json_array_append_new(
                    a,
                    json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", jcopy(s, "id"),
                              "name", jcopy(s, "name"), "status", jcopy(s, "status"), "price_cents",
                              price >= 0 ? json_integer(price) : json_null(), "renewal_price_cents",
                              renew >= 0 ? json_integer(renew) : json_null(), "currency",
                              jcopy(s, "currency_code"), "billing_period", period, "auto_renew",
                              jcopy(s, "auto_renew"), "created_at", jcopy(s, "created_at"),
                              "expires_at", jcopy(s, "expires_at"), "next_billing_at",
                              jcopy(s, "next_billing_at")));
        }
        json_decref(j);
        *out = a;
        return 0;
}

static int catalog(struct prov_ctx *c, const char *category, json_t **out)
{
        _cleanup_free_ char *cat = category ? net_escape(category) : NULL;
        _cleanup_free_ char *p = cat ? pathf("/api/billing/v1/catalog?category=%s", cat)
                                     : strdup("/api/billing/v1/catalog");
        json_t *j = NULL;
        int r = call_as(c, "GET", p, NULL, true, &j);
        if (r < 0)
                return r;
        json_t *a = json_array();
        size_t i, k;
        json_t *it, *pr;
        json_array_foreach(j, i, it)
        {
                json_array_foreach(json_object_get(it, "prices"), k, pr)
                {
                        long long price = prov_cents(json_object_get(pr, "price"));
                        long long first = prov_cents(json_object_get(pr, "first_period_price"));
                        json_array_append_new(
                            a,
                            json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
                                      jcopy(pr, "id"), "product_id", jcopy(it, "id"), "name",
                                      jcopy(it, "name"), "category", jcopy(it, "category"),
                                      "price_cents", price >= 0 ? json_integer(price) : json_null(),
                                      "first_period_price_cents",
                                      first >= 0 ? json_integer(first) : json_null(), "currency",
                                      jcopy(pr, "currency"), "period", jcopy(pr, "period"),
                                      "period_unit", jcopy(pr, "period_unit")));
                }
        }
        json_decref(j);
        *out = a;
        return 0;
}

static int payment_methods(struct prov_ctx *c, json_t **out)
{
        static const char *const keys[] = {"id",         "name",       "identifier",
                                           "is_default", "is_expired", NULL};
        return list_of(c, "/api/billing/v1/payment-methods", keys, out);
}

static const struct prov_billing_ops billing_ops = {
    .subscriptions = subscriptions,
    .catalog = catalog,
    .payment_methods = payment_methods,
};

static int test(struct prov_ctx *c, char *msg, size_t msglen)
{
        json_t *j = NULL;
        int r = call(c, "GET", "/api/billing/v1/payment-methods", NULL, &j);
        if (r < 0)
                return r;
        snprintf(msg, msglen, "Hostinger accepted the API key (%zu payment methods)",
                 json_is_array(j) ? json_array_size(j) : 0);
        json_decref(j);
        return 0;
}

const struct provider hostinger_provider = {
    .name = "hostinger",
    .display_name = "Hostinger",
    .default_base_url = "https://developers.hostinger.com",
    .test = test,
    .dns = &dns_ops,
    .domains = &domain_ops,
    .vps = &vps_ops,
    .ssh_keys = &key_ops,
    .billing = &billing_ops,
};
