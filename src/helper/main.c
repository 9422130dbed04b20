/* setec-helper: the root helper as its own executable (helper.h). serve
 * starts it (split.c) as
 *
 *   setec-helper --config <the file serve loaded> --fd 3
 *
 * with the control socket on that descriptor. It loads that config itself
 * (the only one it trusts), logs as serve does, and serves calls until the
 * HTTP process closes the socket. Not a command for people: started any
 * other way it refuses to run. Outside the helper library (CMakeLists.txt):
 * the unit tests link that library with their own main. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "core/config.h"
#include "helper/helper.h"

static int usage(void)
{
        fputs("usage: " HELPER_BINARY " --config PATH --fd N\n"
              "The root helper of setec-manager: serve starts it; it is not run by hand.\n",
              stderr);
        return 2;
}

/* The control socket: a SOCK_SEQPACKET descriptor, close-on-exec from now
 * on (no program the helper starts may inherit it). */
static int control_socket(const char *arg)
{
        char *end = NULL;
        errno = 0;
        long fd = strtol(arg, &end, 10);
        if (errno || end == arg || *end || fd <= STDERR_FILENO || fd > 1024)
                return -EINVAL;
        int type = 0;
        socklen_t len = sizeof(type);
        if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return -errno;
        if (type != SOCK_SEQPACKET)
                return -ENOTSOCK;
        if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;
        return (int)fd;
}

int main(int argc, char **argv)
{
        const char *config_path = NULL, *fd_arg = NULL;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--config") && i + 1 < argc)
                        config_path = argv[++i];
                else if (streq(argv[i], "--fd") && i + 1 < argc)
                        fd_arg = argv[++i];
                else
                        return usage();
        }
        if (str_empty(config_path) || !fd_arg)
                return usage();
        int ctl = control_socket(fd_arg);
        if (ctl < 0) {
                fprintf(stderr, HELPER_BINARY ": --fd %s: %s\n", fd_arg,
                        ctl == -ENOTSOCK ? "not the control socket serve passes" : strerror(-ctl));
                return 2;
        }
        /* as in serve: the end of the HTTP process (its closed socket) ends
         * the helper; a SIGTERM to the whole unit does not cut a call short */
        sigset_t sigs;
        sigemptyset(&sigs);
        sigaddset(&sigs, SIGTERM);
        sigaddset(&sigs, SIGINT);
        sigaddset(&sigs, SIGHUP);
        sigprocmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* serve has loaded this file a moment ago and reported what it
         * had to say about it (unknown keys, a missing file) */
        struct config cfg = {0};
        bool missing = false;
        char err[512] = "";
        int r = config_defaults(&cfg);
        if (r == 0)
                r = config_load(&cfg, config_path, &missing, NULL, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, HELPER_BINARY ": %s: %s\n", config_path,
                        err[0] ? err : strerror(-r));
                config_free(&cfg);
                return 1;
        }
        config_apply_logging(&cfg);
        /* serve waits for this before it serves */
        if (send(ctl, HELPER_READY, strlen(HELPER_READY), MSG_NOSIGNAL) < 0) {
                r = -errno;
                log_error("helper: cannot reach serve: %s", strerror(errno));
        } else {
                r = helper_main(&cfg, ctl);
                if (r < 0)
                        log_error("helper: %s", strerror(-r));
        }
        close(ctl);
        log_flush();
        log_set_file(NULL);
        config_free(&cfg);
        return r < 0 ? 1 : 0;
}
