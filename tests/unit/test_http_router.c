#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

static void h_a(struct http_req *r)
{
}
static void h_b(struct http_req *r)
{
}

static const struct route routes[] = {
    {"GET", "/", h_a, ROUTE_USER, 0, NULL},
    {"GET", "/sites", h_a, ROUTE_USER, 0, NULL},
    {"POST", "/sites", h_b, ROUTE_ADMIN, 0, NULL},
    {"GET", "/sites/new", h_b, ROUTE_USER, 0, NULL},
    {"GET", "/sites/{id}", h_a, ROUTE_USER, 0, NULL},
    {"DELETE", "/sites/{id}", h_b, ROUTE_USER, 0, NULL},
    {"GET", "/p/{provider}/dns/{domain}", h_a, ROUTE_USER, 0, NULL},
};

static enum route_match m(const char *method, const char *path, const struct route **out,
                          struct http_param *params, size_t *n, struct strbuf *allow)
{
        return router_match(routes, sizeof(routes) / sizeof(routes[0]), method, path, out, params,
                            n, allow);
}

static void test_static_and_params(void **state)
{
        const struct route *rt = NULL;
        struct http_param p[HTTP_MAX_PARAMS];
        size_t n = 0;
        assert_int_equal(m("GET", "/", &rt, p, &n, NULL), MATCH_FOUND);
        assert_ptr_equal(rt, &routes[0]);
        assert_int_equal(m("GET", "/sites", &rt, p, &n, NULL), MATCH_FOUND);
        assert_ptr_equal(rt, &routes[1]);
        assert_int_equal(n, 0);
        assert_int_equal(m("POST", "/sites", &rt, p, &n, NULL), MATCH_FOUND);
        assert_ptr_equal(rt, &routes[2]);
        /* a literal segment declared first wins over a parameter */
        assert_int_equal(m("GET", "/sites/new", &rt, p, &n, NULL), MATCH_FOUND);
        assert_ptr_equal(rt, &routes[3]);
        assert_int_equal(m("GET", "/sites/42", &rt, p, &n, NULL), MATCH_FOUND);
        assert_ptr_equal(rt, &routes[4]);
        assert_int_equal(n, 1);
        assert_int_equal(p[0].name_len, 2);
        assert_memory_equal(p[0].name, "id", 2);
        assert_string_equal(p[0].value, "42");
        router_params_free(p, n);
        assert_int_equal(m("GET", "/p/hostinger/dns/example.com", &rt, p, &n, NULL), MATCH_FOUND);
        assert_int_equal(n, 2);
        assert_string_equal(p[0].value, "hostinger");
        assert_string_equal(p[1].value, "example.com");
        router_params_free(p, n);
}

static void test_head_is_get(void **state)
{
        const struct route *rt = NULL;
        struct http_param p[HTTP_MAX_PARAMS];
        size_t n = 0;
        assert_int_equal(m("HEAD", "/sites", &rt, p, &n, NULL), MATCH_FOUND);
        assert_ptr_equal(rt, &routes[1]);
}

static void test_not_found(void **state)
{
        const struct route *rt = NULL;
        struct http_param p[HTTP_MAX_PARAMS];
        size_t n = 0;
        const char *paths[] = {"/nope", "/sites/", "/sites/1/2", "//sites",  "/sites//",
                               "",      "/Sites",  "/p/x/dns",   "/p//dns/d"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                assert_int_equal(m("GET", paths[i], &rt, p, &n, NULL), MATCH_NONE);
        assert_int_equal(n, 0);
}

static void test_bad_method_lists_allowed(void **state)
{
        const struct route *rt = NULL;
        struct http_param p[HTTP_MAX_PARAMS];
        size_t n = 0;
        struct strbuf allow = STRBUF_INIT(256);
        assert_int_equal(m("PUT", "/sites", &rt, p, &n, &allow), MATCH_BAD_METHOD);
        assert_string_equal(allow.data, "GET, POST");
        strbuf_reset(&allow);
        assert_int_equal(m("POST", "/sites/7", &rt, p, &n, &allow), MATCH_BAD_METHOD);
        assert_string_equal(allow.data, "GET, DELETE");
        strbuf_free(&allow);
}

static void test_percent_decoding(void **state)
{
        const struct route *rt = NULL;
        struct http_param p[HTTP_MAX_PARAMS];
        size_t n = 0;
        assert_int_equal(m("GET", "/sites/a%2Eb", &rt, p, &n, NULL), MATCH_FOUND);
        assert_string_equal(p[0].value, "a.b");
        router_params_free(p, n);
        /* an encoded slash, NUL or a broken escape never matches a segment */
        assert_int_equal(m("GET", "/sites/a%2Fb", &rt, p, &n, NULL), MATCH_NONE);
        assert_int_equal(m("GET", "/sites/a%00b", &rt, p, &n, NULL), MATCH_NONE);
        assert_int_equal(m("GET", "/sites/a%zz", &rt, p, &n, NULL), MATCH_NONE);
        assert_int_equal(m("GET", "/sites/a%4", &rt, p, &n, NULL), MATCH_NONE);
}

static void test_url_decode_segment(void **state)
{
        char a[] = "x%41%62y";
        assert_true(url_decode_segment(a));
        assert_string_equal(a, "xAby");
        char b[] = "%2f";
        assert_false(url_decode_segment(b));
        char c[] = "%";
        assert_false(url_decode_segment(c));
        char d[] = "plain";
        assert_true(url_decode_segment(d));
        assert_string_equal(d, "plain");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_static_and_params),
            cmocka_unit_test(test_head_is_get),
            cmocka_unit_test(test_not_found),
            cmocka_unit_test(test_bad_method_lists_allowed),
            cmocka_unit_test(test_percent_decoding),
            cmocka_unit_test(test_url_decode_segment),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
