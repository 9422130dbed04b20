/* Shared libraries loaded on first use instead of linked: what an idle panel
 * never calls (libarchive, libcurl, libsystemd) then costs no resident pages
 * until a feature needs it. */
#pragma once

#include <stddef.h>

/* dlopen the first of sonames (NULL-terminated) that loads, with RTLD_NOW |
 * RTLD_LOCAL, and resolve names[0..n) into slots[0..n). On success the
 * library stays loaded for the life of the process and 0 is returned. On
 * failure one error is logged, prefixed with what ("backups: ..."), naming
 * the libraries tried or the missing symbol; the slots are cleared and
 * -ENOENT (no library loads) or -ENOSYS (a symbol is missing; the library is
 * closed again) is returned. Callers run it once (pthread_once). */
int dynlib_load(const char *const *sonames, const char *const *names, void **slots, size_t n,
                const char *what);
