/* /proc/stat, mountinfo and df-style formatting (sys/sysinfo additions of
 * the monitor), on captured fixtures under tests/fixtures/monitor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/sysinfo.h"

#define MON FIXTURES "/monitor"
#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define TiB (1024ULL * GiB)

static void test_procstat_sample(void **state)
{
        struct cpu_snapshot s;
        assert_int_equal(sysinfo_procstat(MON "/sample-a", &s), 0);
        assert_true(s.all.user == 39105 && s.all.nice == 248 && s.all.system == 14619);
        assert_true(s.all.idle == 230475 && s.all.iowait == 762 && s.all.softirq == 1150);
        assert_true(s.all.steal == 30 && s.all.guest == 0);
        assert_int_equal(s.ncores, 2);
        assert_int_equal(s.cores[0].core, 0);
        assert_int_equal(s.cores[1].core, 1);
        assert_true(s.cores[1].t.user == 21242 && s.cores[1].t.idle == 112481);
        cpu_snapshot_free(&s);
        assert_null(s.cores);
}

static void test_procstat_variants(void **state)
{
        struct cpu_snapshot s;
        /* Four fields only: the rest read as zero. */
        assert_int_equal(sysinfo_procstat(MON "/old-kernel", &s), 0);
        assert_true(s.all.user == 1000 && s.all.system == 500 && s.all.idle == 8500);
        assert_true(s.all.iowait == 0 && s.all.steal == 0);
        assert_int_equal(s.ncores, 1);
        cpu_snapshot_free(&s);

        /* Offline CPUs leave gaps: the core numbers are kept. */
        assert_int_equal(sysinfo_procstat(MON "/offline-core", &s), 0);
        assert_int_equal(s.ncores, 2);
        assert_int_equal(s.cores[0].core, 0);
        assert_int_equal(s.cores[1].core, 3);
        cpu_snapshot_free(&s);

        assert_int_equal(sysinfo_procstat(MON "/no-aggregate", &s), -EBADMSG);
        assert_int_equal(sysinfo_procstat(MON "/does-not-exist", &s), -ENOENT);
}

static void test_cpu_usage(void **state)
{
        struct cpu_snapshot a, b;
        assert_int_equal(sysinfo_procstat(MON "/sample-a", &a), 0);
        assert_int_equal(sysinfo_procstat(MON "/sample-b", &b), 0);

        /* Aggregate: 1000 jiffies; guest (+5) is inside user and not counted twice. */
        struct cpu_usage u;
        sysinfo_cpu_usage(&a.all, &b.all, &u);
        assert_float_equal(u.user, 12.3, 1e-9);
        assert_float_equal(u.system, 5.0, 1e-9);
        assert_float_equal(u.idle, 80.0, 1e-9);
        assert_float_equal(u.iowait, 2.0, 1e-9);
        assert_float_equal(u.percent, 20.0, 1e-9);

        /* cpu0: 480 jiffies, cpu1: 520 jiffies */
        sysinfo_cpu_usage(&a.cores[0].t, &b.cores[0].t, &u);
        assert_float_equal(u.user, 50.0 * 100 / 480, 1e-9);
        assert_float_equal(u.system, 30.0 * 100 / 480, 1e-9);
        assert_float_equal(u.idle, 400.0 * 100 / 480, 1e-9);
        assert_float_equal(u.percent, 100.0 - 400.0 * 100 / 480, 1e-9);
        sysinfo_cpu_usage(&a.cores[1].t, &b.cores[1].t, &u);
        assert_float_equal(u.user, 73.0 * 100 / 520, 1e-9);
        assert_float_equal(u.iowait, 20.0 * 100 / 520, 1e-9);

        /* No elapsed time, or counters going backwards: zeros, never negative. */
        sysinfo_cpu_usage(&a.all, &a.all, &u);
        assert_float_equal(u.percent, 0.0, 0);
        assert_float_equal(u.idle, 0.0, 0);
        sysinfo_cpu_usage(&b.all, &a.all, &u);
        assert_float_equal(u.percent, 0.0, 0);
        assert_float_equal(u.user, 0.0, 0);

        /* iowait may go back (the kernel says so): that field counts as 0,
         * the rest of the window still counts. */
        struct cpu_times x = {.user = 100, .idle = 100, .iowait = 50};
        struct cpu_times y = {.user = 150, .idle = 250, .iowait = 40};
        sysinfo_cpu_usage(&x, &y, &u);
        assert_float_equal(u.user, 25.0, 1e-9);
        assert_float_equal(u.idle, 75.0, 1e-9);
        assert_float_equal(u.iowait, 0.0, 0);
        assert_float_equal(u.percent, 25.0, 1e-9);
        cpu_snapshot_free(&a);
        cpu_snapshot_free(&b);
}

