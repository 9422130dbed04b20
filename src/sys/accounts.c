#include "sys/accounts.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/exec.h"
#include "sys/helpcall.h"

/* useradd/userdel take their own lock files and fail (exit 10) rather than
 * wait when another instance holds them: one change at a time from us. */
static pthread_mutex_t change_lock = PTHREAD_MUTEX_INITIALIZER;

bool accounts_protected_name(const char *name)
{
        return streq(name, "root") || streq(name, "autarch");
}

bool accounts_valid_name(const char *name)
{
        return valid_username(name);
}

bool accounts_valid_password(const char *pw)
{
        return valid_password(pw) && strlen(pw) <= ACCOUNTS_PASSWORD_MAX && !strchr(pw, ':');
}

/* Next shell path of the file text at *save (strtok_r state), or NULL. */
static char *next_shell(char *text, char **save)
{
        for (char *line = strtok_r(text, "\n", save); line; line = strtok_r(NULL, "\n", save)) {
                size_t n = strlen(line);
                while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                if (line[0] == '/')
                        return line;
        }
        return NULL;
}

bool accounts_shell_allowed(const char *shells_file, const char *shell)
{
        if (str_empty(shell) || shell[0] != '/' || strlen(shell) > 4096 || strpbrk(shell, "\r\n"))
                return false;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (read_file(shells_file, 1 << 20, &data, &len) < 0)
                return false;
        char *save = NULL;
        for (char *s = next_shell(data, &save); s; s = next_shell(NULL, &save))
                if (streq(s, shell))
                        return true;
        return false;
}

void accounts_shells_free(char **list, size_t n)
{
        for (size_t i = 0; list && i < n; i++)
                free(list[i]);
        free(list);
}

int accounts_shells(const char *shells_file, char ***out, size_t *n)
{
        *out = NULL;
        *n = 0;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int rc = read_file(shells_file, 1 << 20, &data, &len);
        if (rc < 0)
                return rc;
        char **list = NULL;
        size_t count = 0;
        char *save = NULL;
        for (char *s = next_shell(data, &save); s; s = next_shell(NULL, &save)) {
                bool dup = false;
                for (size_t i = 0; i < count && !dup; i++)
                        dup = streq(list[i], s);
                if (dup)
                        continue;
                char **nl = realloc(list, (count + 1) * sizeof(*nl));
                if (!nl || !(nl[count] = strdup(s))) {
                        accounts_shells_free(nl ? nl : list, count);
                        return -ENOMEM;
                }
                list = nl;
                count++;
        }
        *out = list;
        *n = count;
        return 0;
}

void accounts_free(struct account *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].username);
                free(a[i].home);
                free(a[i].shell);
        }
        free(a);
}

/* Split a passwd line in place into exactly 7 fields; false when fewer. */
static bool split_fields(char *line, char *f[7])
{
        size_t k = 0;
        f[k++] = line;
        for (char *p = line; *p; p++)
                if (*p == ':') {
                        *p = '\0';
                        if (k == 7)
                                return false; /* more than 7 fields: not a passwd line */
                        f[k++] = p + 1;
                }
        return k == 7;
}

int accounts_parse(FILE *f, unsigned uid_min, unsigned uid_max, struct account **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        struct account *list = NULL;
        size_t count = 0, cap = 0;
        _cleanup_free_ char *line = NULL;
        size_t linecap = 0;
        ssize_t len;
        int rc = 0;
        while ((len = getline(&line, &linecap, f)) >= 0) {
                while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                if (!len || line[0] == '#')
                        continue;
                char *fld[7];
                if (!split_fields(line, fld) || !*fld[0])
                        continue;
                long long uid;
                if (parse_int64(fld[2], 0, 0xffffffffLL, &uid) < 0 || uid < uid_min ||
                    uid > uid_max)
                        continue;
                if (count == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        struct account *nl = realloc(list, ncap * sizeof(*nl));
                        if (!nl) {
                                rc = -ENOMEM;
                                break;
                        }
                        list = nl;
                        cap = ncap;
                }
                struct account *a = &list[count];
                *a =
                    (struct account){strdup(fld[0]), (unsigned)uid, strdup(fld[5]), strdup(fld[6])};
                count++;
                if (!a->username || !a->home || !a->shell) {
                        rc = -ENOMEM;
                        break;
                }
        }
        if (rc == 0 && ferror(f))
                rc = -EIO;
        if (rc < 0) {
                accounts_free(list, count);
                return rc;
        }
        *out = list;
        *n = count;
        return 0;
}

