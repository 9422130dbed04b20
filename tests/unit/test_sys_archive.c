/* Backup archives: creation with a manifest, verification, corruption,
 * safe extraction and atomic restore. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "base/util.h"
#include "sys/archive.h"
#include "sys/files.h"

static char tmpdir[64];

static void path(char *out, size_t n, const char *rel)
{
        snprintf(out, n, "%s/%s", tmpdir, rel);
}

static void write_bytes(const char *rel, const void *data, size_t len)
{
        char p[512];
        path(p, sizeof(p), rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static char *read_all(const char *p, size_t *len)
{
        FILE *f = fopen(p, "rb");
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        buf[n] = '\0';
        fclose(f);
        *len = (size_t)n;
        return buf;
}

static void sha_hex(const void *d, size_t n, char out[65])
{
        unsigned char sum[32];
        assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, d, n, sum), 0);
        for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", sum[i]);
}

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/setec-archive-test-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        return 0;
}

static int teardown(void **state)
{
        if (!getenv("KEEP"))
                assert_int_equal(files_remove(tmpdir), 0);
        return 0;
}

static uint8_t *big_data(size_t n)
{
        uint8_t *b = malloc(n);
        assert_non_null(b);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b[i] = (uint8_t)x;
        }
        return b;
}

#define BIG (5u << 20)

/* site/{a.txt, file with spaces.txt, empty/, big.bin, link -> a.txt, fifo,
 * skip/x} */
static void make_tree(void)
{
        char p[512];
        path(p, sizeof(p), "site");
        assert_int_equal(mkdir(p, 0755), 0);
        path(p, sizeof(p), "site/empty");
        assert_int_equal(mkdir(p, 0700), 0);
        path(p, sizeof(p), "site/skip");
        assert_int_equal(mkdir(p, 0755), 0);
        write_bytes("site/skip/x", "x", 1);
        write_bytes("site/a.txt", "alpha\n", 6);
        write_bytes("site/file with spaces.txt", "spaces\n", 7);
        uint8_t *b = big_data(BIG);
        write_bytes("site/big.bin", b, BIG);
        free(b);
        path(p, sizeof(p), "site/link");
        assert_int_equal(symlink("a.txt", p), 0);
        path(p, sizeof(p), "site/fifo");
        assert_int_equal(mkfifo(p, 0600), 0);
}

static int create_site_archive(const char *dest_rel)
{
        char src[512], dest[512], skip[512], err[256] = "";
        path(src, sizeof(src), "site");
        path(dest, sizeof(dest), dest_rel);
        path(skip, sizeof(skip), "site/skip");
        struct archive_src s = {src, "site"};
        const char *ex[] = {skip, NULL};
        struct archive_stats st;
        int rc = archive_create(dest, &s, 1, ex, &st, err, sizeof(err));
        if (rc == 0) {
                assert_int_equal(st.files, 3);
                assert_int_equal(st.bytes, BIG + 13);
        }
        return rc;
}

struct member {
        char name[256];
        mode_t type;
        char link[256];
        char *data;
        size_t len;
};

static size_t list_archive(const char *p, struct member *m, size_t max)
{
        struct archive *a = archive_read_new();
        archive_read_support_filter_gzip(a);
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_filename(a, p, 65536), ARCHIVE_OK);
        struct archive_entry *e;
        size_t n = 0;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                assert_true(n < max);
                snprintf(m[n].name, sizeof(m[n].name), "%s", archive_entry_pathname(e));
                m[n].type = archive_entry_filetype(e);
                const char *l = archive_entry_symlink(e);
                snprintf(m[n].link, sizeof(m[n].link), "%s", l ? l : "");
                m[n].len = (size_t)archive_entry_size(e);
                m[n].data = malloc(m[n].len + 1);
                assert_int_equal(archive_read_data(a, m[n].data, m[n].len), (ssize_t)m[n].len);
                m[n].data[m[n].len] = '\0';
                n++;
        }
        archive_read_free(a);
        return n;
}

static struct member *find(struct member *m, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(m[i].name, name))
                        return &m[i];
        return NULL;
}

