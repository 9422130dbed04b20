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

static const char *const byte_units[] = {"B", "KB", "MB", "GB", "TB"};

/* bytes in powers of 1024: the value and its unit index (bytes >= 1024). */
static double scale_1024(uint64_t bytes, size_t *unit)
{
        size_t u = 0;
        double v = (double)bytes;
        while (v >= 1024.0 && u < ARRAY_SIZE(byte_units) - 1) {
                v /= 1024.0;
                u++;
        }
        *unit = u;
        return v;
}

void sysinfo_format_bytes(uint64_t bytes, char *out, size_t outlen)
{
        if (!out || outlen == 0)
                return;
        if (bytes < 1024) {
                snprintf(out, outlen, "%" PRIu64 " B", bytes);
                return;
        }
        size_t u;
        double v = scale_1024(bytes, &u);
        /* Decide by the printed value, so 9.96 shows as "10 KB" and 1023.7 MB
         * moves up to "1.0 GB" instead of printing "1024 MB". */
        if (round_pos(v * 10.0) / 10.0 < 10.0) {
                snprintf(out, outlen, "%.1f %s", v, byte_units[u]);
                return;
        }
        if (round_pos(v) >= 1024.0 && u < ARRAY_SIZE(byte_units) - 1) {
                snprintf(out, outlen, "%.1f %s", v / 1024.0, byte_units[u + 1]);
                return;
        }
        snprintf(out, outlen, "%.0f %s", v, byte_units[u]);
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

/* ---- /proc/stat ---- */

/* No real machine has more; a larger number is a malformed line. */
#define CPU_CORES_MAX 65536

static int parse_cpu_line(char *line, bool *aggregate, int *core, struct cpu_times *t)
{
        char *p = line + 3; /* after "cpu" */
        if (*p == ' ') {
                *aggregate = true;
                *core = -1;
        } else {
                char *end;
                errno = 0;
                unsigned long n = strtoul(p, &end, 10);
                if (end == p || *end != ' ' || errno || n >= CPU_CORES_MAX)
                        return -EBADMSG;
                *aggregate = false;
                *core = (int)n;
                p = end;
        }
        uint64_t v[10] = {0};
        size_t k = 0;
        for (; k < ARRAY_SIZE(v); k++) {
                while (*p == ' ')
                        p++;
                if (*p < '0' || *p > '9')
                        break;
                char *end;
                errno = 0;
                unsigned long long x = strtoull(p, &end, 10);
                if (errno)
                        return -EBADMSG;
                v[k] = x;
                p = end;
        }
        /* Kernels since 2.6 print at least user, nice, system, idle, iowait. */
        if (k < 4)
                return -EBADMSG;
        *t = (struct cpu_times){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]};
        return 0;
}

void cpu_snapshot_free(struct cpu_snapshot *s)
{
        if (!s)
                return;
        free(s->cores);
        s->cores = NULL;
        s->ncores = 0;
}

int sysinfo_procstat(const char *proc_root, struct cpu_snapshot *out)
{
        char path[4096];
        int r = snprintf(path, sizeof(path), "%s/stat", proc_root ? proc_root : "/proc");
        if (r < 0 || (size_t)r >= sizeof(path))
                return -ENAMETOOLONG;
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;

        struct cpu_snapshot s = {0};
        size_t alloc = 0;
        bool have_all = false;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        r = 0;
        /* The cpu lines come first; stop at the first other line so the long
         * "intr" line is never parsed. */
        while ((len = getline(&line, &cap, f)) > 0) {
                if (!startswith(line, "cpu"))
                        break;
                if (line[len - 1] == '\n')
                        line[len - 1] = '\0';
                bool aggregate;
                int core;
                struct cpu_times t;
                r = parse_cpu_line(line, &aggregate, &core, &t);
                if (r < 0)
                        break;
                if (aggregate) {
                        s.all = t;
                        have_all = true;
                        continue;
                }
                if (s.ncores == alloc) {
                        if (alloc >= CPU_CORES_MAX) {
                                r = -EBADMSG;
                                break;
                        }
                        size_t na = alloc ? alloc * 2 : 8;
                        struct cpu_core_times *nc = realloc(s.cores, na * sizeof(*nc));
                        if (!nc) {
                                r = -ENOMEM;
                                break;
                        }
                        s.cores = nc;
                        alloc = na;
                }
                s.cores[s.ncores++] = (struct cpu_core_times){core, t};
        }
        if (r == 0 && ferror(f))
                r = -EIO;
        fclose(f);
        if (r == 0 && !have_all)
                r = -EBADMSG;
        if (r < 0) {
                cpu_snapshot_free(&s);
                return r;
        }
        *out = s;
        return 0;
}

