/* tar.gz backup archives with an in-archive SHA-256 manifest. */
#include "sys/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "sys/archive_dl.h"
#include "sys/gnutls_dl.h"
#include "sys/files.h"
#include "sys/helpcall.h"

#define SHA256_LEN 32
/* A manifest line is ~70 bytes + the name: this allows millions of files
 * while bounding what a crafted archive can make us hold. */
#define MANIFEST_MAX (256u << 20)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
        if (!err || !errlen)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/* Every entry point first makes sure libarchive and GnuTLS (SHA-256) could be loaded. */
static int need_lib(char *err, size_t errlen)
{
        if (archive_fns() && gnutls_fns())
                return 0;
        seterr(err, errlen, "%s cannot be loaded (is %s installed?)",
               archive_fns() ? "GnuTLS" : "libarchive",
               archive_fns() ? "libgnutls30" : "libarchive13");
        return -ELIBACC;
}

static void hex32(const unsigned char *d, char out[2 * SHA256_LEN + 1])
{
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < SHA256_LEN; i++) {
                out[2 * i] = digits[d[i] >> 4];
                out[2 * i + 1] = digits[d[i] & 15];
        }
        out[2 * SHA256_LEN] = '\0';
}

/* sha256sum's format: a name holding '\\', '\n' or '\r' is escaped and the
 * line starts with a backslash. */
static int manifest_add(struct strbuf *m, const unsigned char *sum, const char *name)
{
        char hex[2 * SHA256_LEN + 1];
        hex32(sum, hex);
        bool esc = strpbrk(name, "\\\n\r") != NULL;
        int r = strbuf_printf(m, "%s%s  ", esc ? "\\" : "", hex);
        for (const char *p = name; r == 0 && *p; p++) {
                if (*p == '\\')
                        r = strbuf_puts(m, "\\\\");
                else if (*p == '\n')
                        r = strbuf_puts(m, "\\n");
                else if (*p == '\r')
                        r = strbuf_puts(m, "\\r");
                else
                        r = strbuf_append(m, p, 1);
        }
        return r ? r : strbuf_puts(m, "\n");
}

/* ---------------------------------------------------------------- create */

static bool excluded(const char *path, const char *const *exclude)
{
        for (size_t i = 0; exclude && exclude[i]; i++)
                if (streq(path, exclude[i]))
                        return true;
        return false;
}

static char *normalize(const char *p)
{
        char *real = realpath(p, NULL);
        if (real)
                return real;
        char *c = strdup(p);
        if (c) {
                size_t n = strlen(c);
                while (n > 1 && c[n - 1] == '/')
                        c[--n] = '\0';
        }
        return c;
}

struct create_ctx {
        struct archive *out;
        struct strbuf manifest;
        struct archive_stats st;
        char *err;
        size_t errlen;
};

static int write_file_data(struct create_ctx *c, struct archive *disk, struct archive_entry *e,
                           const char *name)
{
        gnutls_hash_hd_t h;
        if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
                return -ENOMEM;
        int64_t want = archive_entry_size(e), done = 0;
        int rc = 0;
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(disk, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        seterr(c->err, c->errlen, "%s: %s", name, archive_error_string(disk));
                        rc = -EIO;
                        break;
                }
                if (len > (uint64_t)(want - done))
                        len = (size_t)(want - done); /* the file grew: the header's size wins */
                if (!len)
                        continue;
                la_ssize_t w = archive_write_data(c->out, buf, len);
                if (w < 0 || (size_t)w != len) {
                        seterr(c->err, c->errlen, "write %s: %s", name,
                               archive_error_string(c->out));
                        rc = -EIO;
                        break;
                }
                gnutls_hash(h, buf, len);
                done += (int64_t)len;
        }
        /* A file that shrank while we read it is padded with zeros by the tar
         * writer: hash those zeros too so the manifest matches the member. */
        static const char zeros[8192];
        while (rc == 0 && done < want) {
                size_t n =
                    want - done < (int64_t)sizeof(zeros) ? (size_t)(want - done) : sizeof(zeros);
                la_ssize_t w = archive_write_data(c->out, zeros, n);
                if (w < 0 || (size_t)w != n) {
                        seterr(c->err, c->errlen, "write %s: %s", name,
                               archive_error_string(c->out));
                        rc = -EIO;
                        break;
                }
                gnutls_hash(h, zeros, n);
                done += (int64_t)n;
        }
        unsigned char sum[SHA256_LEN];
        gnutls_hash_deinit(h, sum);
        if (rc < 0)
                return rc;
        c->st.bytes += (uint64_t)done;
        c->st.files++;
        return manifest_add(&c->manifest, sum, name);
}

