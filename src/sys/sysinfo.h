/* Figures about this machine read from /proc and statvfs (never by spawning
 * a program). The proc root is a parameter so tests can use fixture trees. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meminfo {
        uint64_t total, free, available, buffers, cached, sreclaimable, shmem;
        uint64_t swap_total, swap_free; /* all in bytes */
        uint64_t used;                  /* total - available (or total-free-buffers-cached) */
};

struct diskusage {
        uint64_t total, used, avail; /* bytes; used = (blocks - bfree) * frsize */
        double percent;              /* used / (used + avail) * 100, like df */
};

/* proc_root is usually "/proc". All return 0 or -errno. */
int sysinfo_meminfo(const char *proc_root, struct meminfo *out);
int sysinfo_uptime(const char *proc_root, double *seconds);
int sysinfo_loadavg(const char *proc_root, double load[3]);
int sysinfo_disk(const char *mount_point, struct diskusage *out);
/* Number of online CPUs. */
int sysinfo_cpus(void);
/* "up 15d 3h 42m" (zero parts omitted except when all are zero: "up 0m"). */
void sysinfo_format_uptime(double seconds, char *out, size_t outlen);
/* Human size in powers of 1024 with decimal-style units as the seed shows:
 * "7.8 GB", "256 MB", "512 KB", "12 B" (one decimal below 10, none above 100). */
void sysinfo_format_bytes(uint64_t bytes, char *out, size_t outlen);
/* uname() machine mapped to Go's names ("x86_64" -> "amd64", "aarch64" -> "arm64"). */
const char *sysinfo_arch(void);
/* Host name from uname(). */
void sysinfo_hostname(char *out, size_t outlen);

/* ---- CPU times (/proc/stat) ---- */

/* Jiffies of one "cpu" or "cpuN" line. guest/guest_nice are already counted
 * in user/nice by the kernel, so they are read but not added to the total. */
struct cpu_times {
        uint64_t user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice;
};

struct cpu_core_times {
        int core; /* N of "cpuN": offline CPUs leave gaps */
        struct cpu_times t;
};

struct cpu_snapshot {
        struct cpu_times all;
        struct cpu_core_times *cores; /* malloc'd, ncores entries */
        size_t ncores;
};

/* Percentages of the time between two snapshots. */
struct cpu_usage {
        double user;    /* user + nice */
        double system;  /* system only, like top's "sy" */
        double idle;    /* idle only */
        double iowait;  /* iowait */
        double percent; /* 100 - idle */
};

/* Read the cpu lines of <proc_root>/stat. 0 or -errno (-EBADMSG when the
 * aggregate line is missing or malformed). Release with cpu_snapshot_free. */
int sysinfo_procstat(const char *proc_root, struct cpu_snapshot *out);
void cpu_snapshot_free(struct cpu_snapshot *s);
/* Usage between a (older) and b (newer). A field that went backwards (iowait
 * may, CPU hot-plug resets a core) counts as no time; no elapsed time at all
 * gives all zeros. */
void sysinfo_cpu_usage(const struct cpu_times *a, const struct cpu_times *b, struct cpu_usage *out);

/* ---- mounted filesystems (/proc/self/mountinfo) ---- */

struct mount_entry {
        char *source;      /* "/dev/vda1", "server:/export", ... (octal escapes decoded) */
        char *mount_point; /* decoded: "\040" becomes a space */
        char *fstype;
        unsigned major, minor;
};

/* Parse a mountinfo file (path: usually "/proc/self/mountinfo") keeping only
 * the filesystems df would call real: block-device backed, zfs/btrfs and
 * network filesystems, and an overlay only when it is "/". Pseudo filesystems
 * (proc, sysfs, tmpfs, cgroup, squashfs, autofs, ...) are skipped, and bind
 * mounts of one device are listed once (the shortest mount point wins, as df
 * does). 0 or -errno; release with mount_entries_free. */
int sysinfo_mounts(const char *mountinfo_path, struct mount_entry **out, size_t *n);
void mount_entries_free(struct mount_entry *e, size_t n);
/* The filter above, exposed for tests. */
bool sysinfo_fs_is_real(const char *fstype, const char *source, const char *mount_point);
/* Decode mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
void sysinfo_unescape_octal(char *s);

/* df -h style size: powers of 1024, single-letter suffix, rounded up like df:
 * "0", "512", "4.0K", "7.8G", "78G", "1.0T". */
void sysinfo_format_df_size(uint64_t bytes, char *out, size_t outlen);
/* df's Use%: used / (used + avail), rounded up, e.g. "30%"; "-" when both are 0. */
void sysinfo_format_df_percent(uint64_t used, uint64_t avail, char *out, size_t outlen);
/* Bytes with one decimal and B/KB/MB/GB/TB, as the service memory figures:
 * "12.5 MB", "1.0 GB", "512 B". */
void sysinfo_format_bytes1(uint64_t bytes, char *out, size_t outlen);
