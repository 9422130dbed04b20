/* CSRF double-submit tokens: a random value in a cookie the page's JS reads
 * and echoes in X-CSRF-Token; a cross-site request cannot read it. */
#pragma once

#include <stdbool.h>

#define CSRF_TOKEN_LEN 64 /* hex chars */

/* 0 or -errno; out receives CSRF_TOKEN_LEN hex chars and a NUL. */
int csrf_token_new(char out[CSRF_TOKEN_LEN + 1]);
/* True when both are present, at least 32 chars long, equal (compared in
 * constant time). */
bool csrf_token_matches(const char *cookie, const char *sent);
