/* The monitor's sampler: CPU report from two /proc/stat samples, the history
 * ring (order, wrap, time filter) and the thread's start/stop and signal mask. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/monitor.h"

#define MON FIXTURES "/monitor"

/* A throw-away proc root whose stat file the test swaps between samples. */
struct fake_proc {
        char dir[64];
};

static void copy_file(const char *from, const char *dir, const char *name)
{
        char to[256];
        snprintf(to, sizeof(to), "%s/%s", dir, name);
        FILE *in = fopen(from, "re");
        assert_non_null(in);
        FILE *out = fopen(to, "we");
        assert_non_null(out);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
                assert_int_equal(fwrite(buf, 1, n, out), n);
        fclose(in);
        assert_int_equal(fclose(out), 0);
}

static void use_sample(struct fake_proc *p, const char *sample)
{
        char from[256];
        snprintf(from, sizeof(from), "%s/%s/stat", MON, sample);
        copy_file(from, p->dir, "stat");
}

static int setup(void **state)
{
        struct fake_proc *p = calloc(1, sizeof(*p));
        snprintf(p->dir, sizeof(p->dir), "/tmp/setec-monitor-XXXXXX");
        if (!mkdtemp(p->dir))
                return -1;
        copy_file(MON "/sample-a/meminfo", p->dir, "meminfo");
        copy_file(MON "/sample-a/loadavg", p->dir, "loadavg");
        use_sample(p, "sample-a");
        *state = p;
        return 0;
}

static int teardown(void **state)
{
        struct fake_proc *p = *state;
        const char *names[] = {"stat", "meminfo", "loadavg"};
        for (size_t i = 0; i < 3; i++) {
                char f[256];
                snprintf(f, sizeof(f), "%s/%s", p->dir, names[i]);
                unlink(f);
        }
        rmdir(p->dir);
        free(p);
        return 0;
}

static struct monitor *make(struct fake_proc *p, unsigned tick_ms, unsigned hist_ticks, size_t cap)
{
        struct monitor_opts o = {p->dir, p->dir, tick_ms, hist_ticks, cap};
        struct monitor *m = NULL;
        assert_int_equal(monitor_new(&o, &m), 0);
        return m;
}

static void test_cpu_before_and_after_second_sample(void **state)
{
        struct fake_proc *p = *state;
        struct monitor *m = make(p, 1000, 10, 16);

        /* One sample only: the cores are known, every figure is zero, no waiting. */
        struct cpu_report rep;
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_false(rep.ready);
        assert_int_equal(rep.ncores, 2);
        assert_int_equal(rep.cores[1].core, 1);
        assert_float_equal(rep.all.percent, 0, 0);
        assert_float_equal(rep.cores[0].u.user, 0, 0);
        cpu_report_free(&rep);

        use_sample(p, "sample-b");
        monitor_tick(m, 1000);
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_true(rep.ready);
        assert_float_equal(rep.all.user, 12.3, 1e-9);
        assert_float_equal(rep.all.system, 5.0, 1e-9);
        assert_float_equal(rep.all.idle, 80.0, 1e-9);
        assert_float_equal(rep.all.percent, 20.0, 1e-9);
        assert_int_equal(rep.ncores, 2);
        assert_float_equal(rep.cores[0].u.idle, 400.0 * 100 / 480, 1e-9);
        assert_float_equal(rep.cores[1].u.user, 73.0 * 100 / 520, 1e-9);
        cpu_report_free(&rep);

        /* The same counters again: an empty window reads as zeros. */
        monitor_tick(m, 1001);
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_float_equal(rep.all.percent, 0, 0);
        cpu_report_free(&rep);

        /* Counters going backwards never give negative or huge figures. */
        use_sample(p, "wrapped");
        monitor_tick(m, 1002);
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_float_equal(rep.all.percent, 0, 0);
        assert_float_equal(rep.all.idle, 0, 0);
        cpu_report_free(&rep);
        monitor_free(m);
}

