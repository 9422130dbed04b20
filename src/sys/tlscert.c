#include "sys/tlscert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/rand.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/gnutls_dl.h"
#include "sys/helpcall.h"

/* Browsers refuse a server certificate valid more than 398 days (counted from
 * notBefore, which is an hour back): 397 days from now. */
#define VALIDITY_DAYS 397
/* A PEM key or certificate of ours is ~1 KiB; anything past this is not one. */
#define PEM_FILE_MAX (256 * 1024)

static int gnutls_to_errno(int g)
{
        switch (g) {
        case GNUTLS_E_SUCCESS:
                return 0;
        case GNUTLS_E_MEMORY_ERROR:
                return -ENOMEM;
        case GNUTLS_E_SHORT_MEMORY_BUFFER:
                return -ENOBUFS;
        default:
                return -EINVAL;
        }
}

static void crt_deinitp(gnutls_x509_crt_t *c)
{
        if (*c)
                gnutls_x509_crt_deinit(*c);
}

static void privkey_deinitp(gnutls_x509_privkey_t *k)
{
        if (*k)
                gnutls_x509_privkey_deinit(*k);
}

static void datum_freep(gnutls_datum_t *d)
{
        if (d->data) {
                /* The key PEM passes through here: do not leave it in freed memory. */
                explicit_bzero(d->data, d->size);
                gnutls_free(d->data);
        }
        d->data = NULL;
}

/* mkdir -p for the parent of path, new directories 0700. */
static int mkdir_parents(const char *path)
{
        _cleanup_free_ char *dir = path_dirname(path);
        if (!dir)
                return -ENOMEM;
        return mkdir_p(dir, 0700);
}

static int add_san(gnutls_x509_crt_t crt, const char *name)
{
        unsigned char ip[16];
        if (inet_pton(AF_INET, name, ip) == 1)
                return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                                                            GNUTLS_FSAN_APPEND);
        if (inet_pton(AF_INET6, name, ip) == 1)
                return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
                                                            GNUTLS_FSAN_APPEND);
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                    (unsigned)strlen(name), GNUTLS_FSAN_APPEND);
}

static int build_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn)
{
        unsigned char serial[16];
        int r = rand_bytes(serial, sizeof(serial));
        if (r < 0)
                return r;
        /* DER INTEGERs are signed: keep the serial positive. */
        serial[0] &= 0x7f;
        serial[0] |= 0x01;

        time_t now = time(NULL);
        unsigned char keyid[64];
        size_t keyid_len = sizeof(keyid);

        int g = gnutls_x509_crt_set_version(crt, 3);
        if (g >= 0)
                g = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
        if (g >= 0)
                g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                  (unsigned)strlen(cn));
        /* Backdated an hour so a client with a slightly slow clock accepts it. */
        if (g >= 0)
                g = gnutls_x509_crt_set_activation_time(crt, now - 3600);
        if (g >= 0)
                g = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)VALIDITY_DAYS * 86400);
        if (g >= 0)
                g = gnutls_x509_crt_set_key(crt, key);
        if (g >= 0)
                g = add_san(crt, "localhost");
        if (g >= 0 && !streq(cn, "localhost") && !streq(cn, "127.0.0.1") && !streq(cn, "::1"))
                g = add_san(crt, cn);
        if (g >= 0)
                g = add_san(crt, "127.0.0.1");
        if (g >= 0)
                g = add_san(crt, "::1");
        if (g >= 0)
                g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
        if (g >= 0)
                g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
        if (g >= 0)
                g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
        if (g >= 0)
                g = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, keyid, &keyid_len);
        if (g >= 0)
                g = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyid_len);
        if (g >= 0)
                g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
        if (g < 0) {
                log_error("tlscert: building certificate failed: %s", gnutls_strerror(g));
                return gnutls_to_errno(g);
        }
        return 0;
}

