#include "sys/sysinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h> /* isfinite only: the build does not link libm */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/util.h"

/* Every file we read under /proc is far below this; anything larger is not
 * the file we expect, so refuse it rather than parse a truncated view. */
#define PROC_FILE_MAX (16 * 1024)

/* round() for non-negative values without pulling in libm. */
static double round_pos(double x)
{
        return (double)(uint64_t)(x + 0.5);
}

static int read_proc_file(const char *proc_root, const char *name, char *buf, size_t bufsize)
{
        char path[4096];
        int r = snprintf(path, sizeof(path), "%s/%s", proc_root ? proc_root : "/proc", name);
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

        size_t len = 0;
        for (;;) {
                if (len == bufsize - 1) {
                        /* Full buffer: only fine if the file ends exactly here. */
                        char extra;
                        ssize_t n = read(fd, &extra, 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n > 0)
                                return -EFBIG;
                        break;
                }
                ssize_t n = read(fd, buf + len, bufsize - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        return (int)len;
}

int sysinfo_meminfo(const char *proc_root, struct meminfo *out)
{
        _cleanup_free_ char *buf = malloc(PROC_FILE_MAX);
        if (!buf)
                return -ENOMEM;
        int r = read_proc_file(proc_root, "meminfo", buf, PROC_FILE_MAX);
        if (r < 0)
                return r;

        static const struct {
                const char *key;
                size_t off;
        } fields[] = {
            {"MemTotal", offsetof(struct meminfo, total)},
            {"MemFree", offsetof(struct meminfo, free)},
            {"MemAvailable", offsetof(struct meminfo, available)},
            {"Buffers", offsetof(struct meminfo, buffers)},
            {"Cached", offsetof(struct meminfo, cached)},
            {"SReclaimable", offsetof(struct meminfo, sreclaimable)},
            {"Shmem", offsetof(struct meminfo, shmem)},
            {"SwapTotal", offsetof(struct meminfo, swap_total)},
            {"SwapFree", offsetof(struct meminfo, swap_free)},
        };

        struct meminfo m = {0};
        bool have_total = false, have_available = false;
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
                        if (!streq(line, fields[i].key))
                                continue;
                        unsigned long long v;
                        char unit[8] = "";
                        int k = sscanf(colon + 1, " %llu %7s", &v, unit);
                        if (k < 1)
                                return -EBADMSG;
                        uint64_t bytes = v;
                        if (k == 2 && streq(unit, "kB")) {
                                if (v > UINT64_MAX / 1024)
                                        return -ERANGE;
                                bytes = v * 1024;
                        }
                        *(uint64_t *)((char *)&m + fields[i].off) = bytes;
                        if (i == 0)
                                have_total = true;
                        else if (i == 2)
                                have_available = true;
                        break;
                }
        }
        if (!have_total)
                return -EBADMSG;

        if (have_available) {
                m.used = m.total > m.available ? m.total - m.available : 0;
        } else {
                /* Kernels before 3.14 have no MemAvailable: estimate like free(1) did. */
                m.available = m.free + m.buffers + m.cached + m.sreclaimable;
                if (m.available > m.total)
                        m.available = m.total;
                m.used = m.total - m.available;
        }
        *out = m;
        return 0;
}

int sysinfo_uptime(const char *proc_root, double *seconds)
{
        char buf[256];
        int r = read_proc_file(proc_root, "uptime", buf, sizeof(buf));
        if (r < 0)
                return r;
        double up;
        if (sscanf(buf, "%lf", &up) != 1 || !isfinite(up) || up < 0)
                return -EBADMSG;
        *seconds = up;
        return 0;
}

