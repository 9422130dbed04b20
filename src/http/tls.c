#include "http/tls.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/util.h"

#define MAX_CHAIN 8

struct creds {
        gnutls_pcert_st pcert[MAX_CHAIN];
        unsigned n;
        gnutls_privkey_t key;
        struct creds *older; /* retired generations: a handshake may still use one */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct creds *current;
static char *cert_file, *key_file;
static struct timespec cert_mtime, key_mtime;
static double next_check;
/* Session tickets (RFC 8446 §4.6.1; GnuTLS rotates the keys it derives from
 * this one). Besides letting clients resume, the tickets GnuTLS sends right
 * after a TLS 1.3 handshake are what acknowledges the client's last flight
 * at once: without them the server sends nothing until the request, and a
 * client with Nagle's algorithm on (Python's http.client, curl without
 * --tcp-nodelay...) holds its request back until our delayed ACK, ~40 ms on
 * every new connection. nginx sends tickets the same way. */
static gnutls_datum_t ticket_key;

static void creds_free(struct creds *c)
{
        while (c) {
                struct creds *o = c->older;
                for (unsigned i = 0; i < c->n; i++)
                        gnutls_pcert_deinit(&c->pcert[i]);
                gnutls_privkey_deinit(c->key);
                free(c);
                c = o;
        }
}

static int load(struct creds **out)
{
        _cleanup_free_ char *cert = NULL, *key = NULL;
        size_t clen = 0, klen = 0;
        int r = read_file(cert_file, 1u << 20, &cert, &clen);
        if (r < 0)
                return r;
        r = read_file(key_file, 1u << 20, &key, &klen);
        if (r < 0)
                return r;
        struct creds *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        gnutls_datum_t cd = {(unsigned char *)cert, (unsigned)clen};
        gnutls_datum_t kd = {(unsigned char *)key, (unsigned)klen};
        c->n = MAX_CHAIN;
        if (gnutls_pcert_list_import_x509_raw(c->pcert, &c->n, &cd, GNUTLS_X509_FMT_PEM, 0) < 0 ||
            c->n == 0) {
                c->n = 0;
                creds_free(c);
                return -EINVAL;
        }
        if (gnutls_privkey_init(&c->key) < 0 ||
            gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0) < 0) {
                creds_free(c);
                return -EINVAL;
        }
        explicit_bzero(key, klen);
        *out = c;
        return 0;
}

static bool stat_changed(void)
{
        struct stat a, b;
        if (stat(cert_file, &a) < 0 || stat(key_file, &b) < 0)
                return false; /* mid-replacement or gone: keep what we have */
        bool changed =
            a.st_mtim.tv_sec != cert_mtime.tv_sec || a.st_mtim.tv_nsec != cert_mtime.tv_nsec ||
            b.st_mtim.tv_sec != key_mtime.tv_sec || b.st_mtim.tv_nsec != key_mtime.tv_nsec;
        cert_mtime = a.st_mtim;
        key_mtime = b.st_mtim;
        return changed;
}

int tls_creds_init(const char *cert_path, const char *key_path)
{
        tls_creds_free();
        cert_file = strdup(cert_path);
        key_file = strdup(key_path);
        if (!cert_file || !key_file)
                return -ENOMEM;
        stat_changed();
        next_check = time_monotonic() + 1.0;
        if (gnutls_session_ticket_key_generate(&ticket_key) < 0)
                log_warn("tls: no session ticket key: clients cannot resume sessions");
        return load(&current);
}

void tls_session_setup(gnutls_session_t session)
{
        if (ticket_key.data)
                gnutls_session_ticket_enable_server(session, &ticket_key);
}

/* Called by GnuTLS during each handshake. The returned certificate and key
 * must stay valid for the handshake, so a replaced generation is retired,
 * not freed, until the server stops. */
static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **pcert,
                    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
        pthread_mutex_lock(&lock);
        double now = time_monotonic();
        if (now >= next_check) {
                next_check = now + 1.0;
                struct creds *fresh = NULL;
                if (stat_changed()) {
                        int r = load(&fresh);
                        if (r == 0) {
                                fresh->older = current;
                                current = fresh;
                                log_info("tls: loaded the renewed certificate %s", cert_file);
                        } else {
                                log_warn("tls: %s changed but cannot be loaded (%s): keeping "
                                         "the previous certificate",
                                         cert_file, strerror(-r));
                        }
                }
        }
        struct creds *c = current;
        pthread_mutex_unlock(&lock);
        if (!c)
                return -1;
        *pcert = c->pcert;
        *pcert_length = c->n;
        *privkey = c->key;
        return 0;
}

void *tls_creds_callback(void)
{
        return (void *)retrieve;
}

void tls_creds_free(void)
{
        pthread_mutex_lock(&lock);
        creds_free(current);
        current = NULL;
        free(cert_file);
        free(key_file);
        cert_file = key_file = NULL;
        if (ticket_key.data) {
                gnutls_memset(ticket_key.data, 0, ticket_key.size);
                gnutls_free(ticket_key.data);
                ticket_key = (gnutls_datum_t){0};
        }
        pthread_mutex_unlock(&lock);
}