static int add_source(struct create_ctx *c, const struct archive_src *src,
                      const char *const *exclude)
{
        _cleanup_free_ char *root = normalize(src->path);
        if (!root)
                return -ENOMEM;
        struct archive *disk = archive_read_disk_new();
        if (!disk)
                return -ENOMEM;
        archive_read_disk_set_symlink_physical(disk);
        archive_read_disk_set_standard_lookup(disk);
        archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
                                                 ARCHIVE_READDISK_NO_FFLAGS |
                                                 ARCHIVE_READDISK_NO_SPARSE);
        int rc = 0;
        if (archive_read_disk_open(disk, root) != ARCHIVE_OK) {
                seterr(c->err, c->errlen, "%s: %s", root, archive_error_string(disk));
                archive_read_free(disk);
                return -EIO;
        }
        size_t rootlen = strlen(root);
        _cleanup_strbuf_ struct strbuf name = STRBUF_INIT(0);
        struct archive_entry *e = archive_entry_new();
        if (!e) {
                archive_read_free(disk);
                return -ENOMEM;
        }
        for (;;) {
                archive_entry_clear(e);
                int r = archive_read_next_header2(disk, e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        seterr(c->err, c->errlen, "%s", archive_error_string(disk));
                        rc = -EIO;
                        break;
                }
                const char *p = archive_entry_sourcepath(e);
                if (!p)
                        p = archive_entry_pathname(e);
                if (!p || strncmp(p, root, rootlen) != 0 || (p[rootlen] && p[rootlen] != '/')) {
                        seterr(c->err, c->errlen, "unexpected path %s", p ? p : "(null)");
                        rc = -EIO;
                        break;
                }
                if (excluded(p, exclude))
                        continue; /* not descending skips the whole subtree */
                mode_t type = archive_entry_filetype(e);
                if (type == AE_IFDIR)
                        archive_read_disk_descend(disk);
                else if (type != AE_IFREG && type != AE_IFLNK)
                        continue; /* sockets, fifos, devices: nothing to restore */
                strbuf_reset(&name);
                if (strbuf_puts(&name, src->name) < 0 || strbuf_puts(&name, p + rootlen) < 0) {
                        rc = -ENOMEM;
                        break;
                }
                archive_entry_copy_pathname(e, name.data);
                if (type != AE_IFREG)
                        archive_entry_set_size(e, 0);
                if (archive_write_header(c->out, e) < ARCHIVE_WARN) {
                        seterr(c->err, c->errlen, "%s: %s", name.data,
                               archive_error_string(c->out));
                        rc = -EIO;
                        break;
                }
                c->st.entries++;
                if (type == AE_IFREG && (rc = write_file_data(c, disk, e, name.data)) < 0)
                        break;
                if (archive_write_finish_entry(c->out) < ARCHIVE_WARN) {
                        seterr(c->err, c->errlen, "%s: %s", name.data,
                               archive_error_string(c->out));
                        rc = -EIO;
                        break;
                }
        }
        archive_entry_free(e);
        archive_read_close(disk);
        archive_read_free(disk);
        return rc;
}

