/* RFC 6238 time-based one-time passwords (HMAC-SHA1, 30 s steps, 6 digits)
 * and the RFC 4648 base32 their secrets are shown in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_STEP       30
#define TOTP_DIGITS     6
#define TOTP_SECRET_LEN 20 /* bytes: 160 bits, RFC 4226's recommendation */
/* base32 of TOTP_SECRET_LEN bytes: 32 chars (no padding) + NUL */
#define TOTP_SECRET_B32 33

/* base32 without padding of n bytes into out (size >= (n*8+4)/5 + 1). 0 or -ENOSPC. */
int base32_encode(const unsigned char *in, size_t n, char *out, size_t outsz);
/* Decode base32 (case-insensitive, spaces and '=' ignored). Number of bytes, or
 * -EINVAL (bad character) / -ENOSPC. */
int base32_decode(const char *in, unsigned char *out, size_t outsz);

/* HOTP value (RFC 4226) of key for counter, reduced to `digits` digits. <0 on error. */
long totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits);
/* The code of time step `step` as a NUL-terminated string of TOTP_DIGITS digits. 0 or -errno. */
int totp_code(const unsigned char *key, size_t keylen, uint64_t step, char out[TOTP_DIGITS + 1]);
/* Check code against the steps now-1, now, now+1 (RFC 6238 §5.2). A step at or
 * before last_used is never accepted again (each code once). On success
 * returns true and stores the matched step in *matched. */
bool totp_check(const unsigned char *key, size_t keylen, const char *code, time_t now,
                uint64_t last_used, uint64_t *matched);
/* A new random secret in base32 (TOTP_SECRET_B32 bytes). 0 or -errno. */
int totp_secret_new(char out[TOTP_SECRET_B32]);
