#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sys/sysinfo.h"

#define PROC_CURRENT FIXTURES "/proc/current"
#define PROC_OLD     FIXTURES "/proc/old-kernel"
#define KB           1024ULL

/* Values of tests/fixtures/proc/current/meminfo (captured from a real host). */
static void test_meminfo_current(void **state)
{
        struct meminfo m;
        assert_int_equal(sysinfo_meminfo(PROC_CURRENT, &m), 0);
        assert_true(m.total == 24684084 * KB);
        assert_true(m.free == 24207288 * KB);
        assert_true(m.available == 24288412 * KB);
        assert_true(m.buffers == 8532 * KB);
        assert_true(m.cached == 258336 * KB);
        assert_true(m.sreclaimable == 63672 * KB);
        assert_true(m.shmem == 8872 * KB);
        assert_true(m.swap_total == 0);
        assert_true(m.swap_free == 0);
        assert_true(m.used == (24684084 - 24288412) * KB);
}

static void test_meminfo_old_kernel(void **state)
{
        struct meminfo m;
        assert_int_equal(sysinfo_meminfo(PROC_OLD, &m), 0);
        assert_true(m.total == 2048000 * KB);
        assert_true(m.free == 512000 * KB);
        assert_true(m.swap_total == 1048576 * KB);
        assert_true(m.swap_free == 786432 * KB);
        assert_true(m.shmem == 16384 * KB);
        /* No MemAvailable: used = total - free - buffers - cached - sreclaimable. */
        assert_true(m.used == (2048000 - 512000 - 102400 - 409600 - 40960) * KB);
        assert_true(m.available == (512000 + 102400 + 409600 + 40960) * KB);
}

static void test_meminfo_errors(void **state)
{
        struct meminfo m;
        assert_int_equal(sysinfo_meminfo(FIXTURES "/proc/does-not-exist", &m), -ENOENT);
        /* Larger than the bounded read buffer: refused, not parsed truncated. */
        assert_int_equal(sysinfo_meminfo(FIXTURES "/proc/oversize", &m), -EFBIG);
}

static void test_uptime_loadavg(void **state)
{
        double up = -1, load[3] = {-1, -1, -1};
        assert_int_equal(sysinfo_uptime(PROC_CURRENT, &up), 0);
        assert_float_equal(up, 237.26, 1e-9);
        assert_int_equal(sysinfo_loadavg(PROC_CURRENT, load), 0);
        assert_float_equal(load[0], 0.26, 1e-9);
        assert_float_equal(load[1], 0.20, 1e-9);
        assert_float_equal(load[2], 0.10, 1e-9);

        assert_int_equal(sysinfo_uptime(PROC_OLD, &up), 0);
        assert_float_equal(up, 1309325.17, 1e-6);
        assert_int_equal(sysinfo_loadavg(PROC_OLD, load), 0);
        assert_float_equal(load[0], 12.5, 1e-9);
        assert_float_equal(load[1], 3.05, 1e-9);
        assert_float_equal(load[2], 0.0, 1e-9);

        char buf[64];
        sysinfo_format_uptime(up, buf, sizeof(buf));
        assert_string_equal(buf, "up 15d 3h 42m");

        assert_int_equal(sysinfo_uptime(FIXTURES "/proc/does-not-exist", &up), -ENOENT);
        assert_int_equal(sysinfo_loadavg(FIXTURES "/proc/does-not-exist", load), -ENOENT);
        /* The oversize tree has no uptime or loadavg at all. */
        assert_int_equal(sysinfo_uptime(FIXTURES "/proc/oversize", &up), -ENOENT);
}

static void test_real_proc(void **state)
{
        struct meminfo m;
        double up, load[3];
        assert_int_equal(sysinfo_meminfo("/proc", &m), 0);
        assert_true(m.total > 0);
        assert_true(m.used <= m.total);
        assert_int_equal(sysinfo_uptime("/proc", &up), 0);
        assert_true(up > 0);
        assert_int_equal(sysinfo_loadavg("/proc", load), 0);
        assert_true(sysinfo_cpus() >= 1);
}