int sysinfo_loadavg(const char *proc_root, double load[3])
{
        char buf[256];
        int r = read_proc_file(proc_root, "loadavg", buf, sizeof(buf));
        if (r < 0)
                return r;
        double l[3];
        if (sscanf(buf, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
                return -EBADMSG;
        for (int i = 0; i < 3; i++) {
                if (!isfinite(l[i]) || l[i] < 0)
                        return -EBADMSG;
                load[i] = l[i];
        }
        return 0;
}

int sysinfo_disk(const char *mount_point, struct diskusage *out)
{
        struct statvfs st;
        if (statvfs(mount_point, &st) < 0)
                return -errno;
        uint64_t frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
        uint64_t bfree = st.f_bfree <= st.f_blocks ? st.f_bfree : st.f_blocks;
        struct diskusage d = {
            .total = (uint64_t)st.f_blocks * frsize,
            .used = ((uint64_t)st.f_blocks - bfree) * frsize,
            .avail = (uint64_t)st.f_bavail * frsize,
        };
        uint64_t denom = d.used + d.avail;
        /* df divides by used+avail, not total, so reserved root blocks count as full. */
        d.percent = denom ? round_pos((double)d.used * 1000.0 / (double)denom) / 10.0 : 0.0;
        *out = d;
        return 0;
}

int sysinfo_cpus(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (int)n : 1;
}

void sysinfo_format_uptime(double seconds, char *out, size_t outlen)
{
        if (!out || outlen == 0)
                return;
        if (!isfinite(seconds) || seconds < 0)
                seconds = 0;
        uint64_t s = (uint64_t)seconds;
        uint64_t d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60;

        size_t pos = 0;
        int r = snprintf(out, outlen, "up");
        pos = r > 0 ? (size_t)r : 0;
        const struct {
                uint64_t v;
                char unit;
        } parts[] = {{d, 'd'}, {h, 'h'}, {m, 'm'}};
        bool any = false;
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
                if (parts[i].v == 0)
                        continue;
                any = true;
                if (pos >= outlen)
                        return;
                r = snprintf(out + pos, outlen - pos, " %" PRIu64 "%c", parts[i].v, parts[i].unit);
                if (r < 0)
                        return;
                pos += (size_t)r;
        }
        if (!any && pos < outlen)
                snprintf(out + pos, outlen - pos, " 0m");
}

void sysinfo_format_bytes(uint64_t bytes, char *out, size_t outlen)
{
        static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
        if (!out || outlen == 0)
                return;
        if (bytes < 1024) {
                snprintf(out, outlen, "%" PRIu64 " B", bytes);
                return;
        }
        size_t u = 0;
        double v = (double)bytes;
        while (v >= 1024.0 && u < ARRAY_SIZE(units) - 1) {
                v /= 1024.0;
                u++;
        }
        /* Decide by the printed value, so 9.96 shows as "10 KB" and 1023.7 MB
         * moves up to "1.0 GB" instead of printing "1024 MB". */
        if (round_pos(v * 10.0) / 10.0 < 10.0) {
                snprintf(out, outlen, "%.1f %s", v, units[u]);
                return;
        }
        if (round_pos(v) >= 1024.0 && u < ARRAY_SIZE(units) - 1) {
                v /= 1024.0;
                u++;
                snprintf(out, outlen, "%.1f %s", v, units[u]);
                return;
        }
        snprintf(out, outlen, "%.0f %s", v, units[u]);
}

static struct utsname arch_uts;
static bool arch_uts_ok;

static void arch_init(void)
{
        arch_uts_ok = uname(&arch_uts) == 0;
}

const char *sysinfo_arch(void)
{
        /* The machine never changes, and a process-wide copy keeps the returned
         * pointer valid for every thread. */
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, arch_init);
        if (!arch_uts_ok)
                return "unknown";
        const struct utsname *uts = &arch_uts;
        static const struct {
                const char *uname, *go;
        } map[] = {
            {"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i686", "386"},
            {"i386", "386"},     {"armv7l", "arm"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (streq(uts->machine, map[i].uname))
                        return map[i].go;
        return uts->machine;
}

void sysinfo_hostname(char *out, size_t outlen)
{
        if (!out || outlen == 0)
                return;
        struct utsname uts;
        if (uname(&uts) < 0) {
                snprintf(out, outlen, "localhost");
                return;
        }
        snprintf(out, outlen, "%s", uts.nodename);
}
