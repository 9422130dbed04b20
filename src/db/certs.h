/* cert_attempts: every issuance or renewal of a site certificate and its
 * outcome (migration 3), and the renewal back-off derived from them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct db;

struct cert_attempt {
        long long id;
        char *domain;
        char *kind;       /* "issue", "renew", "auto" */
        char *result;     /* "success", "failed" */
        char *error;      /* NULL unless failed */
        char *not_after;  /* RFC 3339 of the new certificate, NULL unless success */
        char *created_at; /* RFC 3339 UTC */
};

void cert_attempt_clear(struct cert_attempt *a);
void cert_attempts_free(struct cert_attempt *list, size_t n);

/* Record an attempt stamped now. error and not_after may be NULL. kind and
 * result must be one of the values above (-EINVAL). The new id or -errno. */
long long cert_attempts_insert(struct db *db, const char *domain, const char *kind,
                               const char *result, const char *error, const char *not_after);
/* Attempts for domain (NULL: every domain), newest first, at most limit
 * (0 = 20). *out malloc'd (NULL when empty). 0 or -errno. */
int cert_attempts_list(struct db *db, const char *domain, size_t limit, struct cert_attempt **out,
                       size_t *n);
/* The newest attempt for domain: 0, -ENOENT or -errno. */
int cert_attempts_last(struct db *db, const char *domain, struct cert_attempt *out);

/* Back-off of scheduled renewals: k = the number of failed "auto" attempts
 * since the domain's last success (of any kind); after k >= 1 of them the
 * next automatic attempt waits min(2^k hours, 24 hours) from the newest
 * failure. *next gets the earliest time an automatic attempt may run (0
 * when nothing holds it back), *failures gets k (may be NULL). 0 or -errno. */
int cert_attempts_next_auto(struct db *db, const char *domain, time_t *next, int *failures);
/* The delay after k consecutive failures (k <= 0: 0). */
long cert_backoff_seconds(int k);