int accounts_list(const char *passwd_file, struct account **out, size_t *n)
{
        FILE *f = fopen(passwd_file, "re");
        if (!f)
                return -errno;
        int rc = accounts_parse(f, ACCOUNTS_UID_MIN, ACCOUNTS_UID_MAX, out, n);
        fclose(f);
        return rc;
}

void accounts_useradd_argv(const char *name, const char *shell, const char *argv[9])
{
        size_t i = 0;
        argv[i++] = "useradd";
        argv[i++] = "--create-home";
        argv[i++] = "--shell";
        argv[i++] = shell;
        argv[i++] = "--user-group";
        argv[i++] = "--";
        argv[i++] = name;
        argv[i] = NULL;
}

char *accounts_chpasswd_line(const char *name, const char *password)
{
        if (!accounts_valid_name(name) || !accounts_valid_password(password))
                return NULL;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        if (strbuf_printf(&b, "%s:%s\n", name, password) < 0)
                return NULL;
        return strbuf_steal(&b);
}

int accounts_lookup(const char *name, unsigned *uid)
{
        if (!accounts_valid_name(name))
                return -EINVAL;
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t bufsz = sz > 0 ? (size_t)sz : 16384;
        for (;;) {
                _cleanup_free_ char *buf = malloc(bufsz);
                if (!buf)
                        return -ENOMEM;
                struct passwd pw, *res = NULL;
                int e = getpwnam_r(name, &pw, buf, bufsz, &res);
                if (e == ERANGE && bufsz < (1u << 20)) {
                        bufsz *= 2;
                        continue;
                }
                if (e)
                        return -e;
                if (!res)
                        return -ENOENT;
                *uid = pw.pw_uid;
                return 0;
        }
}

/* Run argv; 0 with *status set, or -errno when it could not start. The
 * output goes to *err (malloc'd) when the status is not 0. */
static int run(const char *const *argv, const char *in, size_t inlen, int *status, char **err)
{
        struct exec_result res;
        int rc = exec_run(&(struct exec_opts){.argv = argv,
                                              .stdin_data = in,
                                              .stdin_len = inlen,
                                              .timeout_ms = 30000,
                                              .max_output = 8192},
                          &res);
        if (rc < 0) {
                if (err) {
                        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
                        strbuf_printf(&b, "cannot run %s: %s", argv[0], strerror(-rc));
                        free(*err);
                        *err = strbuf_steal(&b);
                }
                return rc;
        }
        *status = res.timed_out ? 124 : res.status;
        if (*status != 0 && err) {
                _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
                size_t n = res.output_len;
                while (n && (res.output[n - 1] == '\n' || res.output[n - 1] == ' '))
                        n--;
                strbuf_printf(&b, "%s exited with status %d%s%.*s", argv[0], *status, n ? ": " : "",
                              (int)n, res.output);
                free(*err);
                *err = strbuf_steal(&b);
        }
        exec_result_free(&res);
        return 0;
}

static int userdel(const char *name, int *status, char **err)
{
        const char *argv[] = {"userdel", "--remove", "--", name, NULL};
        return run(argv, NULL, 0, status, err);
}

/* ---- through the root helper (sys/helpcall.h): one request per change;
 * the helper checks every value again (its own /etc/shells, its own
 * nginx.webroot) ---- */

/* Send hb; the op's rc, its message in *err, the int extra (index 2) in
 * *extra when asked for. */
static int remote(struct hm_builder *hb, char **err, int64_t *extra)
{
        struct helpcall_reply rep;
        /* the helper forks a child per call, where change_lock holds for
         * that call only: one change at a time is kept here */
        pthread_mutex_lock(&change_lock);
        int rc = helpcall_send(hb, NULL, NULL, &rep, err);
        pthread_mutex_unlock(&change_lock);
        if (extra)
                *extra = hm_int(&rep.m, 2, 0);
        helpcall_reply_free(&rep);
        return rc;
}