static void test_create_and_list(void **state)
{
        make_tree();
        assert_int_equal(create_site_archive("out.tar.gz"), 0);
        char p[512];
        path(p, sizeof(p), "out.tar.gz.partial");
        assert_int_equal(access(p, F_OK), -1);
        path(p, sizeof(p), "out.tar.gz");
        struct stat sb;
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);

        struct member m[32];
        size_t n = list_archive(p, m, 32);
        assert_int_equal(n, 7); /* site, empty, a.txt, spaces, big, link, manifest */
        assert_string_equal(m[0].name, "site/");
        assert_string_equal(m[n - 1].name, ARCHIVE_MANIFEST_NAME);
        assert_non_null(find(m, n, "site/empty/"));
        assert_null(find(m, n, "site/fifo"));
        assert_null(find(m, n, "site/skip/"));
        assert_null(find(m, n, "site/skip/x"));
        struct member *l = find(m, n, "site/link");
        assert_non_null(l);
        assert_int_equal(l->type, AE_IFLNK);
        assert_string_equal(l->link, "a.txt");
        struct member *big = find(m, n, "site/big.bin");
        assert_non_null(big);
        assert_int_equal(big->len, BIG);

        /* the manifest: one sha256sum line per regular file, in order */
        char h1[65], h2[65], h3[65], expect[512];
        sha_hex("alpha\n", 6, h1);
        sha_hex("spaces\n", 7, h2);
        sha_hex(big->data, big->len, h3);
        const char *order[3];
        size_t k = 0;
        for (size_t i = 0; i < n - 1; i++)
                if (m[i].type == AE_IFREG)
                        order[k++] = m[i].name;
        assert_int_equal(k, 3);
        size_t off = 0;
        for (size_t i = 0; i < 3; i++)
                off += (size_t)snprintf(expect + off, sizeof(expect) - off, "%s  %s\n",
                                        streq(order[i], "site/a.txt")     ? h1
                                        : streq(order[i], "site/big.bin") ? h3
                                                                          : h2,
                                        order[i]);
        assert_string_equal(m[n - 1].data, expect);
        for (size_t i = 0; i < n; i++)
                free(m[i].data);

        char err[256] = "";
        struct archive_stats st;
        assert_int_equal(archive_verify(p, &st, err, sizeof(err)), 0);
        assert_int_equal(st.files, 3);

        /* never replaces an existing archive */
        assert_int_equal(create_site_archive("out.tar.gz"), -EEXIST);
        assert_int_equal(stat(p, &sb), 0);
}

static void test_corrupt_fails_verify(void **state)
{
        make_tree();
        assert_int_equal(create_site_archive("c.tar.gz"), 0);
        char p[512], err[256] = "";
        path(p, sizeof(p), "c.tar.gz");
        int fd = open(p, O_RDWR);
        assert_true(fd >= 0);
        off_t size = lseek(fd, 0, SEEK_END);
        unsigned char c;
        assert_int_equal(pread(fd, &c, 1, size / 2), 1);
        c ^= 0x55;
        assert_int_equal(pwrite(fd, &c, 1, size / 2), 1);
        close(fd);
        assert_int_equal(archive_verify(p, NULL, err, sizeof(err)), -EBADMSG);
        assert_true(strlen(err) > 0);

        /* extraction checks the same sums: nothing is restored from it */
        char dest[512];
        path(dest, sizeof(dest), "dest");
        assert_int_equal(mkdir(dest, 0755), 0);
        assert_int_equal(archive_extract_safe(p, dest, NULL, err, sizeof(err)), -EBADMSG);

        char missing[512];
        path(missing, sizeof(missing), "none.tar.gz");
        assert_int_equal(archive_verify(missing, NULL, err, sizeof(err)), -ENOENT);
}

struct crafted {
        const char *name;
        mode_t type;
        const char *data; /* regular files */
        const char *link; /* symlink target */
        const char *hard; /* hard link target */
};

/* A tar.gz of the given members and, when with_manifest, a correct
 * manifest (sums may be overridden by bad_sum). */
static void craft(const char *rel, const struct crafted *c, size_t n, bool with_manifest,
                  bool bad_sum)
{
        char p[512];
        path(p, sizeof(p), rel);
        struct archive *a = archive_write_new();
        archive_write_add_filter_gzip(a);
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
        char manifest[4096] = "";
        size_t moff = 0;
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, c[i].name);
                archive_entry_set_filetype(e, c[i].type);
                archive_entry_set_perm(e, c[i].type == AE_IFDIR ? 0755 : 0644);
                if (c[i].link)
                        archive_entry_set_symlink(e, c[i].link);
                if (c[i].hard)
                        archive_entry_set_hardlink(e, c[i].hard);
                size_t len = c[i].data ? strlen(c[i].data) : 0;
                archive_entry_set_size(e, (la_int64_t)len);
                assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
                if (len)
                        assert_int_equal(archive_write_data(a, c[i].data, len), (ssize_t)len);
                if (c[i].type == AE_IFREG && !c[i].hard) {
                        char h[65];
                        sha_hex(c[i].data ? c[i].data : "", len, h);
                        if (bad_sum)
                                h[0] = h[0] == '0' ? '1' : '0';
                        moff += (size_t)snprintf(manifest + moff, sizeof(manifest) - moff,
                                                 "%s  %s\n", h, c[i].name);
                }
                archive_entry_free(e);
        }
        if (with_manifest) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, ARCHIVE_MANIFEST_NAME);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t)moff);
                assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
                assert_int_equal(archive_write_data(a, manifest, moff), (ssize_t)moff);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void test_manifest_checks(void **state)
{
        const struct crafted ok[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/a", AE_IFREG, "aaa", NULL, NULL},
        };
        char p[512], err[256];
        craft("nomanifest.tar.gz", ok, 2, false, false);
        path(p, sizeof(p), "nomanifest.tar.gz");
        assert_int_equal(archive_verify(p, NULL, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "no MANIFEST"));

        craft("badsum.tar.gz", ok, 2, true, true);
        path(p, sizeof(p), "badsum.tar.gz");
        assert_int_equal(archive_verify(p, NULL, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "checksum mismatch: site/a"));

        craft("good.tar.gz", ok, 2, true, false);
        path(p, sizeof(p), "good.tar.gz");
        assert_int_equal(archive_verify(p, NULL, err, sizeof(err)), 0);
}

