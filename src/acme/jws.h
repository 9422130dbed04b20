/* The cryptographic pieces of the ACME client (base64url is base/b64url.h):
 * the account key and its JWK, RFC 7638 thumbprints, ES256 JWS (RFC 7515 flattened JSON),
 * certificate keys and CSRs. Exposed for the unit tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>

/* A new EC P-256 key. 0 or -errno. */
int acme_key_generate(gnutls_x509_privkey_t *out);
/* PEM (PKCS #8, unencrypted) of key; malloc'd into *pem. 0 or -errno. */
int acme_key_export_pem(gnutls_x509_privkey_t key, char **pem, size_t *len);
/* Load an EC P-256 key from a PEM file, or create it (0600, parent
 * directories 0700) when missing. Two callers racing get the same key.
 * 0 or -errno. */
int acme_key_load_or_create(const char *path, gnutls_privkey_t *out);
/* Import a PEM key (any format GnuTLS reads) into an abstract key. */
int acme_key_import_pem(const char *pem, size_t len, gnutls_privkey_t *out);

/* The public JWK of an EC P-256 key: {"crv":"P-256","kty":"EC","x":..,"y":..}
 * with 32-byte coordinates. New reference or NULL. */
json_t *acme_jwk(gnutls_privkey_t key);
/* RFC 7638 thumbprint (SHA-256, base64url) of a JWK object: EC (crv, kty,
 * x, y) or RSA (e, kty, n). malloc'd into *out. 0, -EINVAL or -ENOMEM. */
int acme_jwk_thumbprint(const json_t *jwk, char **out);
/* The canonical JSON that the thumbprint hashes (for tests). */
int acme_jwk_canonical(const json_t *jwk, char **out);

/* Flattened JWS with ES256: protected = {"alg":"ES256","nonce","url"} plus
 * "kid" when kid is non-NULL, else the account's "jwk". payload NULL = the
 * empty payload of POST-as-GET. The signature is raw r||s (64 bytes).
 * Compact-free JSON text malloc'd into *out. 0 or -errno. */
int acme_jws_sign(gnutls_privkey_t key, const char *url, const char *nonce, const char *kid,
                  const char *payload, char **out);
/* DER ECDSA signature -> raw r||s of 2*len bytes (left-padded). */
int acme_ecdsa_der_to_raw(const gnutls_datum_t *der, unsigned char *raw, size_t len);

/* DER PKCS #10 request for names[0..n) (CN = names[0], all as SAN DNS),
 * signed with key (SHA-256). malloc'd into *der. 0 or -errno. */
int acme_csr_make(gnutls_x509_privkey_t key, const char *const *names, size_t n,
                  unsigned char **der, size_t *der_len);
