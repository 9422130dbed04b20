/* Run a check in a forked child: the child's exit status is fn's result (0 =
 * every EXPECT held, else a number from the line that failed), a signal that
 * ended it is 1000 + the signal. For what a test cannot undo in its own
 * process (a seccomp filter, a library loaded for good). */
#pragma once

#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPECT(cond)                                                                               \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        return __LINE__ % 250 + 1;                                                 \
        } while (0)

/* before (may be NULL) runs first in the child; if it fails the child exits 254 */
static inline int in_child(int (*before)(void), int (*fn)(void))
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (before && before() < 0)
                        _exit(254);
                _exit(fn());
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (WIFSIGNALED(st))
                return 1000 + WTERMSIG(st);
        return WEXITSTATUS(st);
}
