/* Figures about this machine read from /proc and statvfs (never by spawning
 * a program). The proc root is a parameter so tests can use fixture trees. */
#pragma once

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