/* Counters only go forward, except iowait (and with it idle) which the kernel
 * documents as able to decrease: a field that went back counts as 0. */
static uint64_t delta(uint64_t a, uint64_t b)
{
        return b > a ? b - a : 0;
}

void sysinfo_cpu_usage(const struct cpu_times *a, const struct cpu_times *b, struct cpu_usage *out)
{
        *out = (struct cpu_usage){0};
        uint64_t user = delta(a->user, b->user) + delta(a->nice, b->nice);
        uint64_t sys = delta(a->system, b->system), idle = delta(a->idle, b->idle);
        uint64_t iowait = delta(a->iowait, b->iowait);
        uint64_t dt = user + sys + idle + iowait + delta(a->irq, b->irq) +
                      delta(a->softirq, b->softirq) + delta(a->steal, b->steal);
        if (dt == 0)
                return;
        double d = (double)dt;
        out->user = (double)user * 100.0 / d;
        out->system = (double)sys * 100.0 / d;
        out->idle = (double)idle * 100.0 / d;
        out->iowait = (double)iowait * 100.0 / d;
        out->percent = 100.0 - out->idle;
}

/* ---- /proc/self/mountinfo ---- */

void sysinfo_unescape_octal(char *s)
{
        char *w = s;
        for (const char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        char c = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                        /* A NUL would silently cut the name: keep the escape as text. */
                        if (c != '\0') {
                                *w++ = c;
                                p += 4;
                                continue;
                        }
                }
                *w++ = *p++;
        }
        *w = '\0';
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq(s, list[i]))
                        return true;
        return false;
}

bool sysinfo_fs_is_real(const char *fstype, const char *source, const char *mount_point)
{
        static const char *const pseudo[] = {
            "proc",        "sysfs",
            "tmpfs",       "devtmpfs",
            "devpts",      "cgroup",
            "cgroup2",     "securityfs",
            "pstore",      "bpf",
            "debugfs",     "tracefs",
            "configfs",    "fusectl",
            "mqueue",      "hugetlbfs",
            "autofs",      "binfmt_misc",
            "rpc_pipefs",  "nsfs",
            "efivarfs",    "squashfs",
            "ramfs",       "selinuxfs",
            "fuse.lxcfs",  "fuse.gvfsd-fuse",
            "fuse.portal", "nfsd",
            "devfs",       "rootfs",
            "iso9660",     "udf",
            "erofs",       "zonefs",
        };
        static const char *const network[] = {
            "nfs",       "nfs4",        "cifs",       "smb3",      "smbfs",          "ceph",
            "9p",        "virtiofs",    "fuse.sshfs", "glusterfs", "fuse.glusterfs", "lustre",
            "fuse.s3fs", "fuse.rclone",
        };
        static const char *const disk[] = {"zfs", "btrfs", "xfs", "ext4", "ext3", "ext2"};
        if (str_empty(fstype) || str_empty(mount_point))
                return false;
        if (in_list(fstype, pseudo, ARRAY_SIZE(pseudo)))
                return false;
        if (streq(fstype, "overlay"))
                return streq(mount_point, "/");
        if (in_list(fstype, network, ARRAY_SIZE(network)))
                return true;
        if (in_list(fstype, disk, ARRAY_SIZE(disk)))
                return true;
        return startswith(source, "/dev/");
}

void mount_entries_free(struct mount_entry *e, size_t n)
{
        if (!e)
                return;
        for (size_t i = 0; i < n; i++) {
                free(e[i].source);
                free(e[i].mount_point);
                free(e[i].fstype);
        }
        free(e);
}

/* Split one mountinfo line into the fields we need (pointers into line). */
static int split_mountinfo(char *line, unsigned *maj, unsigned *min, char **mnt, char **fstype,
                           char **source)
{
        char *save = NULL;
        char *f[6];
        for (int i = 0; i < 6; i++) {
                f[i] = strtok_r(i ? NULL : line, " ", &save);
                if (!f[i])
                        return -EBADMSG;
        }
        if (sscanf(f[2], "%u:%u", maj, min) != 2)
                return -EBADMSG;
        *mnt = f[4];
        /* Optional fields (shared:N, master:N, ...) end with a lone "-". */
        char *t;
        while ((t = strtok_r(NULL, " ", &save)) && !streq(t, "-"))
                ;
        if (!t)
                return -EBADMSG;
        *fstype = strtok_r(NULL, " ", &save);
        *source = strtok_r(NULL, " ", &save);
        if (!*fstype || !*source)
                return -EBADMSG;
        return 0;
}