/* The site id in a site user's name (accounts_is_site_user). */
static long long site_user_id(const char *name)
{
        long long id;
        if (!accounts_is_site_user(name) ||
            parse_int64(name + strlen(ACCOUNTS_SITE_PREFIX), 1, INT64_MAX, &id) < 0)
                return -1;
        return id;
}

int accounts_create(const char *name, const char *password, const char *shell,
                    const char *shells_file, char **err)
{
        if (!accounts_valid_name(name) || !accounts_valid_password(password) ||
            !accounts_shell_allowed(shells_file, shell))
                return -EINVAL;
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_USER_CREATE);
                hm_add_str(&hb, name);
                hm_add_str(&hb, password);
                hm_add_str(&hb, shell);
                return remote(&hb, err, NULL);
        }
        _cleanup_free_ char *line = accounts_chpasswd_line(name, password);
        if (!line)
                return -ENOMEM;
        pthread_mutex_lock(&change_lock);
        unsigned uid;
        int rc = accounts_lookup(name, &uid);
        if (rc == 0) {
                rc = -EEXIST;
                goto out;
        }
        if (rc != -ENOENT)
                goto out;
        const char *argv[9];
        accounts_useradd_argv(name, shell, argv);
        int st = 0;
        rc = run(argv, NULL, 0, &st, err);
        if (rc < 0)
                goto out;
        if (st == 9) { /* E_NAME_IN_USE: the user or its group exists */
                rc = -EEXIST;
                goto out;
        }
        if (st != 0) {
                rc = -EIO;
                goto out;
        }
        /* One line for one user: the name and password were validated, so
         * chpasswd cannot be made to change any other account. */
        const char *chpasswd[] = {"chpasswd", NULL};
        rc = run(chpasswd, line, strlen(line), &st, err);
        if (rc == 0 && st == 0)
                goto out;
        if (rc == 0)
                rc = -EIO;
        int dst = 0;
        if (userdel(name, &dst, NULL) < 0 || dst != 0)
                log_error("could not roll back system user %s (userdel status %d)", name, dst);
out:
        pthread_mutex_unlock(&change_lock);
        return rc;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

int accounts_delete(const char *name, bool *home_kept, char **err)
{
        *home_kept = false;
        if (!accounts_valid_name(name))
                return -EINVAL;
        if (accounts_protected_name(name))
                return -EPERM;
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_USER_DELETE);
                hm_add_str(&hb, name);
                int64_t kept = 0;
                int rc = remote(&hb, err, &kept);
                *home_kept = rc == 0 && kept;
                return rc;
        }
        pthread_mutex_lock(&change_lock);
        unsigned uid;
        int rc = accounts_lookup(name, &uid);
        if (rc < 0)
                goto out;
        if (uid < ACCOUNTS_UID_MIN || uid > ACCOUNTS_UID_MAX) {
                rc = -EPERM;
                goto out;
        }
        /* Processes by effective and by real user; exit 1 = none matched. */
        const char *by_euid[] = {"pkill", "--signal", "KILL", "--euid", name, NULL};
        const char *by_ruid[] = {"pkill", "--signal", "KILL", "--uid", name, NULL};
        int st = 0;
        run(by_euid, NULL, 0, &st, NULL);
        run(by_ruid, NULL, 0, &st, NULL);
        /* Killed processes may take a moment to go away; until then userdel
         * refuses with exit 8 (user currently logged in). */
        for (int attempt = 0;; attempt++) {
                rc = userdel(name, &st, err);
                if (rc < 0 || st != 8 || attempt == 20)
                        break;
                sleep_ms(50);
        }
        if (rc < 0)
                goto out;
        switch (st) {
        case 0:
                break;
        case 6: /* E_NOTFOUND: gone meanwhile */
                rc = -ENOENT;
                break;
        case 12: /* E_HOMEDIR: the account is removed, the home is not */
                *home_kept = true;
                break;
        default:
                rc = -EIO;
        }
