/* The HTTP process's seccomp filter: in a child that installs it, what the
 * HTTP process never needs fails (programs, namespaces, io_uring, ptrace,
 * mounts) and what it does need still works (threads, fork, files, sockets).
 * Each check runs in a forked child so the test runner stays unfiltered. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "in_child.h"
#include "sys/sandbox.h"

/* fn runs in a child under the filter (in_child.h) */
static int in_sandbox(int (*fn)(void))
{
        return in_child(sandbox_http_process, fn);
}

static int fails_with(long rc, int err)
{
        return rc == -1 && errno == err;
}

static int denied_calls(void)
{
        /* false: an exec that got through ends the child with status 1 */
        char *const argv[] = {"false", NULL}, *const envp[] = {NULL};
        EXPECT(fails_with(execve("/bin/false", argv, envp), EPERM));
        EXPECT(fails_with(execve("/usr/bin/false", argv, envp), EPERM));
        EXPECT(fails_with(unshare(CLONE_NEWUSER), EPERM));
        EXPECT(fails_with(unshare(CLONE_NEWNS), EPERM));
        EXPECT(fails_with(syscall(__NR_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM));
        EXPECT(fails_with(syscall(__NR_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0), EPERM));
        EXPECT(fails_with(syscall(__NR_clone3, NULL, 0), ENOSYS));
        char params[120] = {0};
        EXPECT(fails_with(syscall(__NR_io_uring_setup, 4, params), EPERM));
        EXPECT(fails_with(syscall(__NR_bpf, 0, NULL, 0), EPERM));
        EXPECT(fails_with(syscall(__NR_userfaultfd, 0), EPERM));
        EXPECT(fails_with(syscall(__NR_keyctl, 0, 0, 0, 0, 0), EPERM));
        EXPECT(fails_with(mount("none", "/tmp", "tmpfs", 0, NULL), EPERM));
        EXPECT(fails_with(syscall(__NR_setns, 0, 0), EPERM));
#if !defined(__SANITIZE_ADDRESS__)
        EXPECT(fails_with(syscall(__NR_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0), EPERM));
#endif
        return 0;
}

static void *thread_fn(void *arg)
{
        *(int *)arg = 42;
        return arg;
}

static int allowed_calls(void)
{
        /* threads (clone without namespace flags, after clone3's ENOSYS) */
        pthread_t t;
        int v = 0;
        EXPECT(pthread_create(&t, NULL, thread_fn, &v) == 0);
        EXPECT(pthread_join(t, NULL) == 0 && v == 42);
        /* fork and wait */
        pid_t pid = fork();
        EXPECT(pid >= 0);
        if (pid == 0)
                _exit(7);
        int st = 0;
        EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
        /* files and sockets */
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        EXPECT(fd >= 0);
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        EXPECT(n > 0);
        buf[n] = 0;
        EXPECT(strstr(buf, "\nSeccomp:\t2\n") != NULL);
        EXPECT(strstr(buf, "\nNoNewPrivs:\t1\n") != NULL);
        int sv[2];
        EXPECT(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        EXPECT(write(sv[0], "x", 1) == 1 && read(sv[1], buf, 1) == 1 && buf[0] == 'x');
        close(sv[0]);
        close(sv[1]);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        EXPECT(s >= 0);
        close(s);
        return 0;
}

static int foreign_abi(void)
{
#if defined(__x86_64__)
        /* an x32 system call number: the process is killed */
        syscall(0x40000000 | __NR_getpid);
        return 99;
#else
        raise(SIGSYS);
        return 99;
#endif
}

static void test_denied(void **state)
{
        (void)state;
        assert_int_equal(in_sandbox(denied_calls), 0);
}

static void test_allowed(void **state)
{
        (void)state;
        assert_int_equal(in_sandbox(allowed_calls), 0);
}

static void test_foreign_abi_killed(void **state)
{
        (void)state;
        assert_int_equal(in_sandbox(foreign_abi), 1000 + SIGSYS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_denied),
                                           cmocka_unit_test(test_allowed),
                                           cmocka_unit_test(test_foreign_abi_killed)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
