#include "base/b64url.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_append(struct strbuf *b, const void *data, size_t n)
{
        const unsigned char *p = data;
        for (size_t i = 0; i < n; i += 3) {
                size_t k = n - i < 3 ? n - i : 3;
                uint32_t v = (uint32_t)p[i] << 16;
                if (k > 1)
                        v |= (uint32_t)p[i + 1] << 8;
                if (k > 2)
                        v |= p[i + 2];
                const char quad[4] = {alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
                                      alphabet[v >> 6 & 63], alphabet[v & 63]};
                int r = strbuf_append(b, quad, k + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

char *b64url_encode(const void *data, size_t n)
{
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        if (b64url_append(&b, data, n) < 0)
                return NULL;
        return strbuf_steal(&b);
}

static int value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

int b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
        if (n % 4 == 1) /* no encoder makes this length */
                return -EINVAL;
        unsigned char *buf = malloc(n / 4 * 3 + 3);
        if (!buf)
                return -ENOMEM;
        size_t o = 0;
        uint32_t acc = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < n; i++) {
                int v = value((unsigned char)s[i]);
                if (v < 0) {
                        free(buf);
                        return -EINVAL;
                }
                acc = acc << 6 | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        buf[o++] = (unsigned char)(acc >> bits & 0xff);
                }
        }
        /* leftover bits must be zero: one text per byte string */
        if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
                free(buf);
                return -EINVAL;
        }
        buf[o] = '\0';
        *out = buf;
        *outlen = o;
        return 0;
}
