/* GnuTLS for sys/, loaded on first use: the certificate code (tlscert.c)
 * and the backups' SHA-256 (archive.c). The HTTP process links GnuTLS anyway
 * (TLS, tokens), so there the load finds it in place; the root helper
 * (setec-helper) links none of it, and GnuTLS, its constructor and its
 * dependencies (nettle, gmp, p11-kit, ...: megabytes of resident pages)
 * enter only the short-lived child of a call that installs a certificate or
 * makes a backup. Include this after the <gnutls/...> headers: from here on
 * every GnuTLS call in the file goes through the loaded library. Call
 * gnutls_fns() first and give up when it returns NULL. */
#pragma once

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define GNUTLS_FUNCS(X)                                                                            \
        X(gnutls_hash)                                                                             \
        X(gnutls_hash_deinit)                                                                      \
        X(gnutls_hash_init)                                                                        \
        X(gnutls_strerror)                                                                         \
        X(gnutls_x509_crt_deinit)                                                                  \
        X(gnutls_x509_crt_export2)                                                                 \
        X(gnutls_x509_crt_get_key_id)                                                              \
        X(gnutls_x509_crt_import)                                                                  \
        X(gnutls_x509_crt_init)                                                                    \
        X(gnutls_x509_crt_list_import2)                                                            \
        X(gnutls_x509_crt_set_activation_time)                                                     \
        X(gnutls_x509_crt_set_basic_constraints)                                                   \
        X(gnutls_x509_crt_set_dn_by_oid)                                                           \
        X(gnutls_x509_crt_set_expiration_time)                                                     \
        X(gnutls_x509_crt_set_key)                                                                 \
        X(gnutls_x509_crt_set_key_purpose_oid)                                                     \
        X(gnutls_x509_crt_set_key_usage)                                                           \
        X(gnutls_x509_crt_set_serial)                                                              \
        X(gnutls_x509_crt_set_subject_alt_name)                                                    \
        X(gnutls_x509_crt_set_subject_key_id)                                                      \
        X(gnutls_x509_crt_set_version)                                                             \
        X(gnutls_x509_crt_sign2)                                                                   \
        X(gnutls_x509_privkey_deinit)                                                              \
        X(gnutls_x509_privkey_export2)                                                             \
        X(gnutls_x509_privkey_generate)                                                            \
        X(gnutls_x509_privkey_get_key_id)                                                          \
        X(gnutls_x509_privkey_import2)                                                             \
        X(gnutls_x509_privkey_init)

struct gnutls_fns {
#define GNUTLS_FN_SLOT(n) __typeof__(n) *n;
        GNUTLS_FUNCS(GNUTLS_FN_SLOT)
#undef GNUTLS_FN_SLOT
        /* the library's allocator: exported variables, not functions */
        gnutls_alloc_function *gnutls_malloc;
        gnutls_free_function *gnutls_free;
};

/* The loaded library, or NULL when it cannot be loaded (logged once). */
const struct gnutls_fns *gnutls_fns(void);

#define gnutls_hash(...)                  (gnutls_fns()->gnutls_hash(__VA_ARGS__))
#define gnutls_hash_deinit(...)           (gnutls_fns()->gnutls_hash_deinit(__VA_ARGS__))
#define gnutls_hash_init(...)             (gnutls_fns()->gnutls_hash_init(__VA_ARGS__))
#define gnutls_strerror(...)              (gnutls_fns()->gnutls_strerror(__VA_ARGS__))
#define gnutls_x509_crt_deinit(...)       (gnutls_fns()->gnutls_x509_crt_deinit(__VA_ARGS__))
#define gnutls_x509_crt_export2(...)      (gnutls_fns()->gnutls_x509_crt_export2(__VA_ARGS__))
#define gnutls_x509_crt_get_key_id(...)   (gnutls_fns()->gnutls_x509_crt_get_key_id(__VA_ARGS__))
#define gnutls_x509_crt_import(...)       (gnutls_fns()->gnutls_x509_crt_import(__VA_ARGS__))
#define gnutls_x509_crt_init(...)         (gnutls_fns()->gnutls_x509_crt_init(__VA_ARGS__))
#define gnutls_x509_crt_list_import2(...) (gnutls_fns()->gnutls_x509_crt_list_import2(__VA_ARGS__))
#define gnutls_x509_crt_set_activation_time(...)                                                   \
        (gnutls_fns()->gnutls_x509_crt_set_activation_time(__VA_ARGS__))
#define gnutls_x509_crt_set_basic_constraints(...)                                                 \
        (gnutls_fns()->gnutls_x509_crt_set_basic_constraints(__VA_ARGS__))
#define gnutls_x509_crt_set_dn_by_oid(...)                                                         \
        (gnutls_fns()->gnutls_x509_crt_set_dn_by_oid(__VA_ARGS__))
#define gnutls_x509_crt_set_expiration_time(...)                                                   \
        (gnutls_fns()->gnutls_x509_crt_set_expiration_time(__VA_ARGS__))
#define gnutls_x509_crt_set_key(...) (gnutls_fns()->gnutls_x509_crt_set_key(__VA_ARGS__))
#define gnutls_x509_crt_set_key_purpose_oid(...)                                                   \
        (gnutls_fns()->gnutls_x509_crt_set_key_purpose_oid(__VA_ARGS__))
#define gnutls_x509_crt_set_key_usage(...)                                                         \
        (gnutls_fns()->gnutls_x509_crt_set_key_usage(__VA_ARGS__))
#define gnutls_x509_crt_set_serial(...) (gnutls_fns()->gnutls_x509_crt_set_serial(__VA_ARGS__))
#define gnutls_x509_crt_set_subject_alt_name(...)                                                  \
        (gnutls_fns()->gnutls_x509_crt_set_subject_alt_name(__VA_ARGS__))
#define gnutls_x509_crt_set_subject_key_id(...)                                                    \
        (gnutls_fns()->gnutls_x509_crt_set_subject_key_id(__VA_ARGS__))
#define gnutls_x509_crt_set_version(...)  (gnutls_fns()->gnutls_x509_crt_set_version(__VA_ARGS__))
#define gnutls_x509_crt_sign2(...)        (gnutls_fns()->gnutls_x509_crt_sign2(__VA_ARGS__))
#define gnutls_x509_privkey_deinit(...)   (gnutls_fns()->gnutls_x509_privkey_deinit(__VA_ARGS__))
#define gnutls_x509_privkey_export2(...)  (gnutls_fns()->gnutls_x509_privkey_export2(__VA_ARGS__))
#define gnutls_x509_privkey_generate(...) (gnutls_fns()->gnutls_x509_privkey_generate(__VA_ARGS__))
#define gnutls_x509_privkey_get_key_id(...)                                                        \
        (gnutls_fns()->gnutls_x509_privkey_get_key_id(__VA_ARGS__))
#define gnutls_x509_privkey_import2(...) (gnutls_fns()->gnutls_x509_privkey_import2(__VA_ARGS__))
#define gnutls_x509_privkey_init(...)    (gnutls_fns()->gnutls_x509_privkey_init(__VA_ARGS__))
#undef gnutls_malloc
#undef gnutls_free
#define gnutls_malloc(n) ((*gnutls_fns()->gnutls_malloc)(n))
#define gnutls_free(p)   ((*gnutls_fns()->gnutls_free)((void *)(p)))
