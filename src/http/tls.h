/* The panel's TLS certificate, read from its files and re-read when they
 * change (checked at most once a second, at a handshake), so a renewed
 * certificate is served without a restart. One per process. */
#pragma once

/* Load cert_path (PEM chain) and key_path (PEM key). 0 or -errno (-EINVAL:
 * not a matching PEM pair). */
int tls_creds_init(const char *cert_path, const char *key_path);
/* The gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. */
void *tls_creds_callback(void);
/* Free every generation (after the server stopped). */
void tls_creds_free(void);
