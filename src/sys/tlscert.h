/* The panel's own TLS certificate, and the files of a site's certificate. */
#pragma once

#include "core/config.h"

/* Create a self-signed ECDSA P-256 certificate (CN=common_name, SAN DNS
 * names "localhost" + common_name and IP 127.0.0.1, valid 397 days: browsers cap a certificate at
 * 398) and its key, written atomically: key 0600, cert 0644. Parent directories are created 0700
 * when missing. 0 or -errno. */
int tlscert_create_selfsigned(const char *cert_path, const char *key_path, const char *common_name);
/* 0 when both files exist, are readable PEM and the key matches; -errno otherwise. */
int tlscert_check(const char *cert_path, const char *key_path);

/* fullchain is PEM certificates only (at least one) and the first one's key
 * is key (PEM, PKCS#1/SEC1 or PKCS#8). 0 or -EINVAL. */
int tlscert_check_chain(const char *fullchain, const char *key);
/* Write a site's certificate into <acme.cert_dir>/<domain>/ as certbot lays
 * it out: privkey.pem (0600), cert.pem (the leaf), chain.pem, fullchain.pem
 * (0644), each atomically. domain must be a valid, lower-case DNS name and
 * the pair must pass tlscert_check_chain. In the HTTP process of a split
 * serve it is the root helper's HOP_CERT_INSTALL (into the helper's
 * cert_dir). 0 with *cert_path (fullchain.pem) and *key_path malloc'd, or
 * -errno with *msg (malloc'd, may stay NULL). */
int tlscert_install_site(const struct config *cfg, const char *domain, const char *fullchain,
                         const char *key, char **cert_path, char **key_path, char **msg);
