/* Certificates of sites: issue or renew through the ACME client, then the
 * site's vhost is regenerated with TLS (nginx transaction: `nginx -t`,
 * reload, roll back on failure) and the site row records ssl_enabled, the
 * paths and the expiry. Shared by the /ssl API and the renewal scheduler.
 * One issuance per domain at a time. Every attempt is stored. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/config.h"

struct db;
struct job;
struct job_kind;

struct cert_status {
        char *domain;
        char *issuer;
        time_t not_before, not_after;
        long days_left;
        bool auto_renew;
        bool managed; /* belongs to a site of the panel (else found under acme.cert_dir) */
        char *cert_path;
        char *last_attempt_at; /* RFC 3339, NULL when never attempted */
        char *last_result;     /* "success" / "failed" / NULL */
        char *last_error;      /* NULL unless the last attempt failed */
        bool panel;            /* the panel's own certificate (server.cert) */
};

/* Issue (renew = false) or renew (renew = true, always a new certificate) for
 * the site whose domain is `domain`, with its aliases as extra names. Output
 * lines go to job when non-NULL. 0, -ENOENT (no such site), -EBUSY (an
 * issuance for this domain is already running), or -errno with *err set
 * (malloc'd: the ACME problem or nginx's message). On success *cert_path
 * (malloc'd, may be NULL) is the fullchain path. */
int certs_issue_for_site(const struct config *cfg, struct db *db, const char *domain, bool renew,
                         struct job *job, char **cert_path, char **err);

/* Issue and renew as jobs of the engine (jobs/engine.h), subject
 * "domain:<domain>" (the lock the scheduler's renewals take too), one step
 * "certificate"; ctx is a struct cert_job, which says how it ended. */
struct cert_job {
        const struct config *cfg;
        struct db *db;
        char *domain; /* lower-case */
        bool renew;
        bool panel;      /* the panel's own certificate (domain is server.acme_hostname) */
        bool automatic;  /* a scheduled renewal (recorded as "auto") */
        int rc;          /* certs_issue_for_site's result */
        char *cert_path; /* on success */
        char *err;       /* on failure */
};
struct cert_job *cert_job_new(const struct config *cfg, struct db *db, const char *domain,
                              bool renew);
void cert_job_free(void *ctx);
extern const struct job_kind cert_issue_kind, cert_renew_kind;

/* Every managed certificate plus any other certificate found under
 * acme.cert_dir (certbot's), parsed from the files. */
int certs_list(const struct config *cfg, struct db *db, struct cert_status **out, size_t *n);
void certs_list_free(struct cert_status *list, size_t n);

/* Start a cert_renew job (subject "domain:<domain>", user "scheduler",
 * recorded as "auto") for every certificate that is due (acme_should_renew;
 * failed ones retried with back-off) and return without waiting for them:
 * the number of renewals started, or -errno. A domain another job holds is
 * skipped. Called by the scheduler; the jobs show in /api/jobs. The panel's certificate is
 * included when server.acme_hostname is set and server.cert is a CA-issued
 * certificate for it. */
int certs_renew_due(const struct config *cfg, struct db *db, time_t now);

/* ---- the panel's own certificate (server.acme_hostname) ---- */

/* Order a certificate for server.acme_hostname through the same ACME client
 * and install it as server.cert / server.key (key first, then the
 * certificate, each renamed into place: the running panel picks the pair up
 * at its next handshake check, http/tls.c). First an nginx vhost for the
 * host name that serves the challenge location is put in place (nginx -t,
 * reload) and kept for renewals. renew requires server.cert to be a
 * certificate for the host name already. Recorded in cert_attempts under
 * the host name; one order per name at a time (shared with sites).
 * 0; -EOPNOTSUPP (the key is not set), -ENOENT (nothing to renew), -EBUSY,
 * -EEXIST (a site has that domain: its certificate directory would be
 * shared), or another -errno; *err (malloc'd) says why. */
int certs_issue_panel(const struct config *cfg, struct db *db, bool renew, char **err);
