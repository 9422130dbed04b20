#include "acme/jws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "base/b64url.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/util.h"

#define P256_LEN    32
#define KEY_PEM_MAX (64 * 1024)

static int gnutls_errno(int g)
{
        if (g == GNUTLS_E_SUCCESS)
                return 0;
        return g == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL;
}

static void datum_clear(gnutls_datum_t *d)
{
        if (d->data) {
                explicit_bzero(d->data, d->size);
                gnutls_free(d->data);
        }
        d->data = NULL;
        d->size = 0;
}

int acme_key_generate(gnutls_x509_privkey_t *out)
{
        gnutls_x509_privkey_t k;
        int g = gnutls_x509_privkey_init(&k);
        if (g < 0)
                return gnutls_errno(g);
        g = gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
        if (g < 0) {
                gnutls_x509_privkey_deinit(k);
                return gnutls_errno(g);
        }
        *out = k;
        return 0;
}

int acme_key_export_pem(gnutls_x509_privkey_t key, char **pem, size_t *len)
{
        gnutls_datum_t d = {0};
        int g = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                                  &d);
        if (g < 0)
                return gnutls_errno(g);
        char *s = malloc(d.size + 1);
        if (!s) {
                datum_clear(&d);
                return -ENOMEM;
        }
        memcpy(s, d.data, d.size);
        s[d.size] = '\0';
        *len = d.size;
        datum_clear(&d);
        *pem = s;
        return 0;
}

int acme_key_import_pem(const char *pem, size_t len, gnutls_privkey_t *out)
{
        gnutls_privkey_t pk;
        int g = gnutls_privkey_init(&pk);
        if (g < 0)
                return gnutls_errno(g);
        gnutls_datum_t d = {.data = (unsigned char *)pem, .size = (unsigned)len};
        g = gnutls_privkey_import_x509_raw(pk, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
        if (g < 0) {
                gnutls_privkey_deinit(pk);
                return -EINVAL;
        }
        unsigned bits = 0;
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        gnutls_datum_t x = {0}, y = {0};
        if (gnutls_privkey_get_pk_algorithm(pk, &bits) != GNUTLS_PK_ECDSA ||
            gnutls_privkey_export_ecc_raw2(pk, &curve, &x, &y, NULL, 0) < 0 ||
            curve != GNUTLS_ECC_CURVE_SECP256R1) {
                datum_clear(&x);
                datum_clear(&y);
                gnutls_privkey_deinit(pk);
                return -EINVAL; /* we only speak ES256 */
        }
        datum_clear(&x);
        datum_clear(&y);
        *out = pk;
        return 0;
}

int acme_key_load_or_create(const char *path, gnutls_privkey_t *out)
{
        _cleanup_free_ char *pem = NULL;
        size_t len = 0;
        int r = read_file(path, KEY_PEM_MAX, &pem, &len);
        if (r == 0) {
                r = acme_key_import_pem(pem, len, out);
                explicit_bzero(pem, len);
                return r;
        }
        if (r != -ENOENT)
                return r;

        _cleanup_free_ char *dir = path_dirname(path);
        if (!dir)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        gnutls_x509_privkey_t k;
        r = acme_key_generate(&k);
        if (r < 0)
                return r;
        r = acme_key_export_pem(k, &pem, &len);
        gnutls_x509_privkey_deinit(k);
        if (r < 0)
                return r;

        /* Write a temp file, then link() it into place: link fails with
         * EEXIST when another issuance created the key meanwhile, and then
         * both use that one instead of two accounts racing. */
        _cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT(0);
        if (strbuf_printf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        int fd = mkostemp(tmp.data, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fchmod(fd, 0600) < 0 ? -errno : 0;
        if (r == 0)
                r = write_all(fd, pem, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && link(tmp.data, path) < 0)
                r = -errno;
        unlink(tmp.data);
        if (r == -EEXIST) {
                explicit_bzero(pem, len);
                free(pem);
                pem = NULL;
                r = read_file(path, KEY_PEM_MAX, &pem, &len);
                if (r < 0)
                        return r;
        } else if (r < 0) {
                explicit_bzero(pem, len);
                return r;
        } else {
                (void)fsync_parent_dir(path);
        }
        r = acme_key_import_pem(pem, len, out);
        explicit_bzero(pem, len);
        return r;
}

/* A big-endian integer as exactly len bytes: GnuTLS may add a leading zero
 * (sign byte) or drop leading zero bytes. */
static int fixed_len(const gnutls_datum_t *d, unsigned char *out, size_t len)
{
        const unsigned char *p = d->data;
        size_t n = d->size;
        while (n > 0 && *p == 0) {
                p++;
                n--;
        }
        if (n > len)
                return -EINVAL;
        memset(out, 0, len - n);
        memcpy(out + (len - n), p, n);
        return 0;
}

json_t *acme_jwk(gnutls_privkey_t key)
{
        gnutls_pubkey_t pub;
        if (gnutls_pubkey_init(&pub) < 0)
                return NULL;
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        gnutls_datum_t x = {0}, y = {0};
        unsigned char xb[P256_LEN], yb[P256_LEN];
        bool ok = gnutls_pubkey_import_privkey(pub, key, 0, 0) >= 0 &&
                  gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, 0) >= 0 &&
                  curve == GNUTLS_ECC_CURVE_SECP256R1 && fixed_len(&x, xb, sizeof(xb)) == 0 &&
                  fixed_len(&y, yb, sizeof(yb)) == 0;
        gnutls_free(x.data);
        gnutls_free(y.data);
        gnutls_pubkey_deinit(pub);
        if (!ok)
                return NULL;
        _cleanup_free_ char *xs = b64url_encode(xb, sizeof(xb));
        _cleanup_free_ char *ys = b64url_encode(yb, sizeof(yb));
        if (!xs || !ys)
                return NULL;
        return json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", xs, "y", ys);
}

int acme_jwk_canonical(const json_t *jwk, char **out)
{
        static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
        static const char *const rsa[] = {"e", "kty", "n", NULL};
        const char *kty = json_string_value(json_object_get(jwk, "kty"));
        const char *const *members;
        if (streq(kty, "EC"))
                members = ec;
        else if (streq(kty, "RSA"))
                members = rsa;
        else
                return -EINVAL;
        /* RFC 7638 §3.2: only the required members, sorted, no whitespace;
         * the member names above are already in lexicographic order. */
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        if (strbuf_puts(&b, "{") < 0)
                return -ENOMEM;
        for (size_t i = 0; members[i]; i++) {
                json_t *v = json_object_get(jwk, members[i]);
                if (!json_is_string(v))
                        return -EINVAL;
                char *enc = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                if (!enc)
                        return -ENOMEM;
                int r = strbuf_printf(&b, "%s\"%s\":%s", i ? "," : "", members[i], enc);
                free(enc);
                if (r < 0)
                        return -ENOMEM;
        }
        if (strbuf_puts(&b, "}") < 0)
                return -ENOMEM;
        *out = strbuf_steal(&b);
        return *out ? 0 : -ENOMEM;
}

int acme_jwk_thumbprint(const json_t *jwk, char **out)
{
        _cleanup_free_ char *canon = NULL;
        int r = acme_jwk_canonical(jwk, &canon);
        if (r < 0)
                return r;
        unsigned char digest[32];
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, canon, strlen(canon), digest) < 0)
                return -EINVAL;
        *out = b64url_encode(digest, sizeof(digest));
        return *out ? 0 : -ENOMEM;
}

