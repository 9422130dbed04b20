#include <stdbool.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/qrsvg.h"

/* The 7x7 finder pattern: dark ring, light ring, dark 3x3 centre. */
static void assert_finder(const unsigned char *m, int w, int x0, int y0)
{
        for (int y = 0; y < 7; y++)
                for (int x = 0; x < 7; x++) {
                        bool ring = x == 0 || y == 0 || x == 6 || y == 6;
                        bool centre = x >= 2 && x <= 4 && y >= 2 && y <= 4;
                        assert_int_equal(m[(y0 + y) * w + x0 + x], ring || centre);
                }
}

static void test_matrix_structure(void **state)
{
        (void)state;
        const char *uri = "otpauth://totp/Setec%20Manager:admin?secret="
                          "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Setec%20Manager";
        int w = 0;
        unsigned char *m = qr_matrix(uri, &w);
        assert_non_null(m);
        assert_true(w >= 21 && (w - 21) % 4 == 0);
        assert_finder(m, w, 0, 0);
        assert_finder(m, w, w - 7, 0);
        assert_finder(m, w, 0, w - 7);
        /* timing pattern between the top finders alternates */
        for (int x = 8; x < w - 8; x++)
                assert_int_equal(m[6 * w + x], x % 2 == 0);
        /* the dark module next to the bottom-left finder */
        assert_int_equal(m[(4 * ((w - 17) / 4) + 9) * w + 8], 1);
        free(m);
}

static void test_svg(void **state)
{
        (void)state;
        /* a 2x2 checker: two runs of one module */
        const unsigned char m[] = {1, 0, 0, 1};
        char *svg = qr_svg_of_matrix(m, 2);
        assert_non_null(svg);
        assert_non_null(strstr(svg, "viewBox=\"0 0 10 10\""));
        assert_non_null(strstr(svg, "d=\"M4 4h1v1h-1zM5 5h1v1h-1z\""));
        assert_true(strncmp(svg, "<svg ", 5) == 0);
        assert_non_null(strstr(svg, "</svg>"));
        free(svg);
        const unsigned char row[] = {1, 1, 1, 0, 0, 0, 0, 0, 0};
        svg = qr_svg_of_matrix(row, 3);
        assert_non_null(strstr(svg, "d=\"M4 4h3v1h-3z\""));
        free(svg);
        svg = qr_svg("otpauth://totp/x?secret=AAAA");
        assert_non_null(svg);
        assert_non_null(strstr(svg, "<path"));
        free(svg);
        errno = 0;
        assert_null(qr_svg(""));
        assert_int_equal(errno, EINVAL);
        assert_null(qr_svg_of_matrix(m, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_matrix_structure),
            cmocka_unit_test(test_svg),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
