#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/timeutil.h"
#include "sys/exec.h"

static void test_output_and_status(void **state)
{
        const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), 0);
        assert_int_equal(r.status, 3);
        assert_false(r.timed_out);
        assert_non_null(strstr(r.output, "out\n"));
        assert_non_null(strstr(r.output, "err\n"));
        exec_result_free(&r);
}

static void test_argv_is_not_a_shell(void **state)
{
        /* metacharacters in an argument reach the program verbatim */
        const char *argv[] = {"echo", "--", "a;b $(id) `x` | y", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), 0);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.output, "-- a;b $(id) `x` | y\n");
        exec_result_free(&r);
}

static void test_stdin(void **state)
{
        const char *argv[] = {"cat", NULL};
        const char in[] = "user:secret\n";
        struct exec_result r;
        assert_int_equal(
            exec_run(&(struct exec_opts){.argv = argv, .stdin_data = in, .stdin_len = strlen(in)},
                     &r),
            0);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.output, in);
        exec_result_free(&r);
}

static void test_timeout_kills_group(void **state)
{
        const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
        struct exec_result r;
        double t0 = time_monotonic();
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .timeout_ms = 200}, &r), 0);
        assert_true(r.timed_out);
        assert_true(r.status >= 128);
        assert_true(time_monotonic() - t0 < 10.0);
        exec_result_free(&r);
}

static void test_output_cap(void **state)
{
        const char *argv[] = {"head", "-c", "100000", "/dev/zero", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .max_output = 1000}, &r), 0);
        assert_int_equal(r.status, 0);
        assert_true(r.truncated);
        assert_int_equal(r.output_len, 1000);
        exec_result_free(&r);
}

static void test_missing_program(void **state)
{
        const char *argv[] = {"setec-no-such-program", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), -ENOENT);
        const char *empty[] = {NULL};
        assert_int_equal(exec_run(&(struct exec_opts){.argv = empty}, &r), -EINVAL);
        assert_false(exec_find("setec-no-such-program"));
        assert_true(exec_find("sh"));
}

static void test_env_and_cwd(void **state)
{
        setenv("SETEC_SECRET_FOR_TEST", "leak", 1);
        setenv("PATH", "/tmp/setec-evil-path:/usr/bin:/bin", 1);
        setenv("HOME", "/tmp/setec-evil-home", 1);
        const char *argv[] = {"sh", "-c", "pwd; env", NULL};
        /* PATH and HOME are fixed: a caller's entries for them are dropped */
        const char *env[] = {"PORT=8123", "PATH=/tmp/x", "HOME=/tmp/y", "NOEQUALS", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .env = env, .cwd = "/tmp"}, &r),
                         0);
        assert_int_equal(r.status, 0);
        assert_true(strncmp(r.output, "/tmp\n", 5) == 0);
        assert_non_null(strstr(r.output, "PORT=8123\n"));
        assert_non_null(strstr(r.output, "LANG=C.UTF-8\n"));
        assert_non_null(strstr(r.output, "\nPATH=" EXEC_PATH "\n"));
        assert_non_null(strstr(r.output, "\nHOME=/root\n"));
        assert_null(strstr(r.output, "SETEC_SECRET_FOR_TEST"));
        assert_null(strstr(r.output, "evil"));
        assert_null(strstr(r.output, "/tmp/x"));
        assert_null(strstr(r.output, "/tmp/y"));
        assert_null(strstr(r.output, "NOEQUALS"));
        exec_result_free(&r);
        unsetenv("SETEC_SECRET_FOR_TEST");
}

/* Only fds 0-2 reach the program: not a descriptor of ours that lacks
 * CLOEXEC, not a pipe, not the /dev/null exec opens for stdin. */
static void test_only_std_fds(void **state)
{
        int leak = open("/dev/null", O_RDONLY); /* deliberately not CLOEXEC */
        int p[2];
        assert_true(leak > 2);
        assert_int_equal(pipe(p), 0);
        char script[256];
        snprintf(script, sizeof(script),
                 "for f in %d %d %d 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$f ] && echo open $f; done; "
                 "readlink /proc/$$/fd/0",
                 leak, p[0], p[1]);
        const char *argv[] = {"sh", "-c", script, NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), 0);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.output, "/dev/null\n");
        exec_result_free(&r);
        close(leak);
        close(p[0]);
        close(p[1]);
}