int tlscert_create_selfsigned(const char *cert_path, const char *key_path, const char *common_name)
{
        if (!gnutls_fns())
                return -ELIBACC;
        if (str_empty(cert_path) || str_empty(key_path) || str_empty(common_name))
                return -EINVAL;
        /* X.520 upper bound for CommonName; also keeps the SAN a sane DNS name. */
        if (strlen(common_name) > 64)
                return -EINVAL;

        int r = mkdir_parents(key_path);
        if (r < 0)
                return r;
        r = mkdir_parents(cert_path);
        if (r < 0)
                return r;

        _cleanup_(privkey_deinitp) gnutls_x509_privkey_t key = NULL;
        _cleanup_(crt_deinitp) gnutls_x509_crt_t crt = NULL;
        _cleanup_(datum_freep) gnutls_datum_t key_pem = {0};
        _cleanup_(datum_freep) gnutls_datum_t crt_pem = {0};

        int g = gnutls_x509_privkey_init(&key);
        if (g >= 0)
                g = gnutls_x509_privkey_generate(
                    key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
        if (g >= 0)
                g = gnutls_x509_crt_init(&crt);
        if (g < 0) {
                log_error("tlscert: key generation failed: %s", gnutls_strerror(g));
                return gnutls_to_errno(g);
        }
        r = build_cert(crt, key, common_name);
        if (r < 0)
                return r;

        g = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem);
        if (g >= 0)
                g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem);
        if (g < 0) {
                log_error("tlscert: PEM export failed: %s", gnutls_strerror(g));
                return gnutls_to_errno(g);
        }

        r = write_file_atomic(key_path, key_pem.data, key_pem.size, 0600);
        if (r < 0)
                return r;
        return write_file_atomic(cert_path, crt_pem.data, crt_pem.size, 0644);
}

/* Whole file into a gnutls_datum_t, bounded by PEM_FILE_MAX. */
static int read_pem(const char *path, gnutls_datum_t *out)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (st.st_size > PEM_FILE_MAX)
                return -EFBIG;

        size_t cap = (size_t)st.st_size + 1;
        unsigned char *buf = gnutls_malloc(cap);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        for (;;) {
                if (len == cap) {
                        /* The file grew while we read it: treat as too big. */
                        explicit_bzero(buf, len);
                        gnutls_free(buf);
                        return -EFBIG;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        explicit_bzero(buf, len);
                        gnutls_free(buf);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        out->data = buf;
        out->size = (unsigned)len;
        return 0;
}

/* The key of crt_pem's first certificate is key_pem's. */
static int pair_matches(const gnutls_datum_t *crt_pem, const gnutls_datum_t *key_pem)
{
        _cleanup_(crt_deinitp) gnutls_x509_crt_t crt = NULL;
        _cleanup_(privkey_deinitp) gnutls_x509_privkey_t key = NULL;
        int g = gnutls_x509_crt_init(&crt);
        if (g >= 0)
                g = gnutls_x509_privkey_init(&key);
        if (g < 0)
                return gnutls_to_errno(g);
        if (gnutls_x509_crt_import(crt, crt_pem, GNUTLS_X509_FMT_PEM) < 0)
                return -EINVAL;
        /* import2 also takes PKCS#8, so an operator-supplied key works too. */
        if (gnutls_x509_privkey_import2(key, key_pem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
                return -EINVAL;

        unsigned char crt_id[64], key_id[64];
        size_t crt_id_len = sizeof(crt_id), key_id_len = sizeof(key_id);
        if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_id_len) < 0)
                return -EINVAL;
        if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_len) < 0)
                return -EINVAL;
        if (crt_id_len != key_id_len || memcmp(crt_id, key_id, crt_id_len) != 0)
                return -EINVAL;
        return 0;
}

int tlscert_check(const char *cert_path, const char *key_path)
{
        if (!gnutls_fns())
                return -ELIBACC;
        if (str_empty(cert_path) || str_empty(key_path))
                return -EINVAL;

        _cleanup_(datum_freep) gnutls_datum_t crt_pem = {0};
        _cleanup_(datum_freep) gnutls_datum_t key_pem = {0};
        int r = read_pem(cert_path, &crt_pem);
        if (r < 0)
                return r;
        r = read_pem(key_path, &key_pem);
        if (r < 0)
                return r;
        return pair_matches(&crt_pem, &key_pem);
}

/* ---- a site's certificate files ---- */

#define PEM_END_CERT "-----END CERTIFICATE-----"

int tlscert_check_chain(const char *fullchain, const char *key)
{
        if (!gnutls_fns())
                return -ELIBACC;
        if (!fullchain || !key || strlen(fullchain) > PEM_FILE_MAX || strlen(key) > PEM_FILE_MAX)
                return -EINVAL;
        gnutls_datum_t c = {.data = (unsigned char *)fullchain,
                            .size = (unsigned)strlen(fullchain)};
        gnutls_datum_t k = {.data = (unsigned char *)key, .size = (unsigned)strlen(key)};
        /* every block a certificate */
        gnutls_x509_crt_t *list = NULL;
        unsigned n = 0;
        if (gnutls_x509_crt_list_import2(&list, &n, &c, GNUTLS_X509_FMT_PEM, 0) < 0)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++)
                gnutls_x509_crt_deinit(list[i]);
        gnutls_free(list);
        if (n == 0)
                return -EINVAL;
        return pair_matches(&c, &k);
}