static void test_offline_core_gets_zeros(void **state)
{
        struct fake_proc *p = *state;
        struct monitor *m = make(p, 1000, 10, 16);
        use_sample(p, "offline-core");
        monitor_tick(m, 1);
        struct cpu_report rep;
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_int_equal(rep.ncores, 2);
        assert_int_equal(rep.cores[0].core, 0);
        assert_int_equal(rep.cores[1].core, 3);
        assert_float_equal(rep.cores[1].u.percent, 0, 0);
        cpu_report_free(&rep);
        monitor_free(m);
}

static void test_history_from_ticks(void **state)
{
        struct fake_proc *p = *state;
        struct monitor *m = make(p, 1000, 3, 16);
        assert_int_equal(monitor_history_interval_s(m), 3);

        struct history_sample *s;
        size_t n;
        assert_int_equal(monitor_history(m, 0, &s, &n), 0);
        assert_int_equal(n, 0);
        assert_null(s);

        /* The first tick records a point at once (CPU over the first window). */
        use_sample(p, "sample-b");
        monitor_tick(m, 5000);
        assert_int_equal(monitor_history(m, 0, &s, &n), 0);
        assert_int_equal(n, 1);
        assert_true(s[0].t == 5000);
        assert_float_equal(s[0].cpu, 20.0, 1e-4);
        /* meminfo fixture: (24684084 - 24288412) / 24684084 */
        assert_float_equal(s[0].mem, 100.0 * (24684084 - 24288412) / 24684084.0, 1e-3);
        assert_float_equal(s[0].load, 0.26, 1e-6);
        assert_true(s[0].disk >= 0 && s[0].disk <= 100);
        free(s);

        /* Then one every history_ticks ticks. */
        monitor_tick(m, 5001);
        monitor_tick(m, 5002);
        assert_int_equal(monitor_history(m, 0, &s, &n), 0);
        assert_int_equal(n, 1);
        free(s);
        monitor_tick(m, 5003);
        assert_int_equal(monitor_history(m, 0, &s, &n), 0);
        assert_int_equal(n, 2);
        assert_true(s[1].t == 5003);
        assert_float_equal(s[1].cpu, 0.0, 0); /* counters unchanged over the window */
        free(s);
        monitor_free(m);
}

static void test_ring_wraps_and_filters(void **state)
{
        struct fake_proc *p = *state;
        struct monitor *m = make(p, 1000, 10, 4);
        for (int i = 1; i <= 10; i++) {
                struct history_sample h = {.t = i * 10, .cpu = (float)i, .load = (float)i / 10};
                monitor_push(m, &h);
        }
        struct history_sample *s;
        size_t n;
        /* Fixed memory: only the newest 4 are kept, oldest first. */
        assert_int_equal(monitor_history(m, 0, &s, &n), 0);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_true(s[i].t == (time_t)(70 + 10 * i));
                assert_float_equal(s[i].cpu, 7.0 + (double)i, 0);
        }
        free(s);
        assert_int_equal(monitor_history(m, 90, &s, &n), 0);
        assert_int_equal(n, 2);
        assert_true(s[0].t == 90 && s[1].t == 100);
        free(s);
        assert_int_equal(monitor_history(m, 101, &s, &n), 0);
        assert_int_equal(n, 0);
        assert_null(s);
        monitor_free(m);
}

static void test_downsample(void **state)
{
        struct history_sample s[10];
        for (int i = 0; i < 10; i++)
                s[i] = (struct history_sample){.t = 100 + i, .cpu = (float)i, .load = 1};
        size_t per = 0;
        /* Nothing to do: unchanged. */
        assert_int_equal(monitor_downsample(s, 10, 0, &per), 10);
        assert_int_equal(per, 1);
        assert_int_equal(monitor_downsample(s, 10, 10, &per), 10);
        assert_int_equal(per, 1);
        /* 10 into at most 4: buckets of 3, the first one shorter: {0}, {1,2,3},
         * {4,5,6}, {7,8,9}; each keeps its newest time. */
        assert_int_equal(monitor_downsample(s, 10, 4, &per), 4);
        assert_int_equal(per, 3);
        assert_true(s[0].t == 100 && s[1].t == 103 && s[2].t == 106 && s[3].t == 109);
        assert_float_equal(s[0].cpu, 0, 1e-6);
        assert_float_equal(s[1].cpu, 2, 1e-6);
        assert_float_equal(s[3].cpu, 8, 1e-6);
        assert_float_equal(s[3].load, 1, 1e-6);
        /* Down to one point: the average, at the newest time. */
        for (int i = 0; i < 10; i++)
                s[i] = (struct history_sample){.t = 100 + i, .cpu = (float)i};
        assert_int_equal(monitor_downsample(s, 10, 1, &per), 1);
        assert_int_equal(per, 10);
        assert_true(s[0].t == 109);
        assert_float_equal(s[0].cpu, 4.5, 1e-6);
}

