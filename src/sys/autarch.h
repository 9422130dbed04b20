/* AUTARCH on this machine, read without spawning anything: whether it is
 * installed, its HEAD commit, its venv and packages, its two units; and its
 * settings file (autarch_settings.conf), written atomically. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sys/gitread.h"
#include "sys/services.h"

#define AUTARCH_USER     "autarch"
#define AUTARCH_SETTINGS "autarch_settings.conf"

struct autarch_status {
        bool installed;       /* <dir>/.git exists */
        char git_commit[300]; /* "<7-hex> <subject>", "" when unreadable */
        char head[GIT_HASH_HEX + 1];
        bool venv_ready;  /* <dir>/venv/bin/python3 is a file */
        int pip_packages; /* *.dist-info / *.egg-info in the venv's site-packages */
        struct unit_state web, dns;
};

/* Fill st for install dir `dir`. Units over D-Bus (services_query); the git
 * subject is cached per HEAD hash. Never fails (unknown parts stay empty). */
void autarch_status_read(const char *dir, struct autarch_status *st);

/* The number of installed distributions in <dir>/venv (0 when none). */
int autarch_count_packages(const char *dir);

/* Read <dir>/autarch_settings.conf (at most max bytes). 0, -ENOENT, -EFBIG
 * or -errno. */
int autarch_config_read(const char *dir, size_t max, char **out, size_t *len);

/* Replace <dir>/autarch_settings.conf with text: a new file beside it, owned
 * by the autarch user when it exists (else by the old file's owner), mode
 * 0600, fsync'd, renamed over the old one. The caller has checked the text.
 * 0, -ENOENT (no such dir) or -errno; nothing changed on failure. */
int autarch_config_write(const char *dir, const char *text, size_t len);