static int write_manifest(struct create_ctx *c)
{
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return -ENOMEM;
        archive_entry_set_pathname(e, ARCHIVE_MANIFEST_NAME);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)c->manifest.len);
        archive_entry_set_mtime(e, time(NULL), 0);
        int rc = 0;
        if (archive_write_header(c->out, e) < ARCHIVE_WARN ||
            (c->manifest.len && archive_write_data(c->out, c->manifest.data, c->manifest.len) !=
                                    (la_ssize_t)c->manifest.len)) {
                seterr(c->err, c->errlen, "manifest: %s", archive_error_string(c->out));
                rc = -EIO;
        }
        archive_entry_free(e);
        return rc;
}

static void fsync_dir_of(const char *path)
{
        _cleanup_free_ char *dir = path_dirname(path);
        if (!dir)
                return;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                fsync(fd);
}

int archive_create(const char *dest, const struct archive_src *srcs, size_t nsrcs,
                   const char *const *exclude, struct archive_stats *st, char *err, size_t errlen)
{
        if (st)
                *st = (struct archive_stats){0};
        int lib = need_lib(err, errlen);
        if (lib < 0)
                return lib;
        _cleanup_strbuf_ struct strbuf partial = STRBUF_INIT(0);
        if (strbuf_printf(&partial, "%s.partial", dest) < 0)
                return -ENOMEM;
        struct stat sb;
        if (lstat(dest, &sb) == 0) {
                seterr(err, errlen, "%s exists", dest);
                return -EEXIST;
        }
        int fd = open(partial.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                int e = errno;
                seterr(err, errlen, "create %s: %s", partial.data, strerror(e));
                return -e;
        }
        /* Normalised once so the per-entry comparison is exact. */
        size_t nex = 0;
        while (exclude && exclude[nex])
                nex++;
        char **ex = calloc(nex + 1, sizeof(*ex));
        struct create_ctx c = {.manifest = STRBUF_INIT(0), .err = err, .errlen = errlen};
        int rc = ex ? 0 : -ENOMEM;
        for (size_t i = 0; rc == 0 && i < nex; i++)
                if (!(ex[i] = normalize(exclude[i])))
                        rc = -ENOMEM;

        c.out = rc == 0 ? archive_write_new() : NULL;
        if (rc == 0 && !c.out)
                rc = -ENOMEM;
        if (rc == 0 && (archive_write_add_filter_gzip(c.out) != ARCHIVE_OK ||
                        archive_write_set_format_pax_restricted(c.out) != ARCHIVE_OK ||
                        archive_write_set_bytes_in_last_block(c.out, 1) != ARCHIVE_OK ||
                        archive_write_open_fd(c.out, fd) != ARCHIVE_OK)) {
                seterr(err, errlen, "%s", archive_error_string(c.out));
                rc = -EIO;
        }
        for (size_t i = 0; rc == 0 && i < nsrcs; i++)
                rc = add_source(&c, &srcs[i], (const char *const *)ex);
        if (rc == 0)
                rc = write_manifest(&c);
        if (c.out) {
                if (archive_write_close(c.out) != ARCHIVE_OK && rc == 0) {
                        seterr(err, errlen, "%s", archive_error_string(c.out));
                        rc = -EIO;
                }
                archive_write_free(c.out);
        }
        if (rc == 0 && fsync(fd) < 0) {
                rc = -errno;
                seterr(err, errlen, "fsync: %s", strerror(-rc));
        }
        if (close(fd) < 0 && rc == 0) {
                rc = -errno;
                seterr(err, errlen, "close: %s", strerror(-rc));
        }
        if (rc == 0 && renameat2(AT_FDCWD, partial.data, AT_FDCWD, dest, RENAME_NOREPLACE) < 0) {
                rc = -errno;
                seterr(err, errlen, "rename to %s: %s", dest, strerror(-rc));
        }
        if (rc == 0)
                fsync_dir_of(dest);
        else
                unlink(partial.data);
        for (size_t i = 0; ex && i < nex; i++)
                free(ex[i]);
        free(ex);
        strbuf_free(&c.manifest);
        if (st && rc == 0)
                *st = c.st;
        return rc;
}

/* ------------------------------------------------------------- read back */

struct sum {
        char *name;
        unsigned char sha[SHA256_LEN];
};

