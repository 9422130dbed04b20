/* The monitor's sampler: a background thread reads /proc/stat every tick so
 * CPU figures are answered from memory (no request ever sleeps), and every
 * history_ticks ticks it records {time, cpu%, mem%, disk%, load1} into a
 * fixed-size ring (8640 entries = 24 h at 10 s). Every function is safe to
 * call from any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "sys/sysinfo.h"

struct monitor_opts {
        const char *proc_root;  /* "/proc" */
        const char *disk_path;  /* the filesystem whose use% is recorded: "/" */
        unsigned tick_ms;       /* CPU sample period */
        unsigned history_ticks; /* ticks between history samples */
        size_t capacity;        /* history ring entries */
};

#define MONITOR_TICK_MS       1000
#define MONITOR_HISTORY_TICKS 10
#define MONITOR_CAPACITY      8640 /* 24 h at 10 s */

struct history_sample {
        time_t t;   /* wall clock, seconds */
        float cpu;  /* % busy over the interval since the previous sample */
        float mem;  /* % of MemTotal used (total - available) */
        float disk; /* % used of disk_path, like df */
        float load; /* 1-minute load average */
};

struct cpu_core_usage {
        int core;
        struct cpu_usage u;
};

struct cpu_report {
        struct cpu_usage all;
        struct cpu_core_usage *cores; /* malloc'd */
        size_t ncores;
        bool ready; /* false until two samples exist: every figure is then 0 */
};

struct monitor;

/* Allocate the ring and take the first CPU sample (the thread is not
 * started). opts NULL = defaults for this machine. 0 or -errno. */
int monitor_new(const struct monitor_opts *opts, struct monitor **out);
/* Start the sampler thread; it blocks every signal. 0 or -errno. */
int monitor_start(struct monitor *m);
/* Stop and join the thread (if started), release everything. NULL is fine. */
void monitor_free(struct monitor *m);

/* One sampling step as the thread does it (tests call it directly). */
void monitor_tick(struct monitor *m, time_t now);
/* Append a history sample (the oldest one is dropped when the ring is full). */
void monitor_push(struct monitor *m, const struct history_sample *s);

/* A copy of the latest CPU figures; release with cpu_report_free. 0 or -ENOMEM.
 * Before the first sample the cores are unknown (ncores 0). */
int monitor_cpu(struct monitor *m, struct cpu_report *out);
void cpu_report_free(struct cpu_report *r);
/* Copy the samples with t >= since, oldest first, into a malloc'd array
 * (*out NULL when *n is 0). 0 or -ENOMEM. */
int monitor_history(struct monitor *m, time_t since, struct history_sample **out, size_t *n);
/* Seconds between history samples (tick_ms * history_ticks / 1000). */
unsigned monitor_history_interval_s(const struct monitor *m);
/* Reduce s[0..n) in place to at most max_points samples by averaging runs of
 * consecutive samples (each bucket keeps the time of its newest sample, so
 * the last point is always the newest). Returns the new count and sets *per
 * to the samples per bucket (1 when max_points is 0 or >= n: unchanged). */
size_t monitor_downsample(struct history_sample *s, size_t n, size_t max_points, size_t *per);
