/* base64url (RFC 4648 §5) without padding, as JWTs and JWS use it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"

/* Append the encoding of n bytes to b. 0 or -ENOMEM (-E2BIG over b's limit). */
int b64url_append(struct strbuf *b, const void *data, size_t n);
/* malloc'd encoding of n bytes, NULL when out of memory. */
char *b64url_encode(const void *data, size_t n);
/* Decode the n characters at s into *out (malloc'd, NUL-terminated for
 * convenience, *outlen bytes). Only the canonical encoding is accepted: any
 * character outside the alphabet ('=' included), a length no encoder makes
 * or stray low bits in the last character give -EINVAL. 0, -EINVAL or
 * -ENOMEM. */
int b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen);