struct reader {
        struct sum *sums;
        size_t n, cap;
        struct strbuf manifest;
        bool have_manifest;
        struct archive_stats st;
        /* extraction (NULL dest: verify only) */
        const char *dest;
        struct archive *disk;
        char *top; /* the common top-level name, from the first member */
        struct strbuf path;
        char *err;
        size_t errlen;
};

static void reader_free(struct reader *rd)
{
        for (size_t i = 0; i < rd->n; i++)
                free(rd->sums[i].name);
        free(rd->sums);
        free(rd->top);
        strbuf_free(&rd->manifest);
        strbuf_free(&rd->path);
}

/* A member name we accept: relative, no "." or ".." component. */
static bool safe_name(const char *s)
{
        if (str_empty(s) || s[0] == '/')
                return false;
        for (const char *p = s; *p;) {
                const char *end = strchrnul(p, '/');
                size_t n = (size_t)(end - p);
                if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
                        return false;
                p = *end ? end + 1 : end;
        }
        return true;
}

/* dest + the name without its top-level component, into rd->path. */
static int map_name(struct reader *rd, const char *name, const char **out)
{
        if (!safe_name(name)) {
                seterr(rd->err, rd->errlen, "unsafe path in archive: %s", name);
                return -EPERM;
        }
        size_t n = strcspn(name, "/");
        if (!rd->top && !(rd->top = strndup(name, n)))
                return -ENOMEM;
        if (n != strlen(rd->top) || strncmp(name, rd->top, n) != 0) {
                seterr(rd->err, rd->errlen, "%s is outside the archive's top directory %s", name,
                       rd->top);
                return -EPERM;
        }
        const char *rest = name + n;
        while (*rest == '/')
                rest++;
        strbuf_reset(&rd->path);
        if (strbuf_puts(&rd->path, rd->dest) < 0 ||
            (*rest && (strbuf_puts(&rd->path, "/") < 0 || strbuf_puts(&rd->path, rest) < 0)))
                return -ENOMEM;
        /* tar names of directories end in '/' */
        while (rd->path.len > 1 && rd->path.data[rd->path.len - 1] == '/')
                rd->path.data[--rd->path.len] = '\0';
        *out = rd->path.data;
        return 0;
}

static int read_manifest(struct reader *rd, struct archive *a)
{
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN) {
                        seterr(rd->err, rd->errlen, "archive is corrupt: %s",
                               archive_error_string(a));
                        return -EBADMSG;
                }
                if (strbuf_append(&rd->manifest, buf, len) < 0) {
                        seterr(rd->err, rd->errlen, "manifest too large");
                        return -EBADMSG;
                }
        }
}