static void test_unescape_octal(void **state)
{
        char s1[] = "/mnt/backup\\040disk";
        sysinfo_unescape_octal(s1);
        assert_string_equal(s1, "/mnt/backup disk");
        char s2[] = "a\\134b\\011c\\012d";
        sysinfo_unescape_octal(s2);
        assert_string_equal(s2, "a\\b\tc\nd");
        /* Not an escape (non-octal digit, too short, or NUL) stays as written. */
        char s3[] = "x\\09y\\04\\000";
        sysinfo_unescape_octal(s3);
        assert_string_equal(s3, "x\\09y\\04\\000");
}

static void test_fs_filter(void **state)
{
        assert_true(sysinfo_fs_is_real("ext4", "/dev/vda1", "/"));
        assert_true(sysinfo_fs_is_real("vfat", "/dev/vda2", "/boot/efi"));
        assert_true(sysinfo_fs_is_real("nfs4", "host:/export", "/mnt/nfs"));
        assert_true(sysinfo_fs_is_real("cifs", "//host/share", "/mnt/smb"));
        assert_true(sysinfo_fs_is_real("zfs", "tank/data", "/tank/data"));
        assert_true(sysinfo_fs_is_real("overlay", "overlay", "/"));
        assert_false(sysinfo_fs_is_real("overlay", "overlay", "/var/lib/docker/x/merged"));
        assert_false(sysinfo_fs_is_real("tmpfs", "tmpfs", "/run"));
        assert_false(sysinfo_fs_is_real("devtmpfs", "devtmpfs", "/dev"));
        assert_false(sysinfo_fs_is_real("proc", "proc", "/proc"));
        assert_false(sysinfo_fs_is_real("sysfs", "sysfs", "/sys"));
        assert_false(sysinfo_fs_is_real("cgroup2", "cgroup2", "/sys/fs/cgroup"));
        assert_false(sysinfo_fs_is_real("squashfs", "/dev/loop0", "/snap/core/1"));
        assert_false(sysinfo_fs_is_real("autofs", "systemd-1", "/proc/sys/fs/binfmt_misc"));
        /* An unknown type without a device behind it is not a disk. */
        assert_false(sysinfo_fs_is_real("fuse.foo", "foo", "/mnt/foo"));
        assert_false(sysinfo_fs_is_real("", "/dev/vda1", "/"));
}

static void test_mounts_fixture(void **state)
{
        struct mount_entry *e = NULL;
        size_t n = 0;
        assert_int_equal(sysinfo_mounts(MON "/mountinfo", &e, &n), 0);
        static const char *const want[][3] = {
            {"/dev/vda1", "/", "ext4"},
            {"/dev/vdb1", "/mnt/backup disk", "xfs"},
            {"fileserver:/export/home", "/mnt/nfs", "nfs4"},
            {"tank/data", "/tank/data", "zfs"},
            {"/dev/vda2", "/boot/efi", "vfat"},
            {"/dev/vda3", "/mnt/tab\tname", "ext4"},
        };
        assert_int_equal(n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(e[i].source, want[i][0]);
                assert_string_equal(e[i].mount_point, want[i][1]);
                assert_string_equal(e[i].fstype, want[i][2]);
        }
        assert_int_equal(e[0].major, 254);
        assert_int_equal(e[0].minor, 1);
        mount_entries_free(e, n);

        /* In a container: the overlay root is listed, its /proc is not. */
        assert_int_equal(sysinfo_mounts(MON "/mountinfo-overlay-root", &e, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(e[0].mount_point, "/");
        assert_string_equal(e[0].fstype, "overlay");
        assert_string_equal(e[1].mount_point, "/data");
        mount_entries_free(e, n);

        assert_int_equal(sysinfo_mounts(MON "/nope", &e, &n), -ENOENT);
}

static void test_mounts_bind_keeps_shortest(void **state)
{
        char path[] = "/tmp/setec-mountinfo-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        const char text[] = "42 27 254:1 /srv/www /var/www rw - ext4 /dev/vda1 rw\n"
                            "27 1 254:1 / / rw - ext4 /dev/vda1 rw\n";
        assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
        close(fd);
        struct mount_entry *e = NULL;
        size_t n = 0;
        assert_int_equal(sysinfo_mounts(path, &e, &n), 0);
        unlink(path);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].mount_point, "/");
        mount_entries_free(e, n);
}

