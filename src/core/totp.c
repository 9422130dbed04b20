#include "core/totp.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/rand.h"
#include "base/util.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
        size_t need = (n * 8 + 4) / 5 + 1;
        if (outsz < need)
                return -ENOSPC;
        size_t o = 0;
        unsigned buf = 0;
        int bits = 0;
        for (size_t i = 0; i < n; i++) {
                buf = (buf << 8) | in[i];
                bits += 8;
                while (bits >= 5) {
                        out[o++] = b32[(buf >> (bits - 5)) & 31];
                        bits -= 5;
                }
        }
        if (bits > 0)
                out[o++] = b32[(buf << (5 - bits)) & 31];
        out[o] = '\0';
        return 0;
}

int base32_decode(const char *in, unsigned char *out, size_t outsz)
{
        size_t o = 0;
        unsigned buf = 0;
        int bits = 0;
        for (const char *p = in; *p; p++) {
                char c = *p;
                if (c == ' ' || c == '=' || c == '-')
                        continue;
                if (c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                const char *k = strchr(b32, c);
                if (!k || !c)
                        return -EINVAL;
                buf = (buf << 5) | (unsigned)(k - b32);
                bits += 5;
                if (bits >= 8) {
                        if (o >= outsz)
                                return -ENOSPC;
                        out[o++] = (unsigned char)((buf >> (bits - 8)) & 0xff);
                        bits -= 8;
                }
        }
        return (int)o;
}

long totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits)
{
        if (digits < 6 || digits > 8)
                return -EINVAL;
        unsigned char msg[8];
        for (int i = 7; i >= 0; i--) {
                msg[i] = (unsigned char)(counter & 0xff);
                counter >>= 8;
        }
        unsigned char mac[20];
        if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, key, keylen, msg, sizeof(msg), mac) < 0)
                return -EIO;
        int off = mac[19] & 0x0f;
        unsigned long bin = ((unsigned long)(mac[off] & 0x7f) << 24) |
                            ((unsigned long)mac[off + 1] << 16) |
                            ((unsigned long)mac[off + 2] << 8) | mac[off + 3];
        unsigned long mod = 1;
        for (int i = 0; i < digits; i++)
                mod *= 10;
        return (long)(bin % mod);
}

int totp_code(const unsigned char *key, size_t keylen, uint64_t step, char out[TOTP_DIGITS + 1])
{
        long v = totp_hotp(key, keylen, step, TOTP_DIGITS);
        if (v < 0)
                return (int)v;
        snprintf(out, TOTP_DIGITS + 1, "%06ld", v % 1000000);
        return 0;
}

/* Constant-time comparison of two equal-length digit strings. */
static bool same(const char *a, const char *b, size_t n)
{
        unsigned char d = 0;
        for (size_t i = 0; i < n; i++)
                d |= (unsigned char)(a[i] ^ b[i]);
        return d == 0;
}

bool totp_check(const unsigned char *key, size_t keylen, const char *code, time_t now,
                uint64_t last_used, uint64_t *matched)
{
        if (!code || strlen(code) != TOTP_DIGITS || now < TOTP_STEP)
                return false;
        for (const char *p = code; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        uint64_t cur = (uint64_t)now / TOTP_STEP;
        bool ok = false;
        uint64_t hit = 0;
        for (uint64_t s = cur - 1; s <= cur + 1; s++) {
                char want[TOTP_DIGITS + 1];
                if (totp_code(key, keylen, s, want) < 0)
                        return false;
                /* every step is computed, so the time taken says nothing */
                if (same(want, code, TOTP_DIGITS) && s > last_used && !ok) {
                        ok = true;
                        hit = s;
                }
        }
        if (ok && matched)
                *matched = hit;
        return ok;
}

int totp_secret_new(char out[TOTP_SECRET_B32])
{
        unsigned char key[TOTP_SECRET_LEN];
        int r = rand_bytes(key, sizeof(key));
        if (r < 0)
                return r;
        r = base32_encode(key, sizeof(key), out, TOTP_SECRET_B32);
        explicit_bzero(key, sizeof(key));
        return r;
}
