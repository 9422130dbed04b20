#include "sys/autarch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "sys/units.h"

static bool path_is(const char *dir, const char *rel, mode_t type)
{
        char p[4096];
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, rel) >= sizeof(p))
                return false;
        struct stat st;
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n > k && strcmp(s + n - k, suffix) == 0;
}

static int count_dists(const char *site)
{
        DIR *d = opendir(site);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (ends_with(de->d_name, ".dist-info") || ends_with(de->d_name, ".egg-info"))
                        n++;
        closedir(d);
        return n;
}

int autarch_count_packages(const char *dir)
{
        char lib[4096];
        if (!dir || (size_t)snprintf(lib, sizeof(lib), "%s/venv/lib", dir) >= sizeof(lib))
                return 0;
        DIR *d = opendir(lib);
        if (!d)
                return 0;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!startswith(de->d_name, "python"))
                        continue;
                char site[4096 + 300];
                snprintf(site, sizeof(site), "%s/%s/site-packages", lib, de->d_name);
                n += count_dists(site);
        }
        closedir(d);
        return n;
}

/* The subject of the last HEAD seen: git_read_head inflates an object;
 * the status is asked often and HEAD rarely moves. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char cache_dir[4096], cache_hash[GIT_HASH_HEX + 1], cache_subject[256];

static void read_commit_cached(const char *dir, struct autarch_status *st)
{
        char hash[GIT_HASH_HEX + 1], subject[256] = "";
        if (git_head_hash(dir, hash) < 0)
                return;
        memcpy(st->head, hash, sizeof(hash));
        bool hit = false;
        pthread_mutex_lock(&cache_lock);
        if (streq(cache_dir, dir) && streq(cache_hash, hash)) {
                memcpy(subject, cache_subject, sizeof(subject));
                hit = true;
        }
        pthread_mutex_unlock(&cache_lock);
        if (!hit && git_object_subject(dir, hash, subject, sizeof(subject)) == 0) {
                pthread_mutex_lock(&cache_lock);
                snprintf(cache_dir, sizeof(cache_dir), "%s", dir);
                memcpy(cache_hash, hash, sizeof(cache_hash));
                memcpy(cache_subject, subject, sizeof(cache_subject));
                pthread_mutex_unlock(&cache_lock);
        }
        snprintf(st->git_commit, sizeof(st->git_commit), "%.7s%s%s", hash, subject[0] ? " " : "",
                 subject);
}

void autarch_status_read(const char *dir, struct autarch_status *st)
{
        memset(st, 0, sizeof(*st));
        if (dir && dir[0] == '/') {
                struct stat sb;
                char git[4096];
                snprintf(git, sizeof(git), "%s/.git", dir);
                st->installed = stat(git, &sb) == 0;
                if (st->installed)
                        read_commit_cached(dir, st);
                st->venv_ready = path_is(dir, "venv/bin/python3", S_IFREG);
                st->pip_packages = st->venv_ready ? autarch_count_packages(dir) : 0;
        }
        const char *units[] = {AUTARCH_WEB_UNIT, AUTARCH_DNS_UNIT};
        struct unit_state s[2];
        services_query(units, 2, s);
        st->web = s[0];
        st->dns = s[1];
}

int autarch_config_read(const char *dir, size_t max, char **out, size_t *len)
{
        char p[4096];
        if (!dir || (size_t)snprintf(p, sizeof(p), "%s/%s", dir, AUTARCH_SETTINGS) >= sizeof(p))
                return -EINVAL;
        return read_file(p, max, out, len);
}

static int owner_for(const char *path, uid_t *uid, gid_t *gid)
{
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(AUTARCH_USER, &pw, buf, sizeof(buf), &res) == 0 && res) {
                *uid = pw.pw_uid;
                *gid = pw.pw_gid;
                return 0;
        }
        struct stat st;
        if (stat(path, &st) == 0) {
                *uid = st.st_uid;
                *gid = st.st_gid;
                return 0;
        }
        *uid = geteuid();
        *gid = getegid();
        return 0;
}

int autarch_config_write(const char *dir, const char *text, size_t len)
{
        char path[4096], tmp[4096 + 16];
        if (!dir || dir[0] != '/' || !text ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, AUTARCH_SETTINGS) >= sizeof(path))
                return -EINVAL;
        struct stat ds;
        if (stat(dir, &ds) < 0)
                return -errno;
        if (!S_ISDIR(ds.st_mode))
                return -ENOTDIR;
        snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
        uid_t uid;
        gid_t gid;
        owner_for(path, &uid, &gid);
        int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = 0;
        if (fchmod(fd, 0600) < 0 || (geteuid() == 0 && fchown(fd, uid, gid) < 0))
                r = -errno;
        if (!r)
                r = write_all(fd, text, len);
        if (!r && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && !r)
                r = -errno;
        if (!r && rename(tmp, path) < 0)
                r = -errno;
        if (r) {
                unlink(tmp);
                return r;
        }
        fsync_parent_dir(path);
        return 0;
}
