#include "core/csrf.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* A label keeps these MACs apart from any other use of the key. */
static const char csrf_label[] = "setec-csrf-v1:";

int csrf_token_for(const unsigned char key[TOKEN_KEY_LEN], const char *jti,
                   char out[CSRF_TOKEN_LEN + 1])
{
        if (!jti || !*jti)
                return -EINVAL;
        char msg[sizeof(csrf_label) + 64];
        int n = snprintf(msg, sizeof(msg), "%s%s", csrf_label, jti);
        if (n < 0 || (size_t)n >= sizeof(msg))
                return -EINVAL;
        unsigned char mac[32];
        if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, TOKEN_KEY_LEN, msg, (size_t)n, mac) < 0)
                return -EIO;
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof(mac); i++) {
                out[2 * i] = hex[mac[i] >> 4];
                out[2 * i + 1] = hex[mac[i] & 15];
        }
        out[CSRF_TOKEN_LEN] = '\0';
        return 0;
}

bool csrf_token_valid(const unsigned char key[TOKEN_KEY_LEN], const char *jti, const char *sent)
{
        char want[CSRF_TOKEN_LEN + 1];
        if (!sent || strlen(sent) != CSRF_TOKEN_LEN || csrf_token_for(key, jti, want) < 0)
                return false;
        return mem_equal_ct(want, sent, CSRF_TOKEN_LEN);
}