int sysinfo_mounts(const char *mountinfo_path, struct mount_entry **out, size_t *n)
{
        FILE *f = fopen(mountinfo_path, "re");
        if (!f)
                return -errno;
        struct mount_entry *v = NULL;
        size_t nv = 0, alloc = 0;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int r = 0;
        while ((len = getline(&line, &cap, f)) > 0) {
                if (line[len - 1] == '\n')
                        line[len - 1] = '\0';
                unsigned maj, min;
                char *mnt, *fstype, *source;
                /* A line we cannot read is skipped: one odd mount must not hide the rest. */
                if (split_mountinfo(line, &maj, &min, &mnt, &fstype, &source) < 0)
                        continue;
                sysinfo_unescape_octal(mnt);
                sysinfo_unescape_octal(source);
                sysinfo_unescape_octal(fstype);
                if (!sysinfo_fs_is_real(fstype, source, mnt))
                        continue;

                /* Bind mounts of one device: keep the shortest mount point (df does). */
                size_t dup = nv;
                for (size_t i = 0; i < nv; i++)
                        if (v[i].major == maj && v[i].minor == min && streq(v[i].source, source))
                                dup = i;
                if (dup < nv) {
                        if (strlen(mnt) < strlen(v[dup].mount_point)) {
                                char *m = strdup(mnt);
                                if (!m) {
                                        r = -ENOMEM;
                                        break;
                                }
                                free(v[dup].mount_point);
                                v[dup].mount_point = m;
                        }
                        continue;
                }
                if (nv == alloc) {
                        size_t na = alloc ? alloc * 2 : 8;
                        struct mount_entry *nvp = realloc(v, na * sizeof(*nvp));
                        if (!nvp) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nvp;
                        alloc = na;
                }
                struct mount_entry e = {strdup(source), strdup(mnt), strdup(fstype), maj, min};
                if (!e.source || !e.mount_point || !e.fstype) {
                        free(e.source);
                        free(e.mount_point);
                        free(e.fstype);
                        r = -ENOMEM;
                        break;
                }
                v[nv++] = e;
        }
        if (r == 0 && ferror(f))
                r = -EIO;
        fclose(f);
        if (r < 0) {
                mount_entries_free(v, nv);
                return r;
        }
        *out = v;
        *n = nv;
        return 0;
}

/* ---- df-style and one-decimal sizes ---- */

/* ceil(a * mul / b) without overflow. */
static uint64_t ceil_div(uint64_t a, uint64_t mul, uint64_t b)
{
        unsigned __int128 x = (unsigned __int128)a * mul;
        return (uint64_t)((x + b - 1) / b);
}

void sysinfo_format_df_size(uint64_t bytes, char *out, size_t outlen)
{
        static const char suffix[] = "KMGTPE";
        if (!out || outlen == 0)
                return;
        if (bytes < 1024) {
                snprintf(out, outlen, "%" PRIu64, bytes);
                return;
        }
        size_t u = 0;
        uint64_t div = 1024;
        while (u + 1 < sizeof(suffix) - 1 && bytes / div >= 1024) {
                div *= 1024;
                u++;
        }
        for (;;) {
                uint64_t tenths = ceil_div(bytes, 10, div);
                if (tenths < 100) {
                        snprintf(out, outlen, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10,
                                 suffix[u]);
                        return;
                }
                uint64_t whole = ceil_div(bytes, 1, div);
                /* 1023.2K rounds up to 1024K: df prints that as 1.0M. */
                if (whole >= 1024 && u + 1 < sizeof(suffix) - 1) {
                        div *= 1024;
                        u++;
                        continue;
                }
                snprintf(out, outlen, "%" PRIu64 "%c", whole, suffix[u]);
                return;
        }
}

void sysinfo_format_df_percent(uint64_t used, uint64_t avail, char *out, size_t outlen)
{
        if (!out || outlen == 0)
                return;
        uint64_t denom = used + avail;
        if (denom == 0 || denom < used) {
                snprintf(out, outlen, "-");
                return;
        }
        snprintf(out, outlen, "%" PRIu64 "%%", ceil_div(used, 100, denom));
}

void sysinfo_format_bytes1(uint64_t bytes, char *out, size_t outlen)
{
        if (!out || outlen == 0)
                return;
        if (bytes < 1024) {
                snprintf(out, outlen, "%" PRIu64 " B", bytes);
                return;
        }
        size_t u;
        double v = scale_1024(bytes, &u);
        /* 1023.96 KB would print as "1024.0 KB": move up a unit instead. */
        if (round_pos(v * 10.0) >= 10240.0 && u < ARRAY_SIZE(byte_units) - 1) {
                v /= 1024.0;
                u++;
        }
        snprintf(out, outlen, "%.1f %s", v, byte_units[u]);
}