static int read_entry(struct reader *rd, struct archive *a, struct archive_entry *e)
{
        const char *name = archive_entry_pathname(e);
        if (!name) {
                seterr(rd->err, rd->errlen, "member without a name");
                return -EBADMSG;
        }
        if (rd->have_manifest) {
                seterr(rd->err, rd->errlen, "member %s after the manifest", name);
                return -EBADMSG;
        }
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFREG && streq(name, ARCHIVE_MANIFEST_NAME) && !archive_entry_hardlink(e)) {
                rd->have_manifest = true;
                return read_manifest(rd, a);
        }
        _cleanup_free_ char *saved = strdup(name); /* set_pathname below invalidates name */
        if (!saved)
                return -ENOMEM;
        rd->st.entries++;
        /* a tar hard link may come without a file type: test the link first */
        bool hard = archive_entry_hardlink(e) != NULL;
        bool write = rd->dest && (hard || type == AE_IFREG || type == AE_IFDIR || type == AE_IFLNK);
        int rc;
        if (write) {
                const char *path;
                /* Our archives never hold hard links, and a hard link to an
                 * extracted symlink would let the member's data be written
                 * wherever that symlink points. */
                if (hard) {
                        seterr(rd->err, rd->errlen, "hard link in archive refused: %s", saved);
                        return -EPERM;
                }
                if ((rc = map_name(rd, saved, &path)) < 0)
                        return rc;
                if (type != AE_IFDIR && streq(path, rd->dest)) {
                        seterr(rd->err, rd->errlen, "top-level member %s is not a directory",
                               saved);
                        return -EPERM;
                }
                archive_entry_copy_pathname(e, path);
                if (archive_write_header(rd->disk, e) < ARCHIVE_WARN) {
                        seterr(rd->err, rd->errlen, "refused %s: %s", saved,
                               archive_error_string(rd->disk));
                        return -EPERM;
                }
        }
        if (type == AE_IFREG && !hard) {
                if (rd->n == rd->cap) {
                        size_t ncap = rd->cap ? rd->cap * 2 : 64;
                        struct sum *p = reallocarray(rd->sums, ncap, sizeof(*p));
                        if (!p)
                                return -ENOMEM;
                        rd->sums = p;
                        rd->cap = ncap;
                }
                gnutls_hash_hd_t h;
                if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
                        return -ENOMEM;
                rc = 0;
                for (;;) {
                        const void *buf;
                        size_t len;
                        la_int64_t off;
                        int r = archive_read_data_block(a, &buf, &len, &off);
                        if (r == ARCHIVE_EOF)
                                break;
                        if (r < ARCHIVE_WARN) {
                                seterr(rd->err, rd->errlen, "archive is corrupt: %s",
                                       archive_error_string(a));
                                rc = -EBADMSG;
                                break;
                        }
                        gnutls_hash(h, buf, len);
                        rd->st.bytes += len;
                        if (write &&
                            archive_write_data_block(rd->disk, buf, len, off) < ARCHIVE_WARN) {
                                seterr(rd->err, rd->errlen, "write %s: %s", saved,
                                       archive_error_string(rd->disk));
                                rc = -EIO;
                                break;
                        }
                }
                struct sum *s = &rd->sums[rd->n];
                gnutls_hash_deinit(h, s->sha);
                if (rc < 0)
                        return rc;
                s->name = TAKE_PTR(saved);
                rd->n++;
                rd->st.files++;
        }
        if (write && archive_write_finish_entry(rd->disk) < ARCHIVE_WARN) {
                seterr(rd->err, rd->errlen, "finish entry: %s", archive_error_string(rd->disk));
                return -EIO;
        }
        return 0;
}

/* Undo manifest_add's escaping in place. false on a malformed escape. */
static bool unescape(char *s)
{
        char *w = s;
        for (char *p = s; *p; p++) {
                if (*p != '\\') {
                        *w++ = *p;
                        continue;
                }
                p++;
                if (*p == '\\')
                        *w++ = '\\';
                else if (*p == 'n')
                        *w++ = '\n';
                else if (*p == 'r')
                        *w++ = '\r';
                else
                        return false;
        }
        *w = '\0';
        return true;
}

static int check_manifest(struct reader *rd)
{
        if (!rd->have_manifest) {
                seterr(rd->err, rd->errlen, "no " ARCHIVE_MANIFEST_NAME " in the archive");
                return -EBADMSG;
        }
        if (!rd->manifest.data && strbuf_puts(&rd->manifest, "") < 0)
                return -ENOMEM;
        size_t i = 0;
        char *save = NULL;
        for (char *line = strtok_r(rd->manifest.data, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save), i++) {
                bool esc = line[0] == '\\';
                char *p = line + esc;
                unsigned char want[SHA256_LEN];
                bool ok = strlen(p) > 2 * SHA256_LEN + 2 && p[2 * SHA256_LEN] == ' ' &&
                          p[2 * SHA256_LEN + 1] == ' ';
                for (size_t k = 0; ok && k < SHA256_LEN; k++) {
                        int hi = hex_digit(p[2 * k]), lo = hex_digit(p[2 * k + 1]);
                        ok = hi >= 0 && lo >= 0;
                        want[k] = (unsigned char)(hi << 4 | lo);
                }
                char *name = p + 2 * SHA256_LEN + 2;
                if (!ok || (esc && !unescape(name))) {
                        seterr(rd->err, rd->errlen, "malformed manifest line %zu", i + 1);
                        return -EBADMSG;
                }
                if (i >= rd->n) {
                        seterr(rd->err, rd->errlen, "manifest lists a missing file: %s", name);
                        return -EBADMSG;
                }
                if (!streq(name, rd->sums[i].name)) {
                        seterr(rd->err, rd->errlen, "manifest lists %s where the archive has %s",
                               name, rd->sums[i].name);
                        return -EBADMSG;
                }
                if (memcmp(want, rd->sums[i].sha, SHA256_LEN) != 0) {
                        seterr(rd->err, rd->errlen, "checksum mismatch: %s", name);
                        return -EBADMSG;
                }
        }
        if (i < rd->n) {
                seterr(rd->err, rd->errlen, "file not in the manifest: %s", rd->sums[i].name);
                return -EBADMSG;
        }
        return 0;
}

