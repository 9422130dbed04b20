#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strbuf.h"
#include "base/util.h"

int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        size_t len = strlen(p);
        for (size_t i = 1; i <= len; i++) {
                if (p[i] != '/' && p[i] != '\0')
                        continue;
                char c = p[i];
                p[i] = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                p[i] = c;
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

char *path_dirname(const char *path)
{
        const char *slash = strrchr(path, '/');
        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t)(slash - path));
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_strbuf_ struct strbuf tmp = STRBUF_INIT(0);
        if (strbuf_printf(&tmp, "%s.tmp-XXXXXX", path) < 0)
                return -ENOMEM;
        int fd = mkostemp(tmp.data, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int r = 0;
        const char *p = data;
        size_t left = len;
        if (fchmod(fd, mode) < 0)
                r = -errno;
        while (r == 0 && left > 0) {
                ssize_t k = write(fd, p, left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                p += k;
                left -= (size_t)k;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp.data, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp.data);
                return r;
        }
        _cleanup_free_ char *dir = path_dirname(path);
        _cleanup_close_ int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0)
                fsync(dfd);
        return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct strbuf b = STRBUF_INIT(max);
        char chunk[8192];
        for (;;) {
                ssize_t k = read(fd, chunk, sizeof(chunk));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int e = -errno;
                        strbuf_free(&b);
                        return e;
                }
                if (k == 0)
                        break;
                if (strbuf_append(&b, chunk, (size_t)k) < 0) {
                        strbuf_free(&b);
                        return -EFBIG;
                }
        }
        if (len)
                *len = b.len;
        *out = strbuf_steal(&b);
        return *out ? 0 : -ENOMEM;
}
