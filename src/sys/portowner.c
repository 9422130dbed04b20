#include "sys/portowner.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"

/* Inode of a socket in state LISTEN (0A) on port, or 0. */
static unsigned long listen_inode(const char *table, int port)
{
        _cleanup_free_ char *data = NULL;
        if (read_file(table, 8u << 20, &data, NULL) < 0)
                return 0;
        char *save = NULL;
        strtok_r(data, "\n", &save); /* header */
        for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char local[128], state[8];
                unsigned long inode;
                if (sscanf(line, "%*d: %127s %*s %7s %*s %*s %*s %*s %*s %lu", local, state,
                           &inode) != 3)
                        continue;
                char *colon = strrchr(local, ':');
                if (!colon || strcmp(state, "0A") != 0)
                        continue;
                if ((int)strtol(colon + 1, NULL, 16) == port)
                        return inode;
        }
        return 0;
}

int port_owner(int port, char *out, size_t outlen)
{
        unsigned long inode = listen_inode("/proc/net/tcp", port);
        if (!inode)
                inode = listen_inode("/proc/net/tcp6", port);
        if (!inode)
                return -ENOENT;
        char want[64];
        snprintf(want, sizeof(want), "socket:[%lu]", inode);
        DIR *proc = opendir("/proc");
        if (!proc)
                return -errno;
        int rc = -ENOENT;
        for (struct dirent *de; rc < 0 && (de = readdir(proc));) {
                long long pid;
                if (parse_int64(de->d_name, 1, 1 << 30, &pid) < 0)
                        continue;
                char fddir[64];
                snprintf(fddir, sizeof(fddir), "/proc/%lld/fd", pid);
                DIR *fds = opendir(fddir);
                if (!fds)
                        continue;
                for (struct dirent *fe; (fe = readdir(fds));) {
                        char link[384], target[128];
                        snprintf(link, sizeof(link), "%s/%s", fddir, fe->d_name);
                        ssize_t n = readlink(link, target, sizeof(target) - 1);
                        if (n <= 0)
                                continue;
                        target[n] = '\0';
                        if (strcmp(target, want) != 0)
                                continue;
                        char comm_path[64];
                        _cleanup_free_ char *comm = NULL;
                        snprintf(comm_path, sizeof(comm_path), "/proc/%lld/comm", pid);
                        if (read_file(comm_path, 256, &comm, NULL) == 0)
                                comm[strcspn(comm, "\n")] = '\0';
                        snprintf(out, outlen, "%lld (%s)", pid, comm ? comm : "?");
                        rc = 0;
                        break;
                }
                closedir(fds);
        }
        closedir(proc);
        return rc;
}