static int read_archive(const char *path, struct reader *rd)
{
        struct archive *a = archive_read_new();
        if (!a)
                return -ENOMEM;
        archive_read_support_filter_gzip(a);
        archive_read_support_format_tar(a);
        int rc = 0;
        if (archive_read_open_filename(a, path, 128 * 1024) != ARCHIVE_OK) {
                int e = archive_errno(a);
                seterr(rd->err, rd->errlen, "%s: %s", path, archive_error_string(a));
                rc = e == ENOENT ? -ENOENT : -EBADMSG;
        }
        struct archive_entry *e;
        while (rc == 0) {
                int r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        seterr(rd->err, rd->errlen, "archive is corrupt: %s",
                               archive_error_string(a));
                        rc = -EBADMSG;
                        break;
                }
                rc = read_entry(rd, a, e);
        }
        archive_read_free(a);
        if (rd->disk) {
                /* directory modes and times are applied here */
                if (archive_write_close(rd->disk) != ARCHIVE_OK && rc == 0) {
                        seterr(rd->err, rd->errlen, "%s", archive_error_string(rd->disk));
                        rc = -EIO;
                }
        }
        if (rc == 0)
                rc = check_manifest(rd);
        return rc;
}

int archive_verify(const char *path, struct archive_stats *st, char *err, size_t errlen)
{
        int lib = need_lib(err, errlen);
        if (lib < 0)
                return lib;
        struct reader rd = {.manifest = STRBUF_INIT(MANIFEST_MAX),
                            .path = STRBUF_INIT(0),
                            .err = err,
                            .errlen = errlen};
        int rc = read_archive(path, &rd);
        if (st)
                *st = rd.st;
        reader_free(&rd);
        return rc;
}

int archive_extract_safe(const char *path, const char *dest, struct archive_stats *st, char *err,
                         size_t errlen)
{
        int lib = need_lib(err, errlen);
        if (lib < 0)
                return lib;
        /* libarchive resolves relative names against the process's working
         * directory, which a threaded server cannot change: members are
         * mapped to absolute paths below the resolved dest, which is why
         * SECURE_NOABSOLUTEPATHS cannot be used (map_name refuses absolute
         * member names itself). */
        _cleanup_free_ char *real = realpath(dest, NULL);
        if (!real) {
                int e = errno;
                seterr(err, errlen, "%s: %s", dest, strerror(e));
                return -e;
        }
        struct reader rd = {.manifest = STRBUF_INIT(MANIFEST_MAX),
                            .path = STRBUF_INIT(0),
                            .dest = real,
                            .err = err,
                            .errlen = errlen};
        rd.disk = archive_write_disk_new();
        if (!rd.disk)
                return -ENOMEM;
        int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NODOTDOT;
        if (geteuid() == 0)
                flags |= ARCHIVE_EXTRACT_OWNER;
        archive_write_disk_set_options(rd.disk, flags);
        archive_write_disk_set_standard_lookup(rd.disk);
        int rc = read_archive(path, &rd);
        archive_write_free(rd.disk);
        if (st)
                *st = rd.st;
        reader_free(&rd);
        return rc;
}

