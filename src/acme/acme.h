/* An RFC 8555 ACME client (HTTP-01) on net/http (libcurl) + GnuTLS + jansson. It knows
 * nothing of sites or nginx: the caller says which names to order, where the
 * challenge files go (a webroot served by nginx on port 80) and where the
 * certificate lands. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct acme_opts {
        const char *directory_url; /* RFC 8555 directory */
        const char *ca_bundle;     /* extra CA file for the ACME server's TLS, "" = system store */
        const char *account_dir;   /* account key (EC P-256, 0600) + account URL live here */
        const char *email;         /* contact, "" = none */
        const char *webroot;  /* challenge files: <webroot>/.well-known/acme-challenge/<token> */
        const char *cert_dir; /* <cert_dir>/<names[0]>/{fullchain,privkey,cert,chain}.pem */
        unsigned timeout_s;   /* overall deadline for one issuance (0 = 300) */
        /* progress lines for the job log, may be NULL */
        void (*progress)(void *ctx, const char *line);
        void *ctx;
        /* Where the new certificate goes instead of cert_dir (may be NULL):
         * called once with the checked chain (leaf first) and the new key's
         * PEM, it stores them and returns 0 with *cert_path / *key_path
         * (malloc'd), or -errno with *error (malloc'd, may stay NULL). The
         * panel's root helper writes cert_dir this way. */
        int (*install)(void *install_ctx, const char *name, const char *fullchain,
                       const char *key_pem, char **cert_path, char **key_path, char **error);
        void *install_ctx;
};

struct acme_result {
        char *cert_path; /* <cert_dir>/<name>/fullchain.pem (malloc'd) */
        char *key_path;  /* privkey.pem */
        time_t not_before, not_after;
        char *issuer; /* issuer CN (or DN) of the leaf */
        char *error;  /* on failure: the server's problem (type, detail, subproblems) or ours */
};

/* Order, validate (HTTP-01), finalize (new EC P-256 key + CSR) and download
 * a certificate for names[0..n) (names[0] is the primary name). Files are
 * written atomically; the previous ones are kept until the new ones are in
 * place. 0 or -errno with res->error set. */
int acme_issue(const struct acme_opts *o, const char *const *names, size_t n,
               struct acme_result *res);
void acme_result_clear(struct acme_result *res);

/* ---- pieces, exposed for unit tests and for status pages ---- */

struct cert_info {
        char *subject_cn, *issuer; /* malloc'd */
        char **names;              /* SAN DNS names */
        size_t nnames;
        time_t not_before, not_after;
};
/* Parse the first certificate of a PEM file. 0 or -errno. */
int acme_cert_info(const char *pem_path, struct cert_info *out);
void cert_info_clear(struct cert_info *ci);

/* Parse the first certificate of PEM text. 0 or -errno. */
int acme_cert_info_mem(const char *pem, size_t len, struct cert_info *out);

/* Split a downloaded chain into the leaf (first PEM block) and the rest;
 * every block must parse as a certificate. malloc'd strings, *chain may be
 * "". 0 or -EINVAL / -ENOMEM. */
int acme_split_chain(const char *pem, size_t len, char **leaf, char **chain);

#define ACME_RENEW_BEFORE (30 * 86400) /* renew this long before notAfter */

/* Renewal decision: renew when now >= not_after - 30 days, or when the CA's
 * renewalInfo window (if known: window_start > 0) has started. */
bool acme_should_renew(time_t now, time_t not_after, time_t window_start);

/* ---- ARI (RFC 9773 renewalInfo), only where the directory offers it ---- */

/* The certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial
 * DER content bytes), of the first certificate of PEM text. 0 or -errno
 * (-ENOENT: the certificate has no AKI keyIdentifier). */
int acme_ari_cert_id_mem(const char *pem, size_t len, char **out);
int acme_ari_cert_id(const char *pem_path, char **out);

struct acme_renewal_window {
        time_t start, end;     /* suggestedWindow */
        time_t retry_after;    /* absolute time to ask again (0 = not said) */
        char *explanation_url; /* malloc'd or NULL */
};
/* Ask the CA for the suggested renewal window of the certificate in
 * pem_path (GET <renewalInfo>/<cert id>). 0; -EOPNOTSUPP when the directory
 * has no renewalInfo; else -errno with *error set (malloc'd). */
int acme_renewal_info(const struct acme_opts *o, const char *pem_path,
                      struct acme_renewal_window *w, char **error);
void acme_renewal_window_clear(struct acme_renewal_window *w);
/* Parse a renewalInfo response body. 0 or -EINVAL. */
int acme_renewal_info_parse(const char *body, struct acme_renewal_window *w);
/* RFC 9773 §4.2: a uniformly random moment in [start, end), from rnd. When
 * end <= start, start. */
time_t acme_ari_pick(time_t start, time_t end, unsigned long rnd);

/* RFC 3339 timestamps as CAs send them (fractions, "Z" or offsets). 0 or -EINVAL. */
int acme_parse_time(const char *s, time_t *out);
