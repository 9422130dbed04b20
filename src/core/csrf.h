/* CSRF tokens bound to the session: the token is an HMAC (with the session
 * token key) of the session's token id, so only the panel can make the value
 * that belongs to a session and a cookie planted by a sibling site is
 * worthless. The panel hands it out in a cookie the page's JS reads and
 * echoes in X-CSRF-Token; a cross-site page can read neither. */
#pragma once

#include <stdbool.h>

#include "core/token.h"

#define CSRF_TOKEN_LEN 64 /* hex chars */

/* The token of the session whose token id is jti: CSRF_TOKEN_LEN hex chars and
 * a NUL. 0 or -errno. */
int csrf_token_for(const unsigned char key[TOKEN_KEY_LEN], const char *jti,
                   char out[CSRF_TOKEN_LEN + 1]);
/* True when sent is the token of the session jti (compared in constant
 * time); false for NULL or any other value. */
bool csrf_token_valid(const unsigned char key[TOKEN_KEY_LEN], const char *jti, const char *sent);
