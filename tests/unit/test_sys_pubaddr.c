/* pubaddr: configured addresses win, the route source is a literal address
 * of the right family, resolving a literal and localhost. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "sys/pubaddr.h"

static void test_configured(void **state)
{
        (void)state;
        struct config cfg = {0};
        cfg.server.public_ipv4 = "203.0.113.7";
        cfg.server.public_ipv6 = "2001:db8::7";
        char v4[PUBADDR_LEN], v6[PUBADDR_LEN];
        pubaddr_get(&cfg, v4, v6);
        assert_string_equal(v4, "203.0.113.7");
        assert_string_equal(v6, "2001:db8::7");
}

static void test_route_source(void **state)
{
        (void)state;
        char out[PUBADDR_LEN];
        assert_int_equal(pubaddr_route_source("127.0.0.1", out, sizeof(out)), 0);
        assert_string_equal(out, "127.0.0.1");
        assert_int_equal(pubaddr_route_source("not-an-address", out, sizeof(out)), -EINVAL);
        /* detected addresses are global addresses of their family, or none */
        char v4[PUBADDR_LEN], v6[PUBADDR_LEN];
        struct config cfg = {0};
        cfg.server.public_ipv4 = "";
        cfg.server.public_ipv6 = "";
        pubaddr_get(&cfg, v4, v6);
        struct in_addr a4;
        struct in6_addr a6;
        assert_true(!v4[0] || (inet_pton(AF_INET, v4, &a4) == 1 && pubaddr_is_global(v4)));
        assert_true(!v6[0] || (inet_pton(AF_INET6, v6, &a6) == 1 && pubaddr_is_global(v6)));
}

static void test_is_global(void **state)
{
        (void)state;
        static const char *const yes[] = {"8.8.8.8", "1.1.1.1", "93.184.216.34",
                                          "2a00:1450:4001:82b::200e", "2606:4700::1111"};
        static const char *const no[] = {
            "10.1.2.3",    "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1",
            "169.254.1.1", "100.64.0.1", "0.0.0.0",        "224.0.0.1",   "192.0.2.5",
            "::1",         "::",         "fe80::1",        "fd00::1",     "fc12::1",
            "2001:db8::1", "ff02::1",    "::ffff:8.8.8.8", "junk",        ""};
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                if (!pubaddr_is_global(yes[i]))
                        fail_msg("%s should be global", yes[i]);
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                if (pubaddr_is_global(no[i]))
                        fail_msg("%s should not be global", no[i]);
        assert_true(pubaddr_is_global("172.32.0.1"));
        assert_true(pubaddr_is_global("11.0.0.1"));
}

static void test_resolve(void **state)
{
        (void)state;
        char arr[4][PUBADDR_LEN];
        size_t n = 9;
        assert_int_equal(pubaddr_resolve("192.0.2.44", arr, 4, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(arr[0], "192.0.2.44");
        /* -EAGAIN when this machine has no resolver to ask */
        int rc = pubaddr_resolve("no-such-host.invalid", arr, 4, &n);
        assert_true(rc == -ENOENT || rc == -EAGAIN);
        assert_int_equal(n, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_configured),
            cmocka_unit_test(test_route_source),
            cmocka_unit_test(test_is_global),
            cmocka_unit_test(test_resolve),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
