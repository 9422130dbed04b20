/* The panel's own TLS certificate. */
#pragma once

/* Create a self-signed ECDSA P-256 certificate (CN=common_name, SAN DNS
 * names "localhost" + common_name and IP 127.0.0.1, valid 397 days: browsers cap a certificate at
 * 398) and its key, written atomically: key 0600, cert 0644. Parent directories are created 0700
 * when missing. 0 or -errno. */
int tlscert_create_selfsigned(const char *cert_path, const char *key_path, const char *common_name);
/* 0 when both files exist, are readable PEM and the key matches; -errno otherwise. */
int tlscert_check(const char *cert_path, const char *key_path);