static void test_extract_round_trip(void **state)
{
        make_tree();
        assert_int_equal(create_site_archive("r.tar.gz"), 0);
        char p[512], dest[512], err[256] = "";
        path(p, sizeof(p), "r.tar.gz");
        path(dest, sizeof(dest), "dest");
        assert_int_equal(mkdir(dest, 0755), 0);
        struct archive_stats st;
        assert_int_equal(archive_extract_safe(p, dest, &st, err, sizeof(err)), 0);
        assert_int_equal(st.files, 3);
        size_t len;
        char q[600], *d;
        snprintf(q, sizeof(q), "%s/file with spaces.txt", dest);
        assert_non_null(d = read_all(q, &len));
        assert_string_equal(d, "spaces\n");
        free(d);
        snprintf(q, sizeof(q), "%s/big.bin", dest);
        assert_non_null(d = read_all(q, &len));
        assert_int_equal(len, BIG);
        uint8_t *b = big_data(BIG);
        assert_memory_equal(d, b, BIG);
        free(b);
        free(d);
        char lt[64] = "";
        snprintf(q, sizeof(q), "%s/link", dest);
        assert_int_equal(readlink(q, lt, sizeof(lt) - 1), 5);
        assert_string_equal(lt, "a.txt");
        struct stat sb;
        snprintf(q, sizeof(q), "%s/empty", dest);
        assert_int_equal(stat(q, &sb), 0);
        assert_true(S_ISDIR(sb.st_mode));
        assert_int_equal(sb.st_mode & 0777, 0700);
}

/* Each crafted archive must be refused and leave nothing outside dest. */
static void expect_refused(const char *rel, const struct crafted *c, size_t n, const char *outside)
{
        char p[512], dest[512], err[256] = "";
        craft(rel, c, n, true, false);
        path(p, sizeof(p), rel);
        path(dest, sizeof(dest), "dest");
        files_remove(dest);
        assert_int_equal(mkdir(dest, 0755), 0);
        int rc = archive_extract_safe(p, dest, NULL, err, sizeof(err));
        if (rc != -EPERM)
                fail_msg("%s: extract returned %d (%s)", rel, rc, err);
        assert_true(strlen(err) > 0);
        assert_int_equal(access(outside, F_OK), -1);
        assert_int_equal(errno, ENOENT);
}

