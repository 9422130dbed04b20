#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "sys/logtail.h"

static char dir[] = "/tmp/setec-logtail-XXXXXX";

static char *path_of(const char *name)
{
        size_t n = strlen(dir) + strlen(name) + 2;
        char *p = malloc(n);
        assert_non_null(p);
        snprintf(p, n, "%s/%s", dir, name);
        return p;
}

static char *write_file(const char *name, const char *data, size_t len)
{
        char *p = path_of(name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
        return p;
}

/* logtail_read into a fresh buffer; returns the text (caller frees). */
static char *tail(const char *path, size_t lines, size_t max_bytes, size_t *read_bytes, int *rc)
{
        struct strbuf b = STRBUF_INIT(64u << 20);
        *rc = logtail_read(path, lines, max_bytes, &b, read_bytes);
        char *s = strbuf_steal(&b);
        return s;
}

static void test_small_file(void **state)
{
        _cleanup_free_ char *p = write_file("small", "a\nb\nc\nd\n", 8);
        int rc;
        _cleanup_free_ char *t = tail(p, 2, 0, NULL, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(t, "c\nd\n");
        _cleanup_free_ char *all = tail(p, 100, 0, NULL, &rc);
        assert_string_equal(all, "a\nb\nc\nd\n");
        _cleanup_free_ char *one = tail(p, 1, 0, NULL, &rc);
        assert_string_equal(one, "d\n");
}

static void test_no_trailing_newline(void **state)
{
        _cleanup_free_ char *p = write_file("nonl", "a\nb\nlast", 8);
        int rc;
        _cleanup_free_ char *t = tail(p, 2, 0, NULL, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(t, "b\nlast\n");
        _cleanup_free_ char *one = tail(p, 1, 0, NULL, &rc);
        assert_string_equal(one, "last\n");
}

static void test_crlf(void **state)
{
        _cleanup_free_ char *p = write_file("crlf", "one\r\ntwo\r\nthree\r\n", 17);
        int rc;
        _cleanup_free_ char *t = tail(p, 2, 0, NULL, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(t, "two\nthree\n");
        /* a lone CR inside a line is kept */
        _cleanup_free_ char *p2 = write_file("cr", "x\ry\nz\r", 6);
        _cleanup_free_ char *t2 = tail(p2, 5, 0, NULL, &rc);
        assert_string_equal(t2, "x\ry\nz\r\n");
}

static void test_empty_and_errors(void **state)
{
        _cleanup_free_ char *p = write_file("empty", "", 0);
        int rc;
        _cleanup_free_ char *t = tail(p, 10, 0, NULL, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(t, "");
        _cleanup_free_ char *missing = path_of("missing");
        free(tail(missing, 10, 0, NULL, &rc));
        assert_int_equal(rc, -ENOENT);
        free(tail(dir, 10, 0, NULL, &rc));
        assert_int_equal(rc, -EISDIR);
        free(tail("/dev/null", 10, 0, NULL, &rc));
        assert_int_equal(rc, -EINVAL);
        /* only newlines */
        _cleanup_free_ char *nl = write_file("nl", "\n\n\n", 3);
        _cleanup_free_ char *t2 = tail(nl, 2, 0, NULL, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(t2, "\n\n");
}

/* Lines spanning chunk boundaries: the answer is the exact last lines. */
static void test_bigger_than_chunk(void **state)
{
        struct strbuf b = STRBUF_INIT(0);
        for (int i = 0; i < 20000; i++)
                assert_int_equal(strbuf_printf(&b, "line %05d %s\n", i, "xxxxxxxxxxxxxxxxxxxxxx"),
                                 0);
        _cleanup_free_ char *p = write_file("big", b.data, b.len);
        strbuf_free(&b);
        int rc;
        size_t rd = 0;
        _cleanup_free_ char *t = tail(p, 3000, 0, &rd, &rc);
        assert_int_equal(rc, 0);
        /* 3000 lines of 34 bytes = 102000 bytes, read in 64 KiB chunks */
        assert_int_equal(strlen(t), 3000 * 34);
        assert_true(strncmp(t, "line 17000 ", 11) == 0);
        assert_true(strcmp(t + strlen(t) - 34, "line 19999 xxxxxxxxxxxxxxxxxxxxxx\n") == 0);
        /* a line crossing the 64 KiB boundary from the end */
        size_t cut = 0;
        for (int n = 1; n <= 3000; n++) {
                _cleanup_free_ char *u = tail(p, (size_t)n, 0, NULL, &rc);
                assert_int_equal(strlen(u), (size_t)n * 34);
                cut++;
                if (n > 1925 && n < 1935)
                        assert_true(strncmp(u, "line 1", 6) == 0);
        }
        assert_int_equal(cut, 3000);
}

/* A 2 MB file: the last lines cost a chunk or so, never the whole file. */
static void test_two_mb_not_loaded(void **state)
{
        size_t size = 2100000; /* 21000 lines of 100 bytes */
        char *data = malloc(size);
        assert_non_null(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (i % 100 == 99) ? '\n' : (char)('a' + i % 26);
        _cleanup_free_ char *p = write_file("twomb", data, size);
        free(data);
        int rc;
        size_t rd = 0;
        _cleanup_free_ char *t = tail(p, 200, 4u << 20, &rd, &rc);
        assert_int_equal(rc, 0);
        assert_int_equal(strlen(t), 200 * 100);
        /* found within the last chunk: read once backwards, once forwards */
        assert_true(rd <= LOGTAIL_CHUNK + 200 * 100);
        assert_true(rd < size / 10);
        /* the byte cap: 1000 lines asked, 50 KB allowed -> only whole lines
         * from inside the window */
        _cleanup_free_ char *c = tail(p, 1000, 50000, &rd, &rc);
        assert_int_equal(rc, 0);
        assert_int_equal(strlen(c), 500 * 100);
        assert_true(rd <= 2 * 50000);
        /* a window starting mid-line drops that partial line */
        _cleanup_free_ char *d = tail(p, 1000, 50050, &rd, &rc);
        assert_int_equal(rc, 0);
        assert_int_equal(strlen(d), 500 * 100);
        assert_true(d[0] == 'a' + (int)((size - 50000) % 26));
        assert_true(rd <= 2 * 50050);
}

static void test_invalid_utf8(void **state)
{
        const char raw[] = "ok \xc3\xa9\n"
                           "bad \xff\xfe end\n"
                           "cut \xe2\x82\n"
                           "nul \0 x\n";
        _cleanup_free_ char *p = write_file("utf8", raw, sizeof(raw) - 1);
        int rc;
        _cleanup_free_ char *t = tail(p, 10, 0, NULL, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(t, "ok \xc3\xa9\n"
                               "bad \xef\xbf\xbd\xef\xbf\xbd end\n"
                               "cut \xef\xbf\xbd\xef\xbf\xbd\n"
                               "nul \xef\xbf\xbd x\n");
        /* overlong and surrogate encodings are not UTF-8 either */
        struct strbuf b = STRBUF_INIT(100);
        assert_int_equal(logtext_append_utf8(&b, "\xc0\xaf\xed\xa0\x80", 5), 0);
        assert_int_equal(b.len, 5 * 3);
        strbuf_free(&b);
}

static void test_output_limit(void **state)
{
        _cleanup_free_ char *p = write_file("lim", "aaaa\nbbbb\n", 10);
        struct strbuf b = STRBUF_INIT(4);
        assert_true(logtail_read(p, 10, 0, &b, NULL) < 0);
        strbuf_free(&b);
}

static int teardown(void **state)
{
        const char *names[] = {"small", "nonl", "crlf",  "cr",   "empty",
                               "nl",    "big",  "twomb", "utf8", "lim"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _cleanup_free_ char *p = path_of(names[i]);
                unlink(p);
        }
        rmdir(dir);
        return 0;
}

int main(void)
{
        if (!mkdtemp(dir))
                return 1;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_small_file),
            cmocka_unit_test(test_no_trailing_newline),
            cmocka_unit_test(test_crlf),
            cmocka_unit_test(test_empty_and_errors),
            cmocka_unit_test(test_bigger_than_chunk),
            cmocka_unit_test(test_two_mb_not_loaded),
            cmocka_unit_test(test_invalid_utf8),
            cmocka_unit_test(test_output_limit),
        };
        return cmocka_run_group_tests(tests, NULL, teardown);
}