static void test_bad_options(void **state)
{
        struct monitor *m = NULL;
        struct monitor_opts o = {"/proc", "/", 1000, 10, 0};
        assert_int_equal(monitor_new(&o, &m), -EINVAL);
        o = (struct monitor_opts){"/proc", "/", 0, 10, 8};
        assert_int_equal(monitor_new(&o, &m), -EINVAL);
        /* An unreadable proc root is not fatal: zeros, no cores. */
        o = (struct monitor_opts){FIXTURES "/monitor/none", "/", 1000, 10, 8};
        assert_int_equal(monitor_new(&o, &m), 0);
        struct cpu_report rep;
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_false(rep.ready);
        assert_int_equal(rep.ncores, 0);
        cpu_report_free(&rep);
        monitor_tick(m, 1);
        monitor_free(m);
        monitor_free(NULL);
}

/* SigBlk of every thread but the caller (hex mask from /proc/self/task/N/status). */
static int other_thread_sigblk(uint64_t *mask)
{
        DIR *d = opendir("/proc/self/task");
        if (!d)
                return -errno;
        int found = 0;
        pid_t self = gettid();
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || atoi(de->d_name) == self)
                        continue;
                char path[300], line[256];
                snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
                FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f))
                        if (sscanf(line, "SigBlk: %" SCNx64, mask) == 1)
                                found++;
                fclose(f);
        }
        closedir(d);
        return found;
}

static void test_thread_samples_and_stops(void **state)
{
        struct fake_proc *p = *state;
        struct monitor *m = make(p, 10, 2, 64);
        assert_int_equal(monitor_start(m), 0);
        assert_int_equal(monitor_start(m), -EALREADY);

        uint64_t mask = 0;
        assert_int_equal(other_thread_sigblk(&mask), 1);
        uint64_t want = (1ULL << (SIGTERM - 1)) | (1ULL << (SIGINT - 1)) | (1ULL << (SIGHUP - 1)) |
                        (1ULL << (SIGPIPE - 1)) | (1ULL << (SIGUSR1 - 1));
        assert_true((mask & want) == want);
        /* The caller's mask is restored. */
        sigset_t cur;
        pthread_sigmask(SIG_SETMASK, NULL, &cur);
        assert_false(sigismember(&cur, SIGTERM));

        use_sample(p, "sample-b");
        struct history_sample *s = NULL;
        size_t n = 0;
        for (int i = 0; i < 300 && n < 3; i++) {
                free(s);
                usleep(10000);
                assert_int_equal(monitor_history(m, 0, &s, &n), 0);
        }
        assert_true(n >= 3);
        for (size_t i = 1; i < n; i++)
                assert_true(s[i].t >= s[i - 1].t);
        free(s);
        struct cpu_report rep;
        assert_int_equal(monitor_cpu(m, &rep), 0);
        assert_true(rep.ready);
        cpu_report_free(&rep);

        /* Stop wakes the thread at once rather than at its next tick. */
        struct monitor_opts o = {p->dir, p->dir, 60000, 10, 8};
        struct monitor *slow = NULL;
        assert_int_equal(monitor_new(&o, &slow), 0);
        assert_int_equal(monitor_start(slow), 0);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        monitor_free(slow);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(t1.tv_sec - t0.tv_sec < 5);

        monitor_free(m);
        assert_int_equal(other_thread_sigblk(&mask), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_cpu_before_and_after_second_sample, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_offline_core_gets_zeros, setup, teardown),
            cmocka_unit_test_setup_teardown(test_history_from_ticks, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ring_wraps_and_filters, setup, teardown),
            cmocka_unit_test(test_downsample),
            cmocka_unit_test(test_bad_options),
            cmocka_unit_test_setup_teardown(test_thread_samples_and_stops, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
