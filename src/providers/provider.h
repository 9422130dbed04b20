/* Hosting providers: one vtable per provider with typed operations per
 * capability (dns, domains, vps, ssh_keys, billing). A capability the
 * provider lacks is a NULL table (the API answers 501). Providers talk to
 * their upstream through net/http.h and never touch the database or the
 * system. Every operation returns 0 or -errno with ctx->err filled:
 *   -EACCES     upstream rejected the credentials (401/403)
 *   -EINVAL     upstream rejected the request as invalid (422; err.fields)
 *   -ENOENT     upstream has no such object (404)
 *   -EAGAIN     upstream still said 429 after the retries
 *   -EPROTO     any other upstream failure or an unparseable answer
 *   -EIO, -ETIMEDOUT, -EFBIG  no usable answer (connection, TLS, size)
 *   -EOPNOTSUPP the provider cannot do this
 * Objects other than DNS records are returned as jansson values already in
 * the panel's shapes (spec/hosting-api.md). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct net_client;

struct prov_error {
        int upstream_status; /* 0 = no answer */
        char message[512];
        char correlation_id[128];
        json_t *fields; /* 422: {"field":["message",...]} or NULL */
};

/* tests and fuzzing: every upstream call of a context with one gets this
 * answer, without any network */
struct prov_canned {
        int status;
        const char *body;
        size_t len;
};

struct prov_ctx {
        const struct provider *p;
        struct net_client *net;
        const char *api_key;  /* never logged, never in a message */
        const char *base_url; /* without a trailing slash */
        const json_t *extra;  /* provider options (object), may be NULL */
        bool allow_http;      /* base_url is http:// to a loopback address */
        unsigned retries_429;
        const struct prov_canned *canned; /* NULL in the panel */
        struct prov_error err;
};

void prov_ctx_clear(struct prov_ctx *ctx);

/* A DNS record as users write it: name relative to the zone ("@" = apex),
 * hostnames without the trailing dot, TXT unquoted, MX/SRV priority apart. */
struct dns_record {
        char *name, *type, *content;
        long ttl;
        long priority; /* MX and SRV; -1 otherwise */
};

void dns_records_free(struct dns_record *r, size_t n);

struct prov_dns_ops {
        int (*list)(struct prov_ctx *c, const char *zone, struct dns_record **out, size_t *n);
        /* overwrite: replace every record set named in recs; else append */
        int (*update)(struct prov_ctx *c, const char *zone, const struct dns_record *recs, size_t n,
                      bool overwrite);
        /* dry run of update, NULL when the provider has no such call */
        int (*validate)(struct prov_ctx *c, const char *zone, const struct dns_record *recs,
                        size_t n, bool overwrite);
        int (*remove)(struct prov_ctx *c, const char *zone, const char *name, const char *type);
        int (*reset)(struct prov_ctx *c, const char *zone);
};

struct domain_order {
        const char *domain;
        const char *item_id; /* catalog price id; NULL = pick by period_years */
        long period_years;
        const char *payment_method_id; /* may be NULL */
        bool privacy_protection;
};

struct prov_domain_ops {
        int (*list)(struct prov_ctx *c, json_t **out);
        int (*get)(struct prov_ctx *c, const char *domain, json_t **out);
        int (*check)(struct prov_ctx *c, const char *const *names, size_t n, json_t **out);
        int (*purchase)(struct prov_ctx *c, const struct domain_order *o, json_t **out);
        int (*set_nameservers)(struct prov_ctx *c, const char *domain, const char *const *ns,
                               size_t n);
        int (*set_lock)(struct prov_ctx *c, const char *domain, bool on);
        int (*set_privacy)(struct prov_ctx *c, const char *domain, bool on);
};

struct vm_order {
        const char *item_id, *data_center_id, *template_id;
        const char *hostname, *password, *ssh_key_id, *payment_method_id; /* may be NULL */
};

struct prov_vps_ops {
        int (*list)(struct prov_ctx *c, json_t **out);
        int (*get)(struct prov_ctx *c, const char *id, json_t **out);
        int (*create)(struct prov_ctx *c, const struct vm_order *o, json_t **out);
        /* action: "start", "stop" or "restart" */
        int (*power)(struct prov_ctx *c, const char *id, const char *action, json_t **out);
        int (*metrics)(struct prov_ctx *c, const char *id, const char *from, const char *to,
                       json_t **out);
        int (*datacenters)(struct prov_ctx *c, json_t **out);
        int (*templates)(struct prov_ctx *c, json_t **out);
};

struct prov_sshkey_ops {
        int (*list)(struct prov_ctx *c, json_t **out);
        int (*add)(struct prov_ctx *c, const char *name, const char *public_key, json_t **out);
        int (*remove)(struct prov_ctx *c, const char *id);
        int (*attach)(struct prov_ctx *c, const char *vm_id, const char *const *ids, size_t n);
};

struct prov_billing_ops {
        int (*subscriptions)(struct prov_ctx *c, json_t **out);
        int (*catalog)(struct prov_ctx *c, const char *category, json_t **out);
        int (*payment_methods)(struct prov_ctx *c, json_t **out);
};

struct provider {
        const char *name, *display_name;
        const char *default_base_url;
        /* one cheap upstream call; *msg is a short description of success */
        int (*test)(struct prov_ctx *c, char *msg, size_t msglen);
        const struct prov_dns_ops *dns;
        const struct prov_domain_ops *domains;
        const struct prov_vps_ops *vps;
        const struct prov_sshkey_ops *ssh_keys;
        const struct prov_billing_ops *billing;
};

/* providers/registry.c: the one table of providers */
const struct provider *provider_find(const char *name);
const struct provider *provider_at(size_t i); /* NULL past the end */

/* ---- helpers for provider implementations (providers/upstream.c) ---- */

/* base_url + path, body (may be NULL) sent as JSON; headers are the
 * provider's auth lines. On 2xx *out (may be NULL) gets the JSON answer
 * (NULL for an empty body). Other statuses are mapped as described above. */
int prov_call(struct prov_ctx *c, const char *method, const char *path, const char *const *headers,
              json_t *body, json_t **out);
/* Error message helpers */
int prov_fail(struct prov_ctx *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse an upstream error answer (JSON {message|error, correlation_id,
 * errors} or text) into c->err. Exposed for the fuzz target. */
void prov_parse_error(struct prov_ctx *c, int status, const char *body, size_t len);

/* Money as upstream gives it: integer cents, or a JSON number. -1 when absent. */
long long prov_cents(const json_t *v);