out:
        pthread_mutex_unlock(&change_lock);
        return rc;
}

/* ---- per-site system users ---- */

int accounts_site_user_name(long long site_id, char out[ACCOUNTS_SITE_NAME_MAX])
{
        if (site_id < 1)
                return -EINVAL;
        int n = snprintf(out, ACCOUNTS_SITE_NAME_MAX, ACCOUNTS_SITE_PREFIX "%lld", site_id);
        return n > 0 && n < ACCOUNTS_SITE_NAME_MAX ? 0 : -EINVAL;
}

bool accounts_is_site_user(const char *name)
{
        size_t pl = strlen(ACCOUNTS_SITE_PREFIX);
        if (!name || strncmp(name, ACCOUNTS_SITE_PREFIX, pl) != 0 || !valid_username(name))
                return false;
        const char *d = name + pl;
        if (*d < '1' || *d > '9')
                return false;
        for (; *d; d++)
                if (*d < '0' || *d > '9')
                        return false;
        return true;
}

int accounts_site_user_add(const char *name, const char *home, char **err)
{
        if (!accounts_is_site_user(name) || !valid_path_inside(home, "/"))
                return -EINVAL;
        if (helpcall_active()) {
                long long id = site_user_id(name);
                if (id < 1)
                        return -EINVAL;
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_SITE_USER_ADD);
                hm_add_int(&hb, id);
                hm_add_str(&hb, home);
                int64_t existed = 0;
                int rc = remote(&hb, err, &existed);
                return rc < 0 ? rc : existed ? 1 : 0;
        }
        pthread_mutex_lock(&change_lock);
        unsigned uid;
        int rc = accounts_lookup(name, &uid);
        if (rc == 0) {
                /* a leftover of ours (a crash between useradd and the row's
                 * end) is reused; a regular account of that name never */
                rc = uid < ACCOUNTS_UID_MIN && uid != 0 ? 1 : -EEXIST;
                goto out;
        }
        if (rc != -ENOENT)
                goto out;
        const char *argv[] = {"useradd",
                              "--system",
                              "--user-group",
                              "--no-create-home",
                              "--home-dir",
                              home,
                              "--shell",
                              "/usr/sbin/nologin",
                              "--",
                              name,
                              NULL};
        int st = 0;
        rc = run(argv, NULL, 0, &st, err);
        if (rc == 0 && st != 0)
                rc = -EIO;
out:
        pthread_mutex_unlock(&change_lock);
        return rc;
}

int accounts_site_user_del(const char *name, char **err)
{
        if (!accounts_is_site_user(name))
                return -EINVAL;
        if (helpcall_active()) {
                long long id = site_user_id(name);
                if (id < 1)
                        return -EINVAL;
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_SITE_USER_DEL);
                hm_add_int(&hb, id);
                return remote(&hb, err, NULL);
        }
        pthread_mutex_lock(&change_lock);
        unsigned uid;
        int rc = accounts_lookup(name, &uid);
        if (rc == -ENOENT) {
                rc = 0;
                goto out;
        }
        if (rc < 0)
                goto out;
        if (uid == 0 || uid >= ACCOUNTS_UID_MIN) {
                rc = -EPERM; /* not one we made */
                goto out;
        }
        const char *by_euid[] = {"pkill", "--signal", "KILL", "--euid", name, NULL};
        const char *by_ruid[] = {"pkill", "--signal", "KILL", "--uid", name, NULL};
        const char *argv[] = {"userdel", "--", name, NULL};
        int st = 0;
        run(by_euid, NULL, 0, &st, NULL);
        run(by_ruid, NULL, 0, &st, NULL);
        /* killed processes may take a moment to go (userdel: exit 8) */
        for (int attempt = 0;; attempt++) {
                rc = run(argv, NULL, 0, &st, err);
                if (rc < 0 || st != 8 || attempt == 20)
                        break;
                sleep_ms(50);
        }
        if (rc == 0 && st != 0 && st != 6 /* gone meanwhile */)
                rc = -EIO;
out:
        pthread_mutex_unlock(&change_lock);
        return rc;
}