static void df(uint64_t bytes, const char *want)
{
        char buf[16];
        sysinfo_format_df_size(bytes, buf, sizeof(buf));
        assert_string_equal(buf, want);
}

static void test_df_size(void **state)
{
        df(0, "0");
        df(512, "512");
        df(1023, "1023");
        df(1024, "1.0K");
        df(4096, "4.0K");
        df(1025, "1.1K"); /* rounded up, like df */
        df(10 * KiB - 1, "10K");
        df(10 * KiB, "10K");
        df(10 * KiB + 1, "11K");
        df(1023 * KiB, "1023K");
        df(1023 * KiB + 1, "1.0M"); /* 1023.001K rounds up to 1024K = 1.0M */
        df(7 * GiB + 800 * MiB, "7.8G");
        df(78 * GiB, "78G");
        df(270553174016ULL, "252G"); /* df -h of this machine's / */
        df(17747140608ULL, "17G");
        df(84998139904ULL, "80G");
        df(TiB, "1.0T");
        df(UINT64_MAX, "16E");
}

static void test_df_percent(void **state)
{
        char buf[8];
        sysinfo_format_df_percent(17747140608ULL, 84998139904ULL, buf, sizeof(buf));
        assert_string_equal(buf, "18%");
        sysinfo_format_df_percent(30, 70, buf, sizeof(buf));
        assert_string_equal(buf, "30%");
        sysinfo_format_df_percent(301, 699, buf, sizeof(buf));
        assert_string_equal(buf, "31%"); /* 30.1 rounds up */
        sysinfo_format_df_percent(0, 100, buf, sizeof(buf));
        assert_string_equal(buf, "0%");
        sysinfo_format_df_percent(100, 0, buf, sizeof(buf));
        assert_string_equal(buf, "100%");
        sysinfo_format_df_percent(0, 0, buf, sizeof(buf));
        assert_string_equal(buf, "-");
}

static void b1(uint64_t bytes, const char *want)
{
        char buf[32];
        sysinfo_format_bytes1(bytes, buf, sizeof(buf));
        assert_string_equal(buf, want);
}

static void test_bytes1(void **state)
{
        b1(0, "0 B");
        b1(1023, "1023 B");
        b1(1024, "1.0 KB");
        b1(12 * MiB + MiB / 2, "12.5 MB");
        b1(85 * MiB + 3 * MiB / 10, "85.3 MB");
        b1(1024 * MiB - 1, "1.0 GB");
        b1(2 * GiB, "2.0 GB");
        b1(3 * TiB, "3.0 TB");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_procstat_sample),
            cmocka_unit_test(test_procstat_variants),
            cmocka_unit_test(test_cpu_usage),
            cmocka_unit_test(test_unescape_octal),
            cmocka_unit_test(test_fs_filter),
            cmocka_unit_test(test_mounts_fixture),
            cmocka_unit_test(test_mounts_bind_keeps_shortest),
            cmocka_unit_test(test_df_size),
            cmocka_unit_test(test_df_percent),
            cmocka_unit_test(test_bytes1),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
