/* Cryptographically secure randomness from the kernel. */
#pragma once

#include <stddef.h>

/* 0 or -errno. */
int rand_bytes(void *buf, size_t n);
/* Writes 2*n lowercase hex chars plus NUL into out (size >= 2*n+1). */
int rand_hex(char *out, size_t n);
/* Random printable password of len chars (alphanumerics), NUL-terminated. */
int rand_password(char *out, size_t len);
/* RFC 4122 version 4 UUID into out[37]. */
int rand_uuid(char out[37]);
