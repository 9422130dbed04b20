/* Shared libraries loaded when needed instead of linked: what an idle panel
 * never calls (libarchive, libcurl, libsystemd, libxcrypt) then costs no
 * resident pages until a feature needs it, and what only start-up needs
 * (libyaml) leaves the process again. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* dlopen the first of sonames (NULL-terminated) that loads, with RTLD_NOW |
 * RTLD_LOCAL, and resolve names[0..n) into slots[0..n). On success the
 * library stays loaded for the life of the process and 0 is returned. On
 * failure one error is logged, prefixed with what ("backups: ..."), naming
 * the libraries tried or the missing symbol; the slots are cleared and
 * -ENOENT (no library loads) or -ENOSYS (a symbol is missing; the library is
 * closed again) is returned. Run it once per library (see dynlib_lazy_get). */
int dynlib_load(const char *const *sonames, const char *const *names, void **slots, size_t n,
                const char *what);

/* dynlib_load for a library needed only for a while: on success *handle is
 * the library's handle, for dynlib_close once the slots are no longer used.
 * On failure *handle is NULL. */
int dynlib_open(const char *const *sonames, const char *const *names, void **slots, size_t n,
                const char *what, void **handle);

/* dlclose a handle from dynlib_open (NULL does nothing): the library's pages
 * leave the process when nothing else holds it, and every slot filled from
 * it is dangling from then on. */
void dynlib_close(void *handle);

/* A library held only while callers need it: the first dynlib_hold() loads
 * it into slots, the last dynlib_release() unloads it and clears the slots.
 * Holds may overlap (threads); slots are valid between a hold and its
 * release. */
struct dynlib_ref {
        const char *const *sonames;
        const char *const *names;
        size_t n;
        const char *what;
        void **slots;
        pthread_mutex_t lock;
        unsigned users;
        void *handle;
};
#define DYNLIB_REF(sonames_, names_, n_, what_, slots_)                                            \
        {                                                                                          \
                .sonames = (sonames_), .names = (names_), .n = (n_), .what = (what_),              \
                .slots = (slots_), .lock = PTHREAD_MUTEX_INITIALIZER                               \
        }
/* 0, or -ELIBACC when the library cannot be loaded (logged each time). */
int dynlib_hold(struct dynlib_ref *ref);
void dynlib_release(struct dynlib_ref *ref);

/* A library loaded by its first user and kept for the life of the process:
 * dynlib_lazy_get() loads it into slots once (one attempt; a failure is
 * logged once) and tells whether the slots are filled. */
struct dynlib_lazy {
        const char *const *sonames;
        const char *const *names;
        size_t n;
        const char *what;
        void **slots;
        pthread_mutex_t lock;
        bool tried, loaded;
};
#define DYNLIB_LAZY(sonames_, names_, n_, what_, slots_)                                           \
        {                                                                                          \
                .sonames = (sonames_), .names = (names_), .n = (n_), .what = (what_),              \
                .slots = (slots_), .lock = PTHREAD_MUTEX_INITIALIZER                               \
        }
bool dynlib_lazy_get(struct dynlib_lazy *lazy);
