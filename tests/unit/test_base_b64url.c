/* base64url without padding: RFC 4648 §10 vectors, the two characters that
 * differ from base64, and refusal of everything but the canonical text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/b64url.h"

static void check(const char *in, size_t n, const char *want)
{
        char *s = b64url_encode(in, n);
        assert_non_null(s);
        assert_string_equal(s, want);
        unsigned char *back = NULL;
        size_t blen = 99;
        assert_int_equal(b64url_decode(s, strlen(s), &back, &blen), 0);
        assert_int_equal(blen, n);
        assert_memory_equal(back, in, n);
        assert_int_equal(back[n], '\0');
        free(back);
        free(s);
}

static void test_round_trip(void **state)
{
        check("", 0, "");
        check("f", 1, "Zg");
        check("fo", 2, "Zm8");
        check("foo", 3, "Zm9v");
        check("foob", 4, "Zm9vYg");
        check("fooba", 5, "Zm9vYmE");
        check("foobar", 6, "Zm9vYmFy");
        check("\xfb\xff", 2, "-_8");      /* the two characters that differ from base64 */
        check("\x00\x00\x00", 3, "AAAA"); /* zeros are data, not terminators */
}

static void test_append(void **state)
{
        struct strbuf b = STRBUF_INIT(0);
        assert_int_equal(strbuf_puts(&b, "x."), 0);
        assert_int_equal(b64url_append(&b, "foob", 4), 0);
        assert_string_equal(b.data, "x.Zm9vYg");
        strbuf_free(&b);
        struct strbuf small = STRBUF_INIT(3);
        assert_int_equal(b64url_append(&small, "foob", 4), -E2BIG);
        strbuf_free(&small);
}

static void test_refused(void **state)
{
        static const char *const bad[] = {
            "Zg==",  /* padding */
            "a+b/",  /* base64, not base64url */
            "abcde", /* a length no encoder makes */
            "Zh",    /* stray low bits: "Zg" is the one text for "f" */
            "Zm 9",  "Zm9.", "Zm\n9",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                unsigned char *out = NULL;
                size_t n = 0;
                assert_int_equal(b64url_decode(bad[i], strlen(bad[i]), &out, &n), -EINVAL);
                assert_null(out);
        }
        /* only the n characters given are read */
        unsigned char *out = NULL;
        size_t n = 0;
        assert_int_equal(b64url_decode("Zm9v.rest", 4, &out, &n), 0);
        assert_int_equal(n, 3);
        assert_memory_equal(out, "foo", 3);
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_append),
            cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
