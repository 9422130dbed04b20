/* Removing trees and checking directories (rollbacks of site jobs). */
#include "sys/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/helpcall.h"
#include "sys/units.h"

#define RM_MAX_DEPTH 256

/* The HTTP process's side: one call to the root helper. */
static int remote_tree(unsigned op, const char *path, const char *user, int64_t flag, bool *created)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, op);
        hm_add_str(&hb, path);
        if (op == HOP_TREE_REMOVE)
                hm_add_int(&hb, flag);
        else
                hm_add_str(&hb, user);
        struct helpcall_reply rep;
        int r = helpcall_send(&hb, NULL, NULL, &rep, NULL);
        if (created)
                *created = r == 0 && hm_int(&rep.m, 2, 0) != 0;
        if (r < 0 && *rep.msg)
                log_warn("root helper: %s: %s", hm_op_name(op), rep.msg);
        helpcall_reply_free(&rep);
        return r;
}

/* Remove name in dfd and everything below it without following links.
 * Only directories are compared with the top's device (on overlayfs a
 * regular file reports the device of the layer it comes from, so nftw's
 * FTW_MOUNT would skip it); a directory on another device is a mount point
 * and stays. */
static int rm_at(int dfd, const char *name, dev_t dev, int depth)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (st.st_dev != dev)
                return -EXDEV;
        if (depth > RM_MAX_DEPTH)
                return -ELOOP;
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return -e;
        }
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int r2 = rm_at(dirfd(d), de->d_name, dev, depth + 1);
                if (r2 < 0 && r == 0)
                        r = r2;
        }
        closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int files_remove(const char *path)
{
        if (helpcall_active())
                return remote_tree(HOP_TREE_REMOVE, path, NULL, 1, NULL);
        if (!path || path[0] != '/' || streq(path, "/"))
                return -EINVAL;
        _cleanup_free_ char *parent = path_dirname(path);
        const char *base = strrchr(path, '/') + 1;
        if (!parent || !*base || streq(base, ".") || streq(base, ".."))
                return -EINVAL;
        _cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return errno == ENOENT ? 0 : -errno;
        struct stat st;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        return rm_at(pfd, base, st.st_dev, 0);
}

void files_rm_tree(const char *dir, bool self)
{
        if (str_empty(dir))
                return;
        int r = 0;
        if (helpcall_active()) {
                r = remote_tree(HOP_TREE_REMOVE, dir, NULL, self, NULL);
        } else if (self) {
                r = files_remove(dir);
        } else {
                _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                struct stat st;
                DIR *d = fd >= 0 && fstat(fd, &st) == 0 ? fdopendir(fd) : NULL;
                if (d) {
                        fd = -1; /* the DIR owns it */
                        struct dirent *de;
                        while ((de = readdir(d)))
                                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                                        int r2 = rm_at(dirfd(d), de->d_name, st.st_dev, 1);
                                        if (r2 < 0 && r == 0)
                                                r = r2;
                                }
                        closedir(d);
                } else if (errno != ENOENT) {
                        r = -errno;
                }
        }
        if (r < 0)
                log_warn("rollback: cannot remove (all of) %s: %s", dir, strerror(-r));
}

int files_tree_prepare(const char *path, const char *user, bool *created)
{
        if (created)
                *created = false;
        if (helpcall_active())
                return remote_tree(HOP_TREE_PREPARE, path, user ? user : "", 0, created);
        if (str_empty(path) || path[0] != '/' || streq(path, "/"))
                return -EINVAL;
        struct stat st;
        bool made = false;
        if (lstat(path, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                int r = mkdir_p(path, 0755);
                if (r < 0)
                        return r;
                made = true;
        } else if (!S_ISDIR(st.st_mode)) {
                return -ENOTDIR;
        }
        if (created)
                *created = made;
        return str_empty(user) ? 0 : units_chown_tree(path, user);
}

int files_placeholder(const char *dir, const char *domain)
{
        if (helpcall_active())
                return remote_tree(HOP_TREE_PLACEHOLDER, dir, domain ? domain : "", 0, NULL);
        /* a valid domain is [a-z0-9.-] only: safe inside the HTML */
        if (!valid_domain(domain) || str_empty(dir) || dir[0] != '/')
                return -EINVAL;
        if (!files_dir_empty(dir))
                return -ENOTEMPTY;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        strbuf_printf(&b,
                      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>%s</title></head>\n<body style=\"font-family: sans-serif; max-width: "
                      "40em; margin: 4em auto; padding: 0 1em\">\n<h1>%s</h1>\n<p>This site is "
                      "ready. Its files go into <code>%s</code> on the server (this page is "
                      "<code>index.html</code> there).</p>\n</body></html>\n",
                      domain, domain, dir);
        if (!b.data)
                return -ENOMEM;
        int fd =
            openat(dfd, "index.html", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, b.data, b.len);
        if (r == 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        close(fd);
        if (r < 0)
                unlinkat(dfd, "index.html", 0);
        return r;
}

bool files_dir_empty(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        bool empty = true;
        struct dirent *e;
        while ((e = readdir(d)))
                if (!streq(e->d_name, ".") && !streq(e->d_name, "..")) {
                        empty = false;
                        break;
                }
        closedir(d);
        return empty;
}
