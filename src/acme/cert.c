/* Certificate parsing, chain splitting, renewal arithmetic and the RFC 9773
 * certificate identifier. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>

#include "acme/acme.h"
#include "acme/jws.h"
#include "base/b64url.h"
#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/util.h"

#define CERT_FILE_MAX (1024 * 1024)
#define PEM_END       "-----END CERTIFICATE-----"
#define PEM_BEGIN     "-----BEGIN CERTIFICATE-----"

static void crt_deinitp(gnutls_x509_crt_t *c)
{
        if (*c)
                gnutls_x509_crt_deinit(*c);
}
#define _cleanup_crt_ _cleanup_(crt_deinitp)

static int crt_import_first(const char *pem, size_t len, gnutls_x509_crt_t *out)
{
        const char *begin = memmem(pem, len, PEM_BEGIN, strlen(PEM_BEGIN));
        if (!begin)
                return -EINVAL;
        gnutls_x509_crt_t c;
        if (gnutls_x509_crt_init(&c) < 0)
                return -ENOMEM;
        gnutls_datum_t d = {.data = (unsigned char *)begin,
                            .size = (unsigned)(len - (size_t)(begin - pem))};
        if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_PEM) < 0) {
                gnutls_x509_crt_deinit(c);
                return -EINVAL;
        }
        *out = c;
        return 0;
}

/* One DN attribute via a getter of the (crt, oid, idx, raw, buf, size) shape. */
static char *dn_attr(gnutls_x509_crt_t c, bool issuer, const char *oid)
{
        size_t size = 0;
        int g = issuer ? gnutls_x509_crt_get_issuer_dn_by_oid(c, oid, 0, 0, NULL, &size)
                       : gnutls_x509_crt_get_dn_by_oid(c, oid, 0, 0, NULL, &size);
        if (g != GNUTLS_E_SHORT_MEMORY_BUFFER || size == 0)
                return NULL;
        char *buf = malloc(size + 1);
        if (!buf)
                return NULL;
        g = issuer ? gnutls_x509_crt_get_issuer_dn_by_oid(c, oid, 0, 0, buf, &size)
                   : gnutls_x509_crt_get_dn_by_oid(c, oid, 0, 0, buf, &size);
        if (g < 0) {
                free(buf);
                return NULL;
        }
        buf[size] = '\0';
        return buf;
}

static char *issuer_dn(gnutls_x509_crt_t c)
{
        gnutls_datum_t d = {0};
        if (gnutls_x509_crt_get_issuer_dn3(c, &d, 0) < 0)
                return NULL;
        char *s = strndup((const char *)d.data, d.size);
        gnutls_free(d.data);
        return s;
}

int acme_cert_info_mem(const char *pem, size_t len, struct cert_info *out)
{
        memset(out, 0, sizeof(*out));
        _cleanup_crt_ gnutls_x509_crt_t c = NULL;
        int r = crt_import_first(pem, len, &c);
        if (r < 0)
                return r;
        out->subject_cn = dn_attr(c, false, GNUTLS_OID_X520_COMMON_NAME);
        out->issuer = dn_attr(c, true, GNUTLS_OID_X520_COMMON_NAME);
        if (!out->issuer)
                out->issuer = issuer_dn(c);
        if (!out->issuer) {
                cert_info_clear(out);
                return -ENOMEM;
        }
        out->not_before = gnutls_x509_crt_get_activation_time(c);
        out->not_after = gnutls_x509_crt_get_expiration_time(c);
        for (unsigned i = 0;; i++) {
                char buf[256];
                size_t size = sizeof(buf);
                unsigned critical = 0;
                int type = gnutls_x509_crt_get_subject_alt_name(c, i, buf, &size, &critical);
                if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                        break;
                if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
                        continue; /* longer than any DNS name: not one */
                if (type < 0) {
                        cert_info_clear(out);
                        return -EINVAL;
                }
                if (type != GNUTLS_SAN_DNSNAME)
                        continue;
                char **nn = realloc(out->names, (out->nnames + 1) * sizeof(*nn));
                if (!nn) {
                        cert_info_clear(out);
                        return -ENOMEM;
                }
                out->names = nn;
                out->names[out->nnames] = strndup(buf, size);
                if (!out->names[out->nnames]) {
                        cert_info_clear(out);
                        return -ENOMEM;
                }
                out->nnames++;
        }
        return 0;
}