static void test_format_uptime(void **state)
{
        static const struct {
                double s;
                const char *want;
        } cases[] = {
            {0, "up 0m"},
            {59, "up 0m"},
            {59.99, "up 0m"},
            {60, "up 1m"},
            {61, "up 1m"},
            {3600, "up 1h"},
            {3661, "up 1h 1m"},
            {86400, "up 1d"},
            {86400 + 60, "up 1d 1m"},
            {15 * 86400 + 3 * 3600 + 42 * 60, "up 15d 3h 42m"},
            {15 * 86400 + 3 * 3600 + 42 * 60 + 59.9, "up 15d 3h 42m"},
            {-5, "up 0m"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];
                sysinfo_format_uptime(cases[i].s, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        /* A short buffer truncates but stays terminated. */
        char small[6];
        sysinfo_format_uptime(15 * 86400 + 3 * 3600, small, sizeof(small));
        assert_string_equal(small, "up 15");
}

static void test_format_bytes(void **state)
{
        static const struct {
                uint64_t b;
                const char *want;
        } cases[] = {
            {0, "0 B"},
            {1, "1 B"},
            {1023, "1023 B"},
            {1024, "1.0 KB"},
            {1536, "1.5 KB"},
            {10 * 1024 - 1, "10 KB"}, /* 9.999 rounds to 10: no "10.0" */
            {10 * 1024, "10 KB"},
            {512 * 1024, "512 KB"},
            {1024 * 1024 - 1, "1.0 MB"}, /* 1023.999 KB would print "1024 KB" */
            {1024 * 1024, "1.0 MB"},
            {256ULL << 20, "256 MB"},
            {2ULL << 30, "2.0 GB"},
            {8375186227ULL, "7.8 GB"},
            {78ULL << 30, "78 GB"},
            {(78ULL << 30) + (400ULL << 20), "78 GB"},
            {1ULL << 40, "1.0 TB"},
            {1ULL << 50, "1024 TB"},
            {UINT64_MAX, "16777216 TB"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[64];
                sysinfo_format_bytes(cases[i].b, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
}

static void test_disk_root(void **state)
{
        struct diskusage d;
        assert_int_equal(sysinfo_disk("/", &d), 0);
        assert_true(d.total > 0);
        assert_true(d.used <= d.total);
        assert_true(d.avail <= d.total);
        assert_true(d.percent >= 0.0 && d.percent <= 100.0);
        /* One decimal: percent*10 is a whole number. */
        double tenths = d.percent * 10.0;
        assert_float_equal(tenths, (double)(long long)(tenths + 0.5), 1e-6);
        assert_int_equal(sysinfo_disk("/nonexistent/mount/point", &d), -ENOENT);
}

static void test_arch_hostname(void **state)
{
        const char *arch = sysinfo_arch();
        assert_non_null(arch);
        assert_true(strlen(arch) > 0);
        assert_string_not_equal(arch, "x86_64");
        assert_string_not_equal(arch, "aarch64");
#if defined(__x86_64__)
        assert_string_equal(arch, "amd64");
#elif defined(__aarch64__)
        assert_string_equal(arch, "arm64");
#endif
        char host[256];
        memset(host, 'x', sizeof(host));
        sysinfo_hostname(host, sizeof(host));
        assert_true(strlen(host) > 0 && strlen(host) < sizeof(host));
        char tiny[3];
        sysinfo_hostname(tiny, sizeof(tiny));
        assert_true(strlen(tiny) <= 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_meminfo_current), cmocka_unit_test(test_meminfo_old_kernel),
            cmocka_unit_test(test_meminfo_errors),  cmocka_unit_test(test_uptime_loadavg),
            cmocka_unit_test(test_real_proc),       cmocka_unit_test(test_format_uptime),
            cmocka_unit_test(test_format_bytes),    cmocka_unit_test(test_disk_root),
            cmocka_unit_test(test_arch_hostname),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
