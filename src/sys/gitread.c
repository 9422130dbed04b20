#include "sys/gitread.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/dynlib.h"
#include "base/fsutil.h"
#include "base/util.h"

#define SMALL_FILE      4096
#define PACKED_REFS_MAX (8 * 1024 * 1024)
#define COMMIT_MAX      (256 * 1024) /* inflated commit object */
#define PACK_READ_MAX   (64 * 1024)  /* compressed bytes read from a pack */

static bool is_hex40(const char *s)
{
        for (int i = 0; i < GIT_HASH_HEX; i++)
                if (hex_digit(s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
                        return false;
        return true;
}

/* A ref name we are willing to turn into a path under .git. */
static bool safe_ref(const char *ref)
{
        if (!startswith(ref, "refs/") || strstr(ref, "..") || strstr(ref, "//"))
                return false;
        for (const unsigned char *p = (const unsigned char *)ref; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '\\')
                        return false;
        return true;
}

static void chomp(char *s)
{
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
                s[--n] = '\0';
}

static int read_small(const char *gitdir, const char *rel, char **out)
{
        char path[4096];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", gitdir, rel) >= sizeof(path))
                return -ENAMETOOLONG;
        size_t len;
        int r = read_file(path, SMALL_FILE, out, &len);
        if (r == 0)
                chomp(*out);
        return r;
}

static int packed_ref(const char *gitdir, const char *ref, char hash[GIT_HASH_HEX + 1])
{
        char path[4096];
        if ((size_t)snprintf(path, sizeof(path), "%s/packed-refs", gitdir) >= sizeof(path))
                return -ENAMETOOLONG;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file(path, PACKED_REFS_MAX, &text, &len);
        if (r < 0)
                return r;
        size_t reflen = strlen(ref);
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t)(nl - line) : strlen(line);
                if (n >= GIT_HASH_HEX + 1 + reflen && line[GIT_HASH_HEX] == ' ' && is_hex40(line) &&
                    memcmp(line + GIT_HASH_HEX + 1, ref, reflen) == 0 &&
                    (n == GIT_HASH_HEX + 1 + reflen || line[GIT_HASH_HEX + 1 + reflen] == '\r')) {
                        memcpy(hash, line, GIT_HASH_HEX);
                        hash[GIT_HASH_HEX] = '\0';
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

static int resolve_head(const char *gitdir, char hash[GIT_HASH_HEX + 1])
{
        _cleanup_free_ char *head = NULL;
        int r = read_small(gitdir, "HEAD", &head);
        if (r < 0)
                return r;
        if (strlen(head) == GIT_HASH_HEX && is_hex40(head)) {
                memcpy(hash, head, GIT_HASH_HEX + 1);
                return 0;
        }
        if (!startswith(head, "ref: "))
                return -EINVAL;
        const char *ref = head + 5;
        if (!safe_ref(ref))
                return -EINVAL;
        _cleanup_free_ char *val = NULL;
        r = read_small(gitdir, ref, &val);
        if (r == 0) {
                if (strlen(val) != GIT_HASH_HEX || !is_hex40(val))
                        return -EINVAL;
                memcpy(hash, val, GIT_HASH_HEX + 1);
                return 0;
        }
        if (r != -ENOENT)
                return r;
        return packed_ref(gitdir, ref, hash);
}

/* zlib is loaded by the first object read (base/dynlib): a panel without
 * AUTARCH never reads one, and maps none of it. */
static struct {
        __typeof__(inflateInit_) *init;
        __typeof__(inflate) *inflate;
        __typeof__(inflateEnd) *end;
} zl;
static const char *const zl_names[] = {"inflateInit_", "inflate", "inflateEnd"};
static const char *const zl_sonames[] = {"libz.so.1", NULL};
_Static_assert(sizeof(zl) == ARRAY_SIZE(zl_names) * sizeof(void *), "one slot per name");
static struct dynlib_lazy zlib =
    DYNLIB_LAZY(zl_sonames, zl_names, ARRAY_SIZE(zl_names), "git objects", (void **)&zl);

/* Inflate in[0..inlen) (a zlib stream) into at most COMMIT_MAX bytes. */
static int inflate_buf(const unsigned char *in, size_t inlen, char **out, size_t *outlen)
{
        if (!dynlib_lazy_get(&zlib))
                return -ELIBACC;
        size_t cap = 8192;
        unsigned char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        z_stream z = {0};
        if (zl.init(&z, ZLIB_VERSION, (int)sizeof(z)) != Z_OK) {
                free(buf);
                return -ENOMEM;
        }
        z.next_in = (unsigned char *)in;
        z.avail_in = (uInt)inlen;
        int r = 0;
        for (;;) {
                z.next_out = buf + z.total_out;
                z.avail_out = (uInt)(cap - z.total_out);
                int zr = zl.inflate(&z, Z_NO_FLUSH);
                if (zr == Z_STREAM_END)
                        break;
                if (zr != Z_OK && zr != Z_BUF_ERROR) {
                        r = -EINVAL;
                        break;
                }
                if (z.avail_out == 0) {
                        if (cap >= COMMIT_MAX) {
                                r = -EFBIG;
                                break;
                        }
                        size_t ncap = cap * 2 > COMMIT_MAX ? COMMIT_MAX : cap * 2;
                        unsigned char *nb = realloc(buf, ncap + 1);
                        if (!nb) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = nb;
                        cap = ncap;
                } else if (zr == Z_BUF_ERROR || z.avail_in == 0) {
                        r = -EINVAL; /* truncated input */
                        break;
                }
        }
        size_t total = z.total_out;
        zl.end(&z);
        if (r < 0) {
                free(buf);
                return r;
        }
        buf[total] = '\0';
        *out = (char *)buf;
        *outlen = total;
        return 0;
}

int git_commit_subject(const char *body, size_t len, char *out, size_t outlen)
{
        if (!out || outlen == 0)
                return -EINVAL;
        out[0] = '\0';
        const char *msg = NULL;
        for (size_t i = 0; i + 1 < len; i++)
                if (body[i] == '\n' && body[i + 1] == '\n') {
                        msg = body + i + 2;
                        break;
                }
        if (!msg)
                return -EINVAL;
        size_t left = len - (size_t)(msg - body);
        size_t o = 0;
        for (size_t i = 0; i < left && msg[i] != '\n' && o + 1 < outlen; i++) {
                unsigned char c = (unsigned char)msg[i];
                if (c < 0x20 || c == 0x7f)
                        continue;
                out[o++] = (char)c;
        }
        /* cut at a character boundary: drop a trailing incomplete sequence */
        size_t k = o;
        while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
                k--;
        if (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0xc0) {
                unsigned char lead = (unsigned char)out[k - 1];
                size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                if (o - (k - 1) < need)
                        o = k - 1;
        }
        out[o] = '\0';
        return 0;
}

/* "commit <size>\0<body>" -> subject. */
static int subject_of_object(const char *obj, size_t len, char *subject, size_t sublen)
{
        const char *nul = memchr(obj, '\0', len);
        if (!nul || !startswith(obj, "commit "))
                return -EINVAL;
        return git_commit_subject(nul + 1, len - (size_t)(nul + 1 - obj), subject, sublen);
}

static int loose_subject(const char *gitdir, const char *hash, char *subject, size_t sublen)
{
        char path[4096];
        if ((size_t)snprintf(path, sizeof(path), "%s/objects/%.2s/%s", gitdir, hash, hash + 2) >=
            sizeof(path))
                return -ENAMETOOLONG;
        _cleanup_free_ char *raw = NULL;
        size_t rawlen;
        int r = read_file(path, COMMIT_MAX, &raw, &rawlen);
        if (r < 0)
                return r;
        _cleanup_free_ char *obj = NULL;
        size_t objlen;
        r = inflate_buf((unsigned char *)raw, rawlen, &obj, &objlen);
        return r < 0 ? r : subject_of_object(obj, objlen, subject, sublen);
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
        size_t got = 0;
        while (got < n) {
                ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EINVAL;
                got += (size_t)k;
        }
        return 0;
}

/* The offset of sha in a v2 pack index, or -ENOENT. */
static int idx_lookup(int fd, const unsigned char sha[20], uint64_t *offset)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        uint32_t head[2], fan[256];
        int r = pread_all(fd, head, sizeof(head), 0);
        if (r < 0)
                return r;
        if (ntohl(head[0]) != 0xff744f63 || ntohl(head[1]) != 2)
                return -EINVAL;
        r = pread_all(fd, fan, sizeof(fan), 8);
        if (r < 0)
                return r;
        uint32_t total = ntohl(fan[255]);
        uint32_t lo = sha[0] ? ntohl(fan[sha[0] - 1]) : 0, hi = ntohl(fan[sha[0]]);
        off_t names = 8 + 1024;
        if (hi > total || lo > hi || (uint64_t)st.st_size < (uint64_t)names + (uint64_t)total * 28)
                return -EINVAL;
        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                unsigned char cand[20];
                r = pread_all(fd, cand, 20, names + (off_t)mid * 20);
                if (r < 0)
                        return r;
                int c = memcmp(cand, sha, 20);
                if (c == 0) {
                        off_t offs = names + (off_t)total * 24;
                        uint32_t o32;
                        r = pread_all(fd, &o32, 4, offs + (off_t)mid * 4);
                        if (r < 0)
                                return r;
                        o32 = ntohl(o32);
                        if (!(o32 & 0x80000000u)) {
                                *offset = o32;
                                return 0;
                        }
                        uint32_t big[2];
                        off_t large = offs + (off_t)total * 4 + (off_t)(o32 & 0x7fffffffu) * 8;
                        r = pread_all(fd, big, 8, large);
                        if (r < 0)
                                return r;
                        *offset = (uint64_t)ntohl(big[0]) << 32 | ntohl(big[1]);
                        return 0;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -ENOENT;
}

static int pack_entry_subject(const char *packpath, uint64_t offset, char *subject, size_t sublen)
{
        _cleanup_close_ int fd = open(packpath, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (offset >= (uint64_t)st.st_size)
                return -EINVAL;
        size_t n = (uint64_t)st.st_size - offset < PACK_READ_MAX ? (size_t)(st.st_size - offset)
                                                                 : PACK_READ_MAX;
        _cleanup_free_ unsigned char *buf = malloc(n);
        if (!buf)
                return -ENOMEM;
        int r = pread_all(fd, buf, n, (off_t)offset);
        if (r < 0)
                return r;
        size_t i = 0;
        unsigned type = (buf[0] >> 4) & 7;
        uint64_t size = buf[0] & 15;
        unsigned shift = 4;
        while (buf[i] & 0x80) {
                if (++i >= n || shift > 56)
                        return -EINVAL;
                size |= (uint64_t)(buf[i] & 0x7f) << shift;
                shift += 7;
        }
        i++;
        if (type != 1) /* a delta or not a commit: not worth resolving here */
                return -ENOTSUP;
        if (size > COMMIT_MAX)
                return -EFBIG;
        _cleanup_free_ char *body = NULL;
        size_t bodylen;
        r = inflate_buf(buf + i, n - i, &body, &bodylen);
        if (r < 0)
                return r;
        return git_commit_subject(body, bodylen, subject, sublen);
}

static int packed_subject(const char *gitdir, const char *hash, char *subject, size_t sublen)
{
        unsigned char sha[20];
        for (int i = 0; i < 20; i++)
                sha[i] = (unsigned char)(hex_digit(hash[2 * i]) << 4 | hex_digit(hash[2 * i + 1]));
        char dirpath[4096];
        if ((size_t)snprintf(dirpath, sizeof(dirpath), "%s/objects/pack", gitdir) >=
            sizeof(dirpath))
                return -ENAMETOOLONG;
        DIR *d = opendir(dirpath);
        if (!d)
                return -errno;
        int r = -ENOENT;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t nl = strlen(de->d_name);
                if (nl < 5 || strcmp(de->d_name + nl - 4, ".idx") != 0)
                        continue;
                char idx[4096 + 256], pack[4096 + 256];
                snprintf(idx, sizeof(idx), "%s/%s", dirpath, de->d_name);
                snprintf(pack, sizeof(pack), "%s/%.*s.pack", dirpath, (int)(nl - 4), de->d_name);
                _cleanup_close_ int fd = open(idx, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                uint64_t off = 0;
                if (idx_lookup(fd, sha, &off) < 0)
                        continue;
                r = pack_entry_subject(pack, off, subject, sublen);
                break;
        }
        closedir(d);
        return r;
}

static int gitdir_of(const char *worktree, char *out, size_t len)
{
        if (!worktree || (size_t)snprintf(out, len, "%s/.git", worktree) >= len)
                return -ENAMETOOLONG;
        return 0;
}

int git_head_hash(const char *worktree, char hash[GIT_HASH_HEX + 1])
{
        char gitdir[4096];
        if (!hash)
                return -EINVAL;
        hash[0] = '\0';
        int r = gitdir_of(worktree, gitdir, sizeof(gitdir));
        if (!r)
                r = resolve_head(gitdir, hash);
        if (r < 0)
                hash[0] = '\0';
        return r;
}

int git_object_subject(const char *worktree, const char *hash, char *subject, size_t subjectlen)
{
        char gitdir[4096];
        if (!hash || strlen(hash) != GIT_HASH_HEX || !is_hex40(hash) || !subject || subjectlen == 0)
                return -EINVAL;
        subject[0] = '\0';
        int r = gitdir_of(worktree, gitdir, sizeof(gitdir));
        if (r < 0)
                return r;
        r = loose_subject(gitdir, hash, subject, subjectlen);
        if (r < 0)
                r = packed_subject(gitdir, hash, subject, subjectlen);
        if (r < 0)
                subject[0] = '\0';
        return r;
}

int git_read_head(const char *worktree, char hash[GIT_HASH_HEX + 1], char *subject,
                  size_t subjectlen)
{
        if (!subject || subjectlen == 0)
                return -EINVAL;
        subject[0] = '\0';
        int r = git_head_hash(worktree, hash);
        if (r < 0)
                return r;
        git_object_subject(worktree, hash, subject, subjectlen);
        return 0;
}