int acme_cert_info(const char *pem_path, struct cert_info *out)
{
        memset(out, 0, sizeof(*out));
        _cleanup_free_ char *pem = NULL;
        size_t len = 0;
        int r = read_file(pem_path, CERT_FILE_MAX, &pem, &len);
        if (r < 0)
                return r;
        return acme_cert_info_mem(pem, len, out);
}

void cert_info_clear(struct cert_info *ci)
{
        free(ci->subject_cn);
        free(ci->issuer);
        for (size_t i = 0; i < ci->nnames; i++)
                free(ci->names[i]);
        free(ci->names);
        memset(ci, 0, sizeof(*ci));
}

int acme_split_chain(const char *pem, size_t len, char **leaf, char **chain)
{
        *leaf = *chain = NULL;
        /* PEM is text: a NUL byte would cut the leaf or the chain short when
         * written as a string (found by fuzzing), so it is refused */
        if (!pem || memchr(pem, '\0', len))
                return -EINVAL;
        /* every block must be a certificate: a truncated download must not
         * end up in fullchain.pem */
        gnutls_x509_crt_t *list = NULL;
        unsigned count = 0;
        gnutls_datum_t d = {.data = (unsigned char *)pem, .size = (unsigned)len};
        if (gnutls_x509_crt_list_import2(&list, &count, &d, GNUTLS_X509_FMT_PEM,
                                         GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED) < 0)
                return -EINVAL;
        for (unsigned i = 0; i < count; i++)
                gnutls_x509_crt_deinit(list[i]);
        gnutls_free(list);
        if (count == 0)
                return -EINVAL;

        const char *begin = memmem(pem, len, PEM_BEGIN, strlen(PEM_BEGIN));
        const char *end = memmem(pem, len, PEM_END, strlen(PEM_END));
        if (!begin || !end || end < begin)
                return -EINVAL;
        /* a second BEGIN inside the first block: not one certificate (found
         * by fuzzing: GnuTLS reads the inner one, the leaf kept both) */
        if (memmem(begin + 1, (size_t)(end - begin) - 1, PEM_BEGIN, strlen(PEM_BEGIN)))
                return -EINVAL;
        end += strlen(PEM_END);
        *leaf = malloc((size_t)(end - begin) + 2);
        if (!*leaf)
                return -ENOMEM;
        memcpy(*leaf, begin, (size_t)(end - begin));
        (*leaf)[end - begin] = '\n';
        (*leaf)[end - begin + 1] = '\0';
        /* GnuTLS's PEM reader is more lenient than this split (found by
         * fuzzing: the list imported, the first block alone did not): the
         * leaf must be a certificate on its own */
        struct cert_info ci;
        int r = acme_cert_info_mem(*leaf, (size_t)(end - begin) + 1, &ci);
        cert_info_clear(&ci);
        if (r < 0) {
                free(*leaf);
                *leaf = NULL;
                return r == -ENOMEM ? -ENOMEM : -EINVAL;
        }
        const char *rest = memmem(end, len - (size_t)(end - pem), PEM_BEGIN, strlen(PEM_BEGIN));
        *chain = rest ? strndup(rest, len - (size_t)(rest - pem)) : strdup("");
        if (!*chain) {
                free(*leaf);
                *leaf = NULL;
                return -ENOMEM;
        }
        return 0;
}

bool acme_should_renew(time_t now, time_t not_after, time_t window_start)
{
        if (window_start > 0 && now >= window_start)
                return true;
        return now >= not_after - ACME_RENEW_BEFORE;
}