/* ---------------------------------------------------------------- backups */

/* The answer of a backup call: its stats (extras 2..4) and message. */
static int remote_backup(struct hm_builder *hb, struct archive_stats *st, char *err, size_t errlen)
{
        struct helpcall_reply rep;
        _cleanup_free_ char *msg = NULL;
        int r = helpcall_send(hb, NULL, NULL, &rep, &msg);
        if (st && rep.answered)
                *st = (struct archive_stats){(uint64_t)hm_int(&rep.m, 2, 0),
                                             (uint64_t)hm_int(&rep.m, 3, 0),
                                             (uint64_t)hm_int(&rep.m, 4, 0)};
        if (r < 0)
                seterr(err, errlen, "%s", msg ? msg : strerror(-r));
        helpcall_reply_free(&rep);
        return r;
}

static bool is_dir(const char *p)
{
        struct stat sb;
        return p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int archive_backup_create(const struct config *cfg, const char *dest, bool full, const char *root,
                          const char *snapshot, struct archive_stats *st, char *err, size_t errlen)
{
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_BACKUP_CREATE);
                hm_add_str(&hb, full ? "full" : "site");
                hm_add_str(&hb, full ? "" : root);
                hm_add_str(&hb, full ? snapshot : "");
                hm_add_str(&hb, dest);
                return remote_backup(&hb, st, err, errlen);
        }
        struct archive_src srcs[4];
        size_t n = 0;
        const char *dbpath = cfg->database.path;
        _cleanup_free_ char *nginx_dir = NULL;
        _cleanup_strbuf_ struct strbuf wal = STRBUF_INIT(0), shm = STRBUF_INIT(0),
                                       journal = STRBUF_INIT(0);
        const char *site_exclude[] = {cfg->backups.dir, NULL};
        const char *full_exclude[] = {cfg->backups.dir, dbpath, NULL, NULL, NULL, NULL};
        const char *const *exclude = site_exclude;
        if (full) {
                if (str_empty(snapshot) || str_empty(dbpath))
                        return -EINVAL;
                nginx_dir = path_dirname(cfg->nginx.sites_available);
                strbuf_printf(&wal, "%s-wal", dbpath);
                strbuf_printf(&shm, "%s-shm", dbpath);
                strbuf_printf(&journal, "%s-journal", dbpath);
                if (!nginx_dir || !wal.data || !shm.data || !journal.data)
                        return -ENOMEM;
                full_exclude[2] = wal.data;
                full_exclude[3] = shm.data;
                full_exclude[4] = journal.data;
                exclude = full_exclude;
                const char *dirs[] = {cfg->nginx.webroot, nginx_dir, cfg->data_dir};
                for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                        if (!is_dir(dirs[i]))
                                continue;
                        bool dup = false;
                        for (size_t k = 0; k < n; k++)
                                dup |= streq(srcs[k].path, dirs[i]);
                        /* "/" would give members absolute names */
                        if (!dup && dirs[i][strspn(dirs[i], "/")])
                                srcs[n++] =
                                    (struct archive_src){dirs[i], dirs[i] + strspn(dirs[i], "/")};
                }
                srcs[n++] = (struct archive_src){snapshot, dbpath + strspn(dbpath, "/")};
        } else {
                const char *slash = root ? strrchr(root, '/') : NULL;
                if (!slash || !slash[1])
                        return -EINVAL;
                srcs[n++] = (struct archive_src){root, slash + 1};
        }
        int rc = archive_create(dest, srcs, n, exclude, st, err, errlen);
        if (rc == 0 && !str_empty(cfg->server.user) && geteuid() == 0) {
                /* the HTTP process lists, verifies, serves and deletes it */
                struct passwd *pw = getpwnam(cfg->server.user);
                if (!pw || lchown(dest, pw->pw_uid, pw->pw_gid) < 0) {
                        int e = pw ? errno : ENOENT;
                        seterr(err, errlen, "cannot give %s to %s: %s", dest, cfg->server.user,
                               strerror(e));
                        unlink(dest);
                        return -e;
                }
        }
        return rc;
}

