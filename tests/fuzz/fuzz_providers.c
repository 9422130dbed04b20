/* Provider answers are outside input: every operation of every provider is
 * run with the fuzz input as the upstream's answer (providers/provider.h
 * prov_canned: no network). Input: byte 0 picks the operation, byte 1 the
 * status (2xx or an error status), the rest is the body. Invariants: an
 * operation returns 0 (with a JSON value of the panel's shape where it
 * answers one) or -errno with a printable message; error fields are an
 * object of arrays of strings. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "base/util.h"
#include "providers/provider.h"
#include "providers/records.h"
#include "fuzz.h"

static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 422, 429, 500, 502, 503};

static void check_err(const struct prov_ctx *c, int r)
{
        CHECK(r < 0);
        for (const char *p = c->err.message; *p; p++)
                CHECK(*p >= 0x20 && *p <= 0x7e);
        if (c->err.fields) {
                CHECK(json_is_object(c->err.fields));
                const char *k;
                json_t *v;
                json_object_foreach(c->err.fields, k, v)
                {
                        CHECK(json_is_array(v));
                        size_t i;
                        json_t *m;
                        json_array_foreach(v, i, m) CHECK(json_is_string(m));
                }
        }
}

static void check_json(json_t *j, bool array)
{
        CHECK(array ? json_is_array(j) : json_is_object(j));
        char *s = json_dumps(j, JSON_COMPACT);
        CHECK(s);
        free(s);
}

static void run(const struct provider *p, unsigned op, struct prov_ctx *c)
{
        json_t *j = NULL;
        int r = -EOPNOTSUPP;
        bool array = true;
        static const char *const names[] = {"a.com", "b.io"};
        static const char *const ids[] = {"1", "2"};
        struct dns_record rec = {(char *)"www", (char *)"MX", (char *)"mx.example.com", 300, 10};
        switch (op % 22) {
        case 0:
                if (p->dns) {
                        struct dns_record *v = NULL;
                        size_t n = 0;
                        r = p->dns->list(c, "example.com", &v, &n);
                        if (r == 0)
                                for (size_t i = 0; i < n; i++) {
                                        CHECK(v[i].name && v[i].type && v[i].content);
                                        json_t *x = dns_record_json(&v[i]);
                                        CHECK(x);
                                        json_decref(x);
                                }
                        dns_records_free(v, n);
                        array = false;
                }
                break;
        case 1:
                if (p->dns)
                        r = p->dns->update(c, "example.com", &rec, 1, op & 0x80);
                break;
        case 2:
                if (p->dns)
                        r = p->dns->remove(c, "example.com", "www", "A");
                break;
        case 3:
                if (p->domains)
                        r = p->domains->list(c, &j);
                break;
        case 4:
                if (p->domains) {
                        r = p->domains->get(c, "a.com", &j);
                        array = false;
                }
                break;
        case 5:
                if (p->domains)
                        r = p->domains->check(c, names, 2, &j);
                break;
        case 6:
                if (p->domains) {
                        struct domain_order o = {
                            .domain = "a.com", .period_years = 1, .privacy_protection = true};
                        r = p->domains->purchase(c, &o, &j);
                        array = false;
                }
                break;
        case 7:
                if (p->vps)
                        r = p->vps->list(c, &j);
                break;
        case 8:
                if (p->vps) {
                        r = p->vps->get(c, "1", &j);
                        array = false;
                }
                break;
        case 9:
                if (p->vps) {
                        struct vm_order o = {"x", "1", "2", NULL, NULL, "3", NULL};
                        r = p->vps->create(c, &o, &j);
                        array = false;
                }
                break;
        case 10:
                if (p->vps) {
                        r = p->vps->power(c, "1", "start", &j);
                        array = false;
                }
                break;
        case 11:
                if (p->vps) {
                        r = p->vps->metrics(c, "1", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z",
                                            &j);
                        array = false;
                }
                break;
        case 12:
                if (p->vps)
                        r = p->vps->datacenters(c, &j);
                break;
        case 13:
                if (p->vps)
                        r = p->vps->templates(c, &j);
                break;
        case 14:
                if (p->ssh_keys)
                        r = p->ssh_keys->list(c, &j);
                break;
        case 15:
                if (p->ssh_keys) {
                        r = p->ssh_keys->add(c, "k", "ssh-ed25519 AAAA", &j);
                        array = false;
                }
                break;
        case 16:
                if (p->ssh_keys)
                        r = p->ssh_keys->attach(c, "1", ids, 2);
                break;
        case 17:
                if (p->billing)
                        r = p->billing->subscriptions(c, &j);
                break;
        case 18:
                if (p->billing)
                        r = p->billing->catalog(c, NULL, &j);
                break;
        case 19:
                if (p->billing)
                        r = p->billing->payment_methods(c, &j);
                break;
        case 20: {
                char msg[256];
                r = p->test(c, msg, sizeof(msg));
                if (r == 0)
                        for (const char *q = msg; *q; q++)
                                CHECK(*q != '\n');
                break;
        }
        case 21:
                if (p->dns && p->dns->reset)
                        r = p->dns->reset(c, "example.com");
                break;
        }
        if (r == -EOPNOTSUPP)
                return;
        if (r == 0) {
                if (j)
                        check_json(j, array);
        } else {
                check_err(c, r);
                CHECK(!j);
        }
        json_decref(j);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        if (size < 2)
                return 0;
        struct prov_canned canned = {statuses[data[1] % ARRAY_SIZE(statuses)],
                                     (const char *)data + 2, size - 2};
        const struct provider *p;
        for (size_t i = 0; (p = provider_at(i)); i++) {
                struct prov_ctx c = {.p = p,
                                     .api_key = "fuzz-key",
                                     .base_url = "https://upstream.invalid",
                                     .canned = &canned};
                run(p, data[0], &c);
                prov_ctx_clear(&c);
        }
        return 0;
}