time_t acme_ari_pick(time_t start, time_t end, unsigned long rnd)
{
        if (end <= start)
                return start;
        return start + (time_t)(rnd % (unsigned long)(end - start));
}

int acme_ari_cert_id_mem(const char *pem, size_t len, char **out)
{
        _cleanup_crt_ gnutls_x509_crt_t c = NULL;
        int r = crt_import_first(pem, len, &c);
        if (r < 0)
                return r;
        unsigned char aki[128], serial[64];
        size_t aki_len = sizeof(aki), serial_len = sizeof(serial);
        unsigned critical = 0;
        if (gnutls_x509_crt_get_authority_key_id(c, aki, &aki_len, &critical) < 0)
                return -ENOENT;
        /* GnuTLS returns the INTEGER's content octets as encoded, which is
         * what RFC 9773 §4.1 asks for (including a leading 0x00 when the
         * high bit is set). */
        if (gnutls_x509_crt_get_serial(c, serial, &serial_len) < 0)
                return -EINVAL;
        _cleanup_free_ char *a = b64url_encode(aki, aki_len);
        _cleanup_free_ char *s = b64url_encode(serial, serial_len);
        if (!a || !s)
                return -ENOMEM;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        if (strbuf_printf(&b, "%s.%s", a, s) < 0)
                return -ENOMEM;
        *out = strbuf_steal(&b);
        return *out ? 0 : -ENOMEM;
}

int acme_ari_cert_id(const char *pem_path, char **out)
{
        _cleanup_free_ char *pem = NULL;
        size_t len = 0;
        int r = read_file(pem_path, CERT_FILE_MAX, &pem, &len);
        if (r < 0)
                return r;
        return acme_ari_cert_id_mem(pem, len, out);
}

static int digits(const char **p, int n, int *out)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)(*p)[i]))
                        return -EINVAL;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *out = v;
        return 0;
}

int acme_parse_time(const char *s, time_t *out)
{
        if (!s)
                return -EINVAL;
        const char *p = s;
        int Y, M, D, h, m, sec;
        if (digits(&p, 4, &Y) < 0 || *p++ != '-' || digits(&p, 2, &M) < 0 || *p++ != '-' ||
            digits(&p, 2, &D) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
                return -EINVAL;
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &m) < 0 || *p++ != ':' ||
            digits(&p, 2, &sec) < 0)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        long off = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p++ == '-' ? -1 : 1, oh, om;
                if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 ||
                    om > 59)
                        return -EINVAL;
                off = sign * (oh * 3600L + om * 60L);
        } else {
                return -EINVAL;
        }
        if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
                return -EINVAL;
        struct tm tm = {.tm_year = Y - 1900,
                        .tm_mon = M - 1,
                        .tm_mday = D,
                        .tm_hour = h,
                        .tm_min = m,
                        .tm_sec = sec};
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *out = t - off;
        return 0;
}

int acme_renewal_info_parse(const char *body, struct acme_renewal_window *w)
{
        memset(w, 0, sizeof(*w));
        json_error_t err;
        json_t *root = json_loads(body, 0, &err);
        if (!root)
                return -EINVAL;
        json_t *win = json_object_get(root, "suggestedWindow");
        int r = -EINVAL;
        if (json_is_object(win) &&
            acme_parse_time(json_string_value(json_object_get(win, "start")), &w->start) == 0 &&
            acme_parse_time(json_string_value(json_object_get(win, "end")), &w->end) == 0 &&
            w->end >= w->start) {
                const char *u = json_string_value(json_object_get(root, "explanationURL"));
                r = 0;
                if (u && !(w->explanation_url = strdup(u)))
                        r = -ENOMEM;
        }
        json_decref(root);
        /* a refused body leaves nothing half-filled (found by fuzzing: the
         * start of a window whose end did not parse was kept) */
        if (r < 0)
                acme_renewal_window_clear(w);
        return r;
}

void acme_renewal_window_clear(struct acme_renewal_window *w)
{
        free(w->explanation_url);
        memset(w, 0, sizeof(*w));
}