/* Its own process group, default signal mask and dispositions. */
static void test_group_and_signals(void **state)
{
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        struct sigaction ign = {.sa_handler = SIG_IGN}, prev;
        sigaction(SIGUSR1, &ign, &prev);
        const char *argv[] = {"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv}, &r), 0);
        assert_string_equal(r.output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        exec_result_free(&r);
        sigaction(SIGUSR1, &prev, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);

        const char *pg[] = {"sh", "-c",
                            "read a b c d e rest < /proc/$$/stat; [ \"$a\" = \"$e\" ] && echo own",
                            NULL};
        assert_int_equal(exec_run(&(struct exec_opts){.argv = pg}, &r), 0);
        assert_string_equal(r.output, "own\n");
        exec_result_free(&r);
}

static void write_pid(void *ctx, const char *data, size_t len)
{
        if (write(*(int *)ctx, data, len) < 0)
                _exit(3);
}

static bool gone(pid_t pid)
{
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
                return true;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *st = strrchr(buf, ')');
        return !st || st[2] == 'Z' || st[2] == 'X';
}

/* When the panel dies, its children die with it (PR_SET_PDEATHSIG). */
static void test_parent_death_kills_child(void **state)
{
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t mid = fork();
        assert_true(mid >= 0);
        if (mid == 0) {
                close(p[0]);
                const char *argv[] = {"sh", "-c", "echo $$; exec sleep 60", NULL};
                struct exec_result r;
                exec_run(
                    &(struct exec_opts){
                        .argv = argv, .timeout_ms = 120000, .on_output = write_pid, .ctx = &p[1]},
                    &r);
                _exit(0);
        }
        close(p[1]);
        char buf[32] = "";
        ssize_t n = 0, k;
        while (n < (ssize_t)sizeof(buf) - 1 && !memchr(buf, '\n', (size_t)n) &&
               (k = read(p[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
                n += k;
        close(p[0]);
        pid_t child = (pid_t)atoi(buf);
        assert_true(child > 0);
        assert_false(gone(child));
        kill(mid, SIGKILL);
        waitpid(mid, NULL, 0);
        double deadline = time_monotonic() + 10.0;
        while (!gone(child) && time_monotonic() < deadline)
                usleep(20000);
        assert_true(gone(child));
}

/* As another user: ids, groups, HOME, umask, no_new_privs, nothing of ours
 * in the environment. Needs root (make test runs as root). */
static void test_run_as_user(void **state)
{
        if (geteuid() != 0) {
                skip();
                return;
        }
        struct exec_user u;
        assert_int_equal(exec_user_lookup("nobody", &u), 0);
        assert_int_equal(exec_user_lookup("setec-no-such-user", &(struct exec_user){0}), -ENOENT);
        assert_int_equal(exec_user_lookup("", &(struct exec_user){0}), -EINVAL);
        struct passwd *pw = getpwnam("nobody");
        assert_non_null(pw);
        setenv("SETEC_SECRET_FOR_TEST", "leak", 1);
        const char *argv[] = {
            "sh", "-c",
            "id -u; id -g; id -G; umask; env; grep -E '^(NoNewPrivs|CapEff):' /proc/self/status",
            NULL};
        struct exec_result r;
        assert_int_equal(exec_run(&(struct exec_opts){.argv = argv, .user = &u, .cwd = "/"}, &r),
                         0);
        assert_int_equal(r.status, 0);
        char want[128];
        snprintf(want, sizeof(want), "%u\n%u\n%u\n0022\n", (unsigned)pw->pw_uid,
                 (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
        assert_true(strncmp(r.output, want, strlen(want)) == 0);
        snprintf(want, sizeof(want), "\nHOME=%s\n", pw->pw_dir);
        assert_non_null(strstr(r.output, want));
        assert_non_null(strstr(r.output, "\nPATH=" EXEC_PATH "\n"));
        assert_non_null(strstr(r.output, "NoNewPrivs:\t1\n"));
        assert_non_null(strstr(r.output, "CapEff:\t0000000000000000\n"));
        assert_null(strstr(r.output, "SETEC_SECRET_FOR_TEST"));
        exec_result_free(&r);
        unsetenv("SETEC_SECRET_FOR_TEST");

        /* a cwd the user cannot enter: nothing runs (126), not as root either */
        mkdir("/tmp/setec-exec-test-private", 0700);
        const char *pwd[] = {"pwd", NULL};
        assert_int_equal(
            exec_run(
                &(struct exec_opts){.argv = pwd, .user = &u, .cwd = "/tmp/setec-exec-test-private"},
                &r),
            0);
        assert_int_equal(r.status, 126);
        assert_string_equal(r.output, "");
        exec_result_free(&r);
        rmdir("/tmp/setec-exec-test-private");
}

static void collect(void *ctx, const char *data, size_t len)
{
        *(size_t *)ctx += len;
}

static void test_live_output(void **state)
{
        const char *argv[] = {"sh", "-c", "echo one; echo two", NULL};
        size_t seen = 0;
        struct exec_result r;
        assert_int_equal(
            exec_run(&(struct exec_opts){.argv = argv, .on_output = collect, .ctx = &seen}, &r), 0);
        assert_int_equal(seen, 8);
        exec_result_free(&r);
}

static int child_fn(void *arg)
{
        /* runs in the child: the parent's copy stays as it was */
        *(int *)arg = 42;
        return *(int *)arg == 42 ? 0 : -1;
}

static int failing_fn(void *arg)
{
        (void)arg;
        return -EIO;
}

static void test_in_child(void **state)
{
        (void)state;
        int v = 1;
        assert_int_equal(exec_in_child(child_fn, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(exec_in_child(failing_fn, NULL), -ECHILD);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_output_and_status),
            cmocka_unit_test(test_argv_is_not_a_shell),
            cmocka_unit_test(test_stdin),
            cmocka_unit_test(test_timeout_kills_group),
            cmocka_unit_test(test_output_cap),
            cmocka_unit_test(test_missing_program),
            cmocka_unit_test(test_env_and_cwd),
            cmocka_unit_test(test_live_output),
            cmocka_unit_test(test_only_std_fds),
            cmocka_unit_test(test_group_and_signals),
            cmocka_unit_test(test_parent_death_kills_child),
            cmocka_unit_test(test_run_as_user),
            cmocka_unit_test(test_in_child),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
