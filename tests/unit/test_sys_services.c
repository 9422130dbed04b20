#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/services.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every state unknown; only the panel's own unit runs (this process, which
 * is not in its cgroup, answers). */
static void assert_all_unknown(const char *const *units, const struct unit_state *st, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(st[i].active, "unknown");
                assert_string_equal(st[i].sub, "");
                assert_true(st[i].memory == UINT64_MAX);
                assert_int_equal(st[i].running, strcmp(units[i], PANEL_UNIT) == 0);
        }
}

static void test_unreachable_bus(void **state)
{
        static const char *const units[] = {"nginx",         "autarch-web", "autarch-dns.service",
                                            "setec-manager", "ufw",         "dbus.socket"};
        const size_t n = sizeof(units) / sizeof(units[0]);
        struct unit_state st[sizeof(units) / sizeof(units[0])];

        assert_int_equal(setenv("SETEC_SYSTEM_BUS", "unix:path=/nonexistent/bus", 1), 0);
        /* Poison the output so the test sees that every entry was written. */
        memset(st, 'x', sizeof(st));
        st[0].running = true;

        double t0 = now_s();
        int r = services_query(units, n, st);
        double elapsed = now_s() - t0;

        assert_true(r < 0);
        assert_int_equal(r, -ENOENT);
        assert_true(elapsed < 2.0);
        assert_all_unknown(units, st, n);

        /* Repeated calls stay fast and keep failing the same way (no stale cache). */
        t0 = now_s();
        for (int i = 0; i < 20; i++) {
                memset(st, 'x', sizeof(st));
                assert_true(services_query(units, n, st) < 0);
                assert_all_unknown(units, st, n);
        }
        assert_true(now_s() - t0 < 2.0);
}

static void test_malformed_address(void **state)
{
        static const char *const units[] = {"nginx"};
        struct unit_state st[1];
        assert_int_equal(setenv("SETEC_SYSTEM_BUS", "not-a-bus-address", 1), 0);
        memset(st, 'x', sizeof(st));
        double t0 = now_s();
        assert_true(services_query(units, 1, st) < 0);
        assert_true(now_s() - t0 < 2.0);
        assert_all_unknown(units, st, 1);
}

/* A peer that accepts connections (kernel backlog) but never speaks: the
 * query must give up within its budget instead of hanging. */
static void test_silent_peer(void **state)
{
        char dir[] = "/tmp/setec-svc-XXXXXX";
        assert_non_null(mkdtemp(dir));
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/bus", dir);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 16), 0);

        char addr[sizeof(sa.sun_path) + 16];
        snprintf(addr, sizeof(addr), "unix:path=%s", sa.sun_path);
        assert_int_equal(setenv("SETEC_SYSTEM_BUS", addr, 1), 0);

        static const char *const units[] = {"nginx", "ufw", "setec-manager"};
        struct unit_state st[3];
        for (int round = 0; round < 2; round++) {
                memset(st, 'x', sizeof(st));
                double t0 = now_s();
                int r = services_query(units, 3, st);
                double elapsed = now_s() - t0;
                assert_true(r < 0);
                assert_true(elapsed < 1.5);
                assert_all_unknown(units, st, 3);
        }

        close(fd);
        unlink(sa.sun_path);
        rmdir(dir);
}

static void test_default_bus(void **state)
{
        /* Without the override the default system bus is used; on a machine
         * without one every state is "unknown", with one they are real. */
        assert_int_equal(unsetenv("SETEC_SYSTEM_BUS"), 0);
        static const char *const units[] = {"setec-test-no-such-unit-xyz"};
        struct unit_state st[1];
        memset(st, 'x', sizeof(st));
        double t0 = now_s();
        int r = services_query(units, 1, st);
        assert_true(now_s() - t0 < 2.0);
        if (r < 0) {
                assert_all_unknown(units, st, 1);
        } else {
                assert_string_equal(st[0].active, "inactive");
                assert_false(st[0].running);
        }
}

static void test_zero_units(void **state)
{
        assert_int_equal(setenv("SETEC_SYSTEM_BUS", "unix:path=/nonexistent/bus", 1), 0);
        assert_int_equal(services_query(NULL, 0, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_unreachable_bus), cmocka_unit_test(test_malformed_address),
            cmocka_unit_test(test_silent_peer),     cmocka_unit_test(test_default_bus),
            cmocka_unit_test(test_zero_units),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
