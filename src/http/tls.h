/* The panel's TLS certificate, read from its files and re-read when they
 * change (checked at most once a second, at a handshake), so a renewed
 * certificate is served without a restart. One per process. */
#pragma once

#include <gnutls/gnutls.h>

/* Load cert_path (PEM chain) and key_path (PEM key). 0 or -errno (-EINVAL:
 * not a matching PEM pair). */
int tls_creds_init(const char *cert_path, const char *key_path);
/* The gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. */
void *tls_creds_callback(void);
/* Per connection, before its handshake: session tickets (see tls.c). */
void tls_session_setup(gnutls_session_t session);
/* Free every generation (after the server stopped). */
void tls_creds_free(void);