/* ---------------------------------------------------------------- restore */

int archive_restore_dir(const char *path, const char *target, struct archive_stats *st, char *err,
                        size_t errlen)
{
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_BACKUP_RESTORE);
                hm_add_str(&hb, path);
                hm_add_str(&hb, target);
                return remote_backup(&hb, st, err, errlen);
        }
        _cleanup_free_ char *tcopy = strdup(target);
        if (!tcopy)
                return -ENOMEM;
        size_t tl = strlen(tcopy);
        while (tl > 1 && tcopy[tl - 1] == '/')
                tcopy[--tl] = '\0';
        const char *slash = strrchr(tcopy, '/');
        const char *base = slash ? slash + 1 : tcopy;
        if (str_empty(base) || streq(base, ".") || streq(base, "..")) {
                seterr(err, errlen, "invalid target %s", target);
                return -EINVAL;
        }
        _cleanup_free_ char *parent = path_dirname(tcopy);
        _cleanup_free_ char *rparent = parent ? realpath(parent, NULL) : NULL;
        if (!rparent) {
                int e = parent ? errno : ENOMEM;
                seterr(err, errlen, "%s: %s", parent ? parent : target, strerror(e));
                return -e;
        }
        _cleanup_strbuf_ struct strbuf live = STRBUF_INIT(0), tmp = STRBUF_INIT(0),
                                       old = STRBUF_INIT(0);
        if (strbuf_printf(&live, "%s/%s", streq(rparent, "/") ? "" : rparent, base) < 0 ||
            strbuf_printf(&tmp, "%s.restore-XXXXXX", live.data) < 0 ||
            strbuf_printf(&old, "%s.old-XXXXXX", live.data) < 0)
                return -ENOMEM;
        struct stat sb;
        bool exists = lstat(live.data, &sb) == 0;
        if (exists && !S_ISDIR(sb.st_mode)) {
                seterr(err, errlen, "%s is not a directory", live.data);
                return -ENOTDIR;
        }
        if (!mkdtemp(tmp.data)) {
                int e = errno;
                seterr(err, errlen, "mkdtemp beside %s: %s", live.data, strerror(e));
                return -e;
        }
        int rc = archive_extract_safe(path, tmp.data, st, err, errlen);
        if (rc < 0) {
                files_remove(tmp.data);
                return rc;
        }
        if (!exists) {
                if (renameat2(AT_FDCWD, tmp.data, AT_FDCWD, live.data, RENAME_NOREPLACE) < 0) {
                        rc = -errno;
                        seterr(err, errlen, "rename into %s: %s", live.data, strerror(-rc));
                        files_remove(tmp.data);
                        return rc;
                }
                fsync_dir_of(live.data);
                return 0;
        }
        if (renameat2(AT_FDCWD, tmp.data, AT_FDCWD, live.data, RENAME_EXCHANGE) == 0) {
                fsync_dir_of(live.data);
                files_remove(tmp.data); /* now the old tree */
                return 0;
        }
        if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
                rc = -errno;
                seterr(err, errlen, "swap %s: %s", live.data, strerror(-rc));
                files_remove(tmp.data);
                return rc;
        }
        /* No RENAME_EXCHANGE here: move the live tree onto an empty
         * placeholder (rename replaces an empty directory), then move the
         * restored one in, and put the old one back if that fails. */
        if (!mkdtemp(old.data) || rename(live.data, old.data) < 0) {
                rc = -errno;
                seterr(err, errlen, "move %s aside: %s", live.data, strerror(-rc));
                rmdir(old.data);
                files_remove(tmp.data);
                return rc;
        }
        if (rename(tmp.data, live.data) < 0) {
                rc = -errno;
                seterr(err, errlen, "rename into %s: %s", live.data, strerror(-rc));
                rename(old.data, live.data);
                files_remove(tmp.data);
                return rc;
        }
        fsync_dir_of(live.data);
        files_remove(old.data);
        return 0;
}
