/* System (Unix) accounts: list, create with useradd + chpasswd, delete with
 * pkill + userdel. Every name, password and shell is validated here again
 * (whatever the caller did) before it reaches argv or chpasswd's stdin, and
 * every command puts "--" before the login name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The panel lists and manages only regular accounts: UIDs 1000..65533
 * (65534 is nobody). Everything outside is protected. */
#define ACCOUNTS_UID_MIN 1000u
#define ACCOUNTS_UID_MAX 65533u

/* Linux-PAM (pam_unix, PAM_MAX_RESP_SIZE) refuses new passwords of 512 bytes
 * or more, so chpasswd would fail on them: refuse them before anything runs. */
#define ACCOUNTS_PASSWORD_MAX 511u

struct account {
        char *username;
        unsigned uid;
        char *home;
        char *shell;
};

/* Names that are never deleted whatever their UID. */
bool accounts_protected_name(const char *name);
/* CONTRACT §4 user name (^[a-z_][a-z0-9_-]{0,31}$). */
bool accounts_valid_name(const char *name);
/* 1..ACCOUNTS_PASSWORD_MAX bytes, no NUL/CR/LF (valid_password) and no ':'
 * (chpasswd's field separator: "a:b" would otherwise be split). */
bool accounts_valid_password(const char *pw);
/* Absolute path listed (exactly, one per line) in shells_file (/etc/shells). */
bool accounts_shell_allowed(const char *shells_file, const char *shell);

/* The absolute paths listed in shells_file, in file order, without
 * duplicates. 0 or -errno; free with accounts_shells_free. */
int accounts_shells(const char *shells_file, char ***out, size_t *n);
void accounts_shells_free(char **list, size_t n);

/* Parse passwd-format lines from f, keeping UIDs in [uid_min, uid_max].
 * Blank and '#' lines and lines with fewer than 7 fields or a non-numeric
 * UID are skipped. 0 or -errno; *out is malloc'd (maybe NULL when n = 0). */
int accounts_parse(FILE *f, unsigned uid_min, unsigned uid_max, struct account **out, size_t *n);
/* The regular accounts (ACCOUNTS_UID_MIN..MAX) of passwd_file (/etc/passwd). */
int accounts_list(const char *passwd_file, struct account **out, size_t *n);
void accounts_free(struct account *a, size_t n);

/* The argv of useradd for name/shell into argv (at least 9 slots, NULL-terminated). */
void accounts_useradd_argv(const char *name, const char *shell, const char *argv[9]);
/* "name:password\n" for chpasswd's stdin; NULL when either is invalid or on ENOMEM. */
char *accounts_chpasswd_line(const char *name, const char *password);

/* Look a user up in the passwd database. 0 (uid set), -ENOENT, -errno. */
int accounts_lookup(const char *name, unsigned *uid);

/* Create name with a home directory and a group of its own, then set the
 * password; when setting the password fails the account is removed again.
 * -EINVAL bad input (nothing run), -EEXIST user or group exists, -EIO the
 * tools failed (*err: their output, malloc'd), -errno. */
int accounts_create(const char *name, const char *password, const char *shell,
                    const char *shells_file, char **err);
/* End the user's processes, then remove the account and its home.
 * -EINVAL bad name, -EPERM protected (root, autarch, UID outside
 * ACCOUNTS_UID_MIN..MAX), -ENOENT no such user, -EIO (*err set), -errno.
 * *home_kept is set when userdel removed the account but not the home
 * directory (exit 12): the account is gone, so this still counts as success. */
int accounts_delete(const char *name, bool *home_kept, char **err);

/* ---- per-site system users: each python/node site's code runs as its own
 * user (created at provision, removed at delete), never as root ---- */

/* "setec-s<id>": fits the 32 characters of a user name for any site id. */
#define ACCOUNTS_SITE_PREFIX   "setec-s"
#define ACCOUNTS_SITE_NAME_MAX 32
/* The site user's name for site id into out. 0, or -EINVAL (id < 1). */
int accounts_site_user_name(long long site_id, char out[ACCOUNTS_SITE_NAME_MAX]);
/* A name accounts_site_user_name can produce (and nothing else). */
bool accounts_is_site_user(const char *name);
/* useradd --system --user-group --no-create-home --home-dir HOME --shell
 * /usr/sbin/nologin -- NAME. 0 created, 1 it existed already (a system
 * account of that name: reused), -EINVAL (bad name or home), -EIO (*err),
 * -errno. */
int accounts_site_user_add(const char *name, const char *home, char **err);
/* End the user's processes, then userdel (its group goes with it; the home,
 * the site's app_root, is the caller's). 0 (also when it did not exist),
 * -EINVAL not a site user's name, -EIO (*err), -errno. */
int accounts_site_user_del(const char *name, char **err);
