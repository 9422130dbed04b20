/* API tokens (CONTRACT.md §9): GET/POST /api/tokens, DELETE /api/tokens/{id},
 * and their check in the gate. A token is "setec_" + 64 hex characters; only
 * its SHA-256 is stored. */
#pragma once

#include <stdbool.h>

#include "http/server.h"

#define API_TOKEN_PREFIX "setec_"

/* Is this Bearer value an API token (rather than a session JWT)? */
bool api_token_shaped(const char *token);
/* Authenticate r by the API token: fills r's user and role (the creator's)
 * and *read_only. false when unknown, revoked or expired (nothing replied). */
bool api_token_authenticate(struct http_req *r, const char *token, bool *read_only);