static void test_extract_refuses_escapes(void **state)
{
        char outside[512], outdir[512], abs_name[600], evil[600];
        path(outside, sizeof(outside), "evil");
        const struct crafted dotdot[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/ok", AE_IFREG, "ok", NULL, NULL},
            {"site/../evil", AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("dotdot.tar.gz", dotdot, 3, outside);

        snprintf(abs_name, sizeof(abs_name), "%s/evil", tmpdir);
        const struct crafted absolute[] = {
            {abs_name, AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("abs.tar.gz", absolute, 1, outside);
        const struct crafted absolute2[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {abs_name, AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("abs2.tar.gz", absolute2, 2, outside);

        /* a symlink to a directory outside, then a file "through" it */
        path(outdir, sizeof(outdir), "outdir");
        assert_int_equal(mkdir(outdir, 0755), 0);
        snprintf(evil, sizeof(evil), "%s/evil", outdir);
        const struct crafted via_link[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/link", AE_IFLNK, NULL, outdir, NULL},
            {"site/link/evil", AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("symlink.tar.gz", via_link, 3, evil);
        const struct crafted rel_link[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/up", AE_IFLNK, NULL, "../outdir", NULL},
            {"site/up/evil", AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("symlink2.tar.gz", rel_link, 3, evil);

        /* a hard link to a file outside */
        write_bytes("victim", "v", 1);
        char victim_link[512];
        path(victim_link, sizeof(victim_link), "dest/h");
        const struct crafted hard[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/h", AE_IFREG, NULL, NULL, "site/../../victim"},
        };
        expect_refused("hard.tar.gz", hard, 2, victim_link);

        /* a symlink to a file outside, then a regular file of the same name:
         * refused or the link replaced, never written through */
        write_bytes("victim2", "v", 1);
        char victim2[512];
        path(victim2, sizeof(victim2), "victim2");
        const struct crafted over_link[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/f", AE_IFLNK, NULL, victim2, NULL},
            {"site/f", AE_IFREG, "overwritten", NULL, NULL},
        };
        craft("over.tar.gz", over_link, 3, true, false);
        char p[512], dest[512], err[256] = "";
        path(p, sizeof(p), "over.tar.gz");
        path(dest, sizeof(dest), "dest");
        files_remove(dest);
        assert_int_equal(mkdir(dest, 0755), 0);
        int rc = archive_extract_safe(p, dest, NULL, err, sizeof(err));
        assert_true(rc == 0 || rc == -EPERM);
        size_t len;
        char *d = read_all(victim2, &len);
        assert_non_null(d);
        assert_string_equal(d, "v");
        free(d);

        /* the top level itself as a symlink out of dest */
        const struct crafted top_link[] = {
            {"site", AE_IFLNK, NULL, outdir, NULL},
            {"site/evil", AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("toplink.tar.gz", top_link, 2, evil);

        /* members under two different top-level names */
        const struct crafted two_tops[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"other/x", AE_IFREG, "x", NULL, NULL},
        };
        expect_refused("tops.tar.gz", two_tops, 2, outside);
}

static void test_restore_dir(void **state)
{
        make_tree();
        assert_int_equal(create_site_archive("s.tar.gz"), 0);
        char p[512], target[512], q[600], err[256] = "";
        path(p, sizeof(p), "s.tar.gz");
        path(target, sizeof(target), "site");
        snprintf(q, sizeof(q), "%s/a.txt", target);
        unlink(q);
        write_bytes("site/new.txt", "new", 3);

        assert_int_equal(archive_restore_dir(p, target, NULL, err, sizeof(err)), 0);
        size_t len;
        char *d = read_all(q, &len);
        assert_non_null(d);
        assert_string_equal(d, "alpha\n");
        free(d);
        snprintf(q, sizeof(q), "%s/new.txt", target);
        assert_int_equal(access(q, F_OK), -1);

        /* nothing left beside the target */
        DIR *dir = opendir(tmpdir);
        assert_non_null(dir);
        struct dirent *de;
        while ((de = readdir(dir)))
                assert_null(strstr(de->d_name, ".restore-")),
                    assert_null(strstr(de->d_name, ".old-"));
        closedir(dir);

        /* a corrupt archive leaves the live tree as it was */
        write_bytes("site/keep.txt", "keep", 4);
        const struct crafted bad[] = {
            {"site", AE_IFDIR, NULL, NULL, NULL},
            {"site/a.txt", AE_IFREG, "other", NULL, NULL},
        };
        craft("bad.tar.gz", bad, 2, true, true);
        path(p, sizeof(p), "bad.tar.gz");
        assert_int_equal(archive_restore_dir(p, target, NULL, err, sizeof(err)), -EBADMSG);
        snprintf(q, sizeof(q), "%s/keep.txt", target);
        assert_int_equal(access(q, F_OK), 0);
        snprintf(q, sizeof(q), "%s/a.txt", target);
        assert_non_null(d = read_all(q, &len));
        assert_string_equal(d, "alpha\n");
        free(d);
        dir = opendir(tmpdir);
        while ((de = readdir(dir)))
                assert_null(strstr(de->d_name, ".restore-"));
        closedir(dir);

        /* a missing target is created */
        files_remove(target);
        path(p, sizeof(p), "s.tar.gz");
        assert_int_equal(archive_restore_dir(p, target, NULL, err, sizeof(err)), 0);
        snprintf(q, sizeof(q), "%s/big.bin", target);
        struct stat sb;
        assert_int_equal(stat(q, &sb), 0);
        assert_int_equal(sb.st_size, BIG);

        /* a target that is not a directory is refused */
        files_remove(target);
        write_bytes("site", "file", 4);
        assert_int_equal(archive_restore_dir(p, target, NULL, err, sizeof(err)), -ENOTDIR);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_create_and_list, setup, teardown),
            cmocka_unit_test_setup_teardown(test_corrupt_fails_verify, setup, teardown),
            cmocka_unit_test_setup_teardown(test_manifest_checks, setup, teardown),
            cmocka_unit_test_setup_teardown(test_extract_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_extract_refuses_escapes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_restore_dir, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
