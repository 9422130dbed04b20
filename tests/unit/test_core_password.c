#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/password.h"

/* Generated with Python's crypt.crypt('autarch', crypt.mksalt(crypt.METHOD_BLOWFISH)). */
static const char BCRYPT_2B[] = "$2b$12$7KDRly5reR97CXhOBEyDbuX5gFbueBx.0f7ycM8zEPbCXcRuZ2BmG";

static void test_hash_and_verify(void **state)
{
        char *h = password_hash("correct horse battery staple");
        assert_non_null(h);
        assert_true(strncmp(h, "$y$", 3) == 0);
        assert_true(password_verify("correct horse battery staple", h));
        assert_false(password_verify("correct horse battery stapl", h));
        assert_false(password_verify("correct horse battery staple ", h));
        assert_false(password_verify("", h));
        assert_false(password_verify(NULL, h));
        assert_false(password_needs_rehash(h));

        /* Fresh salt every time. */
        char *h2 = password_hash("correct horse battery staple");
        assert_non_null(h2);
        assert_string_not_equal(h, h2);
        assert_true(password_verify("correct horse battery staple", h2));
        free(h);
        free(h2);
}

static void test_bcrypt_compat(void **state)
{
        assert_true(password_verify("autarch", BCRYPT_2B));
        assert_false(password_verify("Autarch", BCRYPT_2B));
        assert_true(password_needs_rehash(BCRYPT_2B));

        /* $2a$ and $2y$ (PHP's spelling) are the same algorithm for ASCII
         * passwords; libxcrypt accepts both and echoes the prefix back. */
        char variant[sizeof(BCRYPT_2B)];
        memcpy(variant, BCRYPT_2B, sizeof(BCRYPT_2B));
        variant[2] = 'y';
        assert_true(password_verify("autarch", variant));
        assert_false(password_verify("autarch!", variant));
        assert_true(password_needs_rehash(variant));
        variant[2] = 'a';
        assert_true(password_verify("autarch", variant));
}

static void test_bad_hashes(void **state)
{
        assert_false(password_verify("autarch", NULL));
        assert_false(password_verify("autarch", ""));
        assert_false(password_verify("autarch", "*"));
        assert_false(password_verify("autarch", "!"));
        assert_false(password_verify(
            "autarch", "!$2b$12$7KDRly5reR97CXhOBEyDbuX5gFbueBx.0f7ycM8zEPbCXcRuZ2BmG"));
        assert_false(password_verify("autarch", "*0"));
        assert_false(password_verify("autarch", "$9$garbage"));
        assert_false(password_verify("autarch", "not a hash"));
        /* Truncated / extended hashes must not match. */
        char trunc[sizeof(BCRYPT_2B)];
        memcpy(trunc, BCRYPT_2B, sizeof(BCRYPT_2B));
        trunc[sizeof(BCRYPT_2B) - 2] = '\0';
        assert_false(password_verify("autarch", trunc));
        char longer[sizeof(BCRYPT_2B) + 1];
        memcpy(longer, BCRYPT_2B, sizeof(BCRYPT_2B) - 1);
        longer[sizeof(BCRYPT_2B) - 1] = 'x';
        longer[sizeof(BCRYPT_2B)] = '\0';
        assert_false(password_verify("autarch", longer));
        /* Wrong last character. */
        char flipped[sizeof(BCRYPT_2B)];
        memcpy(flipped, BCRYPT_2B, sizeof(BCRYPT_2B));
        flipped[sizeof(BCRYPT_2B) - 2] = flipped[sizeof(BCRYPT_2B) - 2] == 'G' ? 'H' : 'G';
        assert_false(password_verify("autarch", flipped));
}

static void test_needs_rehash(void **state)
{
        assert_true(password_needs_rehash(NULL));
        assert_true(password_needs_rehash(""));
        assert_true(password_needs_rehash("$6$salt$abc"));
        assert_true(password_needs_rehash("$2a$10$abc"));
        assert_false(password_needs_rehash("$y$j9T$abc$def"));
}

static void test_length_limit(void **state)
{
        /* The contract allows 1024 bytes; past 255 the password is pre-hashed,
         * so long passwords that differ only at the end must still differ. */
        char *pw = malloc(1026);
        assert_non_null(pw);
        memset(pw, 'a', 1024);
        pw[1024] = '\0';
        char *h = password_hash(pw);
        assert_non_null(h);
        assert_true(password_verify(pw, h));
        pw[1023] = 'b';
        assert_false(password_verify(pw, h));
        pw[1023] = 'a';
        pw[600] = '\0';
        assert_false(password_verify(pw, h));
        char *h2 = password_hash(pw); /* 600 bytes */
        assert_non_null(h2);
        assert_true(password_verify(pw, h2));
        free(h2);

        memset(pw, 'a', 1025);
        pw[1025] = '\0';
        errno = 0;
        assert_null(password_hash(pw));
        assert_int_equal(errno, EINVAL);
        assert_false(password_verify(pw, h));
        free(h);
        free(pw);

        errno = 0;
        assert_null(password_hash(""));
        assert_int_equal(errno, EINVAL);
        assert_null(password_hash(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hash_and_verify), cmocka_unit_test(test_bcrypt_compat),
            cmocka_unit_test(test_bad_hashes),      cmocka_unit_test(test_needs_rehash),
            cmocka_unit_test(test_length_limit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