int acme_ecdsa_der_to_raw(const gnutls_datum_t *der, unsigned char *raw, size_t len)
{
        gnutls_datum_t r = {0}, s = {0};
        if (gnutls_decode_rs_value(der, &r, &s) < 0)
                return -EINVAL;
        int ret = fixed_len(&r, raw, len);
        if (ret == 0)
                ret = fixed_len(&s, raw + len, len);
        gnutls_free(r.data);
        gnutls_free(s.data);
        return ret;
}

int acme_jws_sign(gnutls_privkey_t key, const char *url, const char *nonce, const char *kid,
                  const char *payload, char **out)
{
        json_t *prot = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", nonce, "url", url);
        if (!prot)
                return -ENOMEM;
        json_t *id = kid ? json_string(kid) : acme_jwk(key);
        if (!id || json_object_set_new(prot, kid ? "kid" : "jwk", id) < 0) {
                json_decref(prot);
                return -ENOMEM;
        }
        _cleanup_free_ char *prot_txt = json_dumps(prot, JSON_COMPACT);
        json_decref(prot);
        if (!prot_txt)
                return -ENOMEM;
        _cleanup_free_ char *prot_b64 = b64url_encode(prot_txt, strlen(prot_txt));
        _cleanup_free_ char *pay_b64 =
            b64url_encode(payload ? payload : "", payload ? strlen(payload) : 0);
        if (!prot_b64 || !pay_b64)
                return -ENOMEM;
        _cleanup_strbuf_ struct strbuf input = STRBUF_INIT(0);
        if (strbuf_printf(&input, "%s.%s", prot_b64, pay_b64) < 0)
                return -ENOMEM;

        gnutls_datum_t data = {.data = (unsigned char *)input.data, .size = (unsigned)input.len};
        gnutls_datum_t der = {0};
        int g = gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0, &data, &der);
        if (g < 0)
                return gnutls_errno(g);
        unsigned char raw[2 * P256_LEN];
        int r = acme_ecdsa_der_to_raw(&der, raw, P256_LEN);
        gnutls_free(der.data);
        if (r < 0)
                return r;
        _cleanup_free_ char *sig_b64 = b64url_encode(raw, sizeof(raw));
        if (!sig_b64)
                return -ENOMEM;
        json_t *jws = json_pack("{s:s, s:s, s:s}", "protected", prot_b64, "payload", pay_b64,
                                "signature", sig_b64);
        if (!jws)
                return -ENOMEM;
        *out = json_dumps(jws, JSON_COMPACT);
        json_decref(jws);
        return *out ? 0 : -ENOMEM;
}

int acme_csr_make(gnutls_x509_privkey_t key, const char *const *names, size_t n,
                  unsigned char **der, size_t *der_len)
{
        if (n == 0)
                return -EINVAL;
        gnutls_x509_crq_t crq;
        int g = gnutls_x509_crq_init(&crq);
        if (g < 0)
                return gnutls_errno(g);
        g = gnutls_x509_crq_set_version(crq, 1);
        /* A CN is at most 64 characters (RFC 5280 ub-common-name); longer
         * primary names go only into the SAN, which is what CAs read. */
        if (g >= 0 && strlen(names[0]) <= 64)
                g = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, names[0],
                                                  (unsigned)strlen(names[0]));
        for (size_t i = 0; g >= 0 && i < n; i++)
                g = gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, names[i],
                                                         (unsigned)strlen(names[i]),
                                                         GNUTLS_FSAN_APPEND);
        if (g >= 0)
                g = gnutls_x509_crq_set_key(crq, key);
        if (g >= 0)
                g = gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0);
        gnutls_datum_t d = {0};
        if (g >= 0)
                g = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &d);
        gnutls_x509_crq_deinit(crq);
        if (g < 0)
                return gnutls_errno(g);
        *der = malloc(d.size);
        if (!*der) {
                gnutls_free(d.data);
                return -ENOMEM;
        }
        memcpy(*der, d.data, d.size);
        *der_len = d.size;
        gnutls_free(d.data);
        return 0;
}
