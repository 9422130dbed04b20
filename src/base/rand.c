#include "base/rand.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

int rand_bytes(void *buf, size_t n)
{
        uint8_t *p = buf;
        while (n > 0) {
                ssize_t k = getrandom(p, n, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int rand_hex(char *out, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        uint8_t b[64];
        size_t o = 0;
        while (n > 0) {
                size_t k = n < sizeof(b) ? n : sizeof(b);
                int r = rand_bytes(b, k);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < k; i++) {
                        out[o++] = hex[b[i] >> 4];
                        out[o++] = hex[b[i] & 15];
                }
                n -= k;
        }
        out[o] = '\0';
        return 0;
}

int rand_password(char *out, size_t len)
{
        static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        const size_t a = sizeof(alphabet) - 1;
        size_t o = 0;
        while (o < len) {
                uint8_t c;
                int r = rand_bytes(&c, 1);
                if (r < 0)
                        return r;
                if (c >= 256 - (256 % a)) /* reject to avoid modulo bias */
                        continue;
                out[o++] = alphabet[c % a];
        }
        out[o] = '\0';
        return 0;
}

int rand_uuid(char out[37])
{
        uint8_t u[16];
        int r = rand_bytes(u, sizeof(u));
        if (r < 0)
                return r;
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                 u[13], u[14], u[15]);
        return 0;
}
