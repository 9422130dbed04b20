/* AUTARCH on this machine, read without spawning anything: whether it is
 * installed, its HEAD commit, its venv and packages, its two units; and its
 * settings file (autarch_settings.conf), written atomically. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "sys/deploy.h"
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
 * 0, -ENOENT (no such dir) or -errno; nothing changed on failure. In the
 * HTTP process this is one call to the root helper
 * (HOP_AUTARCH_CONFIG_WRITE): it writes into its own autarch.install_dir (dir
 * is not sent) after checking the text again with ini_check. */
int autarch_config_write(const char *dir, const char *text, size_t len);

/* One privileged step of an AUTARCH install, update or DNS build, its argv
 * built from cfg's autarch.* values only (never from the caller): what runs
 * repository code (venv, pip, npm, go build, git pull and reset in the
 * tree) runs as AUTARCH_USER; the clone into install_dir, mkdir and chown as
 * root. Output goes to out. In the HTTP process cfg is not used: the call
 * goes to the root helper (HOP_AUTARCH_STEP), which uses its own config.
 *
 *   "user"         useradd AUTARCH_USER (home install_dir) when missing; *made = 1 when it did
 *   "user_undo"    userdel AUTARCH_USER
 *   "clone"        mkdir the parent, git clone -c core.fileMode=false, chown the tree to
 *                  AUTARCH_USER; *made: bit 0 install_dir existed, bit 1 the parent was made
 *   "clone_undo"   remove install_dir (recreated empty with flags bit 0, the parent rmdir'd
 *                  with bit 1)
 *   "venv", "upgrade_pip", "pip", "npm"
 *   "permissions"  the data directories, the tree to AUTARCH_USER, settings 0600
 *   "pull"         git pull --ff-only
 *   "reset"        git reset --hard arg (a commit hash)
 *   "go_build"     go build -o autarch-dns . in services/dns-server
 *
 * 0 or -errno with a message in err ("<program> exited with status N: <last line>"). -EINVAL
 * for an unknown step or a bad arg. made may be NULL. */
int autarch_step(const struct config *cfg, const char *step, const char *arg, long long flags,
                 deploy_output_fn out, void *ctx, long long *made, char *err, size_t errlen);
