#include "providers/sshkey.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/b64url.h"
#include "base/util.h"

static int bad(char *msg, size_t msglen, const char *m)
{
        snprintf(msg, msglen, "%s", m);
        return -EINVAL;
}

/* an SSH wire "string": u32 big-endian length + bytes */
static bool take(const unsigned char **p, size_t *left, const unsigned char **s, size_t *n)
{
        if (*left < 4)
                return false;
        uint32_t len =
            (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
        if (len > *left - 4)
                return false;
        *s = *p + 4;
        *n = len;
        *p += 4 + len;
        *left -= 4 + len;
        return true;
}

static bool str_is(const unsigned char *s, size_t n, const char *want)
{
        return n == strlen(want) && memcmp(s, want, n) == 0;
}

static int check_blob(const char *type, const unsigned char *b, size_t len, char *msg,
                      size_t msglen)
{
        const unsigned char *p = b, *s;
        size_t left = len, n;
        if (!take(&p, &left, &s, &n) || !str_is(s, n, type))
                return bad(msg, msglen, "the key's data does not match its type");
        if (streq(type, "ssh-ed25519")) {
                if (!take(&p, &left, &s, &n) || n != 32 || left)
                        return bad(msg, msglen, "not a valid ssh-ed25519 key");
                return 0;
        }
        if (streq(type, "ssh-rsa")) {
                const unsigned char *e, *m;
                size_t en, mn;
                if (!take(&p, &left, &e, &en) || !take(&p, &left, &m, &mn) || left || en == 0 ||
                    mn == 0)
                        return bad(msg, msglen, "not a valid ssh-rsa key");
                while (mn && *m == 0) {
                        m++;
                        mn--;
                }
                size_t bits = mn * 8;
                for (unsigned char top = mn ? m[0] : 0; bits && !(top & 0x80); top <<= 1)
                        bits--;
                if (bits < 2048)
                        return bad(msg, msglen, "ssh-rsa keys must have at least 2048 bits");
                return 0;
        }
        static const struct {
                const char *type, *curve;
                size_t point;
        } ec[] = {
            {"ecdsa-sha2-nistp256", "nistp256", 65},
            {"ecdsa-sha2-nistp384", "nistp384", 97},
            {"ecdsa-sha2-nistp521", "nistp521", 133},
        };
        for (size_t i = 0; i < ARRAY_SIZE(ec); i++) {
                if (!streq(type, ec[i].type))
                        continue;
                if (!take(&p, &left, &s, &n) || !str_is(s, n, ec[i].curve) ||
                    !take(&p, &left, &s, &n) || n != ec[i].point || s[0] != 0x04 || left)
                        return bad(msg, msglen, "not a valid ECDSA key");
                return 0;
        }
        return bad(msg, msglen,
                   "key type must be ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa");
}

int sshkey_parse(const char *text, char fp[SSHKEY_FP_LEN], char *msg, size_t msglen)
{
        fp[0] = '\0';
        if (!text || strlen(text) > SSHKEY_TEXT_MAX)
                return bad(msg, msglen, "missing or too long");
        for (const char *q = text; *q; q++)
                if ((unsigned char)*q < 0x20 && *q != '\n' && *q != '\r' && *q != '\t')
                        return bad(msg, msglen, "control characters");
        while (*text == ' ' || *text == '\t')
                text++;
        char type[32];
        size_t tn = strcspn(text, " \t");
        if (tn == 0 || tn >= sizeof(type))
                return bad(msg, msglen, "not an OpenSSH public key (\"type base64 [comment]\")");
        memcpy(type, text, tn);
        type[tn] = '\0';
        static const char *const known[] = {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
                                            "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"};
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
                ok |= streq(type, known[i]);
        if (!ok)
                return bad(msg, msglen,
                           "key type must be ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa");
        const char *b64 = text + tn;
        while (*b64 == ' ' || *b64 == '\t')
                b64++;
        size_t bn = strcspn(b64, " \t\r\n");
        if (bn == 0)
                return bad(msg, msglen, "not an OpenSSH public key (\"type base64 [comment]\")");
        /* standard base64 -> base64url without padding, then decode */
        _cleanup_free_ char *u = strndup(b64, bn);
        if (!u)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < bn; i++) {
                char ch = u[i];
                if (ch == '=') {
                        if (i + 2 < bn || (i + 2 == bn && u[i + 1] != '='))
                                return bad(msg, msglen, "the key's base64 is malformed");
                        break;
                }
                if (ch == '-' || ch == '_')
                        return bad(msg, msglen, "the key's base64 is malformed");
                u[k++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
        }
        u[k] = '\0';
        _cleanup_free_ unsigned char *blob = NULL;
        size_t blen = 0;
        if (b64url_decode(u, k, &blob, &blen) < 0 || blen == 0)
                return bad(msg, msglen, "the key's base64 is malformed");
        int r = check_blob(type, blob, blen, msg, msglen);
        if (r < 0)
                return r;
        unsigned char d[32];
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, blob, blen, d) < 0)
                return -EIO;
        _cleanup_free_ char *e = b64url_encode(d, sizeof(d));
        if (!e)
                return -ENOMEM;
        for (char *q = e; *q; q++)
                *q = *q == '-' ? '+' : *q == '_' ? '/' : *q;
        snprintf(fp, SSHKEY_FP_LEN, "SHA256:%s", e);
        return 0;
}