static void set_msg(char **msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_msg(char **msg, const char *fmt, ...)
{
        if (!msg)
                return;
        free(*msg);
        *msg = NULL;
        struct strbuf b = STRBUF_INIT(0);
        va_list ap;
        va_start(ap, fmt);
        int r = strbuf_vprintf(&b, fmt, ap);
        va_end(ap);
        *msg = r < 0 ? NULL : strbuf_steal(&b);
        strbuf_free(&b);
}

static char *cert_path_of(const char *dir, const char *domain, const char *file)
{
        struct strbuf b = STRBUF_INIT(0);
        if (strbuf_printf(&b, "%s/%s/%s", dir, domain, file) < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_steal(&b);
}

static int install_local(const struct config *cfg, const char *domain, const char *fullchain,
                         const char *key, char **cert_path, char **key_path, char **msg)
{
        const char *dir = cfg ? cfg->acme.cert_dir : NULL;
        if (str_empty(dir) || dir[0] != '/') {
                set_msg(msg, "acme.cert_dir must be an absolute path");
                return -EINVAL;
        }
        if (!domain || !valid_domain(domain)) {
                set_msg(msg, "not a valid domain");
                return -EINVAL;
        }
        for (const char *p = domain; *p; p++)
                if (*p >= 'A' && *p <= 'Z') {
                        set_msg(msg, "the domain must be lower case");
                        return -EINVAL;
                }
        if (tlscert_check_chain(fullchain, key) < 0) {
                set_msg(msg, "the certificate chain does not parse or is not for the key");
                return -EINVAL;
        }
        /* the leaf (cert.pem) and the rest (chain.pem), as certbot lays them out */
        const char *end = strstr(fullchain, PEM_END_CERT);
        size_t leaf_len = end ? (size_t)(end - fullchain) + strlen(PEM_END_CERT) : 0;
        while (leaf_len && fullchain[leaf_len] == '\r')
                leaf_len++;
        if (leaf_len && fullchain[leaf_len] == '\n')
                leaf_len++;
        const char *chain = fullchain + leaf_len;
        chain += strspn(chain, "\r\n");
        _cleanup_free_ char *cdir = cert_path_of(dir, domain, "");
        _cleanup_free_ char *kp = cert_path_of(dir, domain, "privkey.pem");
        _cleanup_free_ char *lp = cert_path_of(dir, domain, "cert.pem");
        _cleanup_free_ char *chp = cert_path_of(dir, domain, "chain.pem");
        _cleanup_free_ char *fp = cert_path_of(dir, domain, "fullchain.pem");
        if (!cdir || !kp || !lp || !chp || !fp)
                return -ENOMEM;
        int r = mkdir_p(cdir, 0755);
        if (r < 0) {
                set_msg(msg, "certificate directory %s: %s", cdir, strerror(-r));
                return r;
        }
        /* the key first: fullchain.pem, last, names the new pair complete */
        r = write_file_atomic(kp, key, strlen(key), 0600);
        if (r == 0)
                r = write_file_atomic(lp, fullchain, leaf_len, 0644);
        if (r == 0)
                r = write_file_atomic(chp, chain, strlen(chain), 0644);
        if (r == 0)
                r = write_file_atomic(fp, fullchain, strlen(fullchain), 0644);
        if (r < 0) {
                set_msg(msg, "writing the certificate files in %s: %s", cdir, strerror(-r));
                return r;
        }
        if (cert_path)
                *cert_path = TAKE_PTR(fp);
        if (key_path)
                *key_path = TAKE_PTR(kp);
        return 0;
}

int tlscert_install_site(const struct config *cfg, const char *domain, const char *fullchain,
                         const char *key, char **cert_path, char **key_path, char **msg)
{
        if (cert_path)
                *cert_path = NULL;
        if (key_path)
                *key_path = NULL;
        if (msg)
                *msg = NULL;
        if (!helpcall_active())
                return install_local(cfg, domain, fullchain, key, cert_path, key_path, msg);
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_CERT_INSTALL);
        hm_add_str(&hb, domain);
        hm_add_str(&hb, fullchain);
        hm_add_str(&hb, key);
        struct helpcall_reply rep;
        int r = helpcall_send(&hb, NULL, NULL, &rep, msg);
        const char *cp = hm_str(&rep.m, 2), *kp = hm_str(&rep.m, 3);
        if (r == 0 && (!cp || !kp))
                r = -EPROTO;
        if (r == 0) {
                if (cert_path)
                        *cert_path = strdup(cp);
                if (key_path)
                        *key_path = strdup(kp);
                if ((cert_path && !*cert_path) || (key_path && !*key_path))
                        r = -ENOMEM;
        }
        helpcall_reply_free(&rep);
        return r;
}
