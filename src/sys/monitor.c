#include "sys/monitor.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct monitor {
        /* immutable after monitor_new */
        char *proc_root, *disk_path;
        unsigned tick_ms, history_ticks;
        size_t capacity;

        pthread_mutex_t lock;
        pthread_cond_t wake; /* signalled by monitor_free to stop the thread */
        pthread_t thread;
        bool running, stop;

        /* CPU: the last snapshot and the usage between the last two */
        struct cpu_snapshot prev;
        bool have_prev;
        struct cpu_report report;

        /* history */
        struct cpu_times hist_prev; /* aggregate times at the previous history sample */
        bool have_hist_prev;
        unsigned long long ticks, last_hist_tick;
        bool hist_started;
        struct history_sample *ring;
        size_t head, count; /* head: next slot to write */
};

int monitor_new(const struct monitor_opts *opts, struct monitor **out)
{
        const struct monitor_opts def = {"/proc", "/", MONITOR_TICK_MS, MONITOR_HISTORY_TICKS,
                                         MONITOR_CAPACITY};
        if (!opts)
                opts = &def;
        if (!opts->proc_root || !opts->disk_path || opts->tick_ms == 0 ||
            opts->history_ticks == 0 || opts->capacity == 0)
                return -EINVAL;

        struct monitor *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->proc_root = strdup(opts->proc_root);
        m->disk_path = strdup(opts->disk_path);
        m->ring = calloc(opts->capacity, sizeof(*m->ring));
        if (!m->proc_root || !m->disk_path || !m->ring) {
                free(m->proc_root);
                free(m->disk_path);
                free(m->ring);
                free(m);
                return -ENOMEM;
        }
        m->tick_ms = opts->tick_ms;
        m->history_ticks = opts->history_ticks;
        m->capacity = opts->capacity;
        pthread_mutex_init(&m->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&m->wake, &ca);
        pthread_condattr_destroy(&ca);

        /* The first sample now, so the core list is known before the thread runs. */
        if (sysinfo_procstat(m->proc_root, &m->prev) == 0) {
                m->have_prev = true;
                m->hist_prev = m->prev.all;
                m->have_hist_prev = true;
        }
        *out = m;
        return 0;
}

static const struct cpu_times *find_core(const struct cpu_snapshot *s, size_t hint, int core)
{
        if (hint < s->ncores && s->cores[hint].core == core)
                return &s->cores[hint].t;
        for (size_t i = 0; i < s->ncores; i++)
                if (s->cores[i].core == core)
                        return &s->cores[i].t;
        return NULL;
}

/* Usage between the stored snapshot and cur; called with the lock held. */
static int build_report(struct monitor *m, const struct cpu_snapshot *cur, struct cpu_report *rep)
{
        *rep = (struct cpu_report){.ready = true};
        sysinfo_cpu_usage(&m->prev.all, &cur->all, &rep->all);
        if (cur->ncores) {
                rep->cores = calloc(cur->ncores, sizeof(*rep->cores));
                if (!rep->cores)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < cur->ncores; i++) {
                rep->cores[i].core = cur->cores[i].core;
                /* A core that just came online has no previous sample: zeros. */
                const struct cpu_times *old = find_core(&m->prev, i, cur->cores[i].core);
                if (old)
                        sysinfo_cpu_usage(old, &cur->cores[i].t, &rep->cores[i].u);
        }
        rep->ncores = cur->ncores;
        return 0;
}

void monitor_push(struct monitor *m, const struct history_sample *s)
{
        pthread_mutex_lock(&m->lock);
        m->ring[m->head] = *s;
        m->head = (m->head + 1) % m->capacity;
        if (m->count < m->capacity)
                m->count++;
        pthread_mutex_unlock(&m->lock);
}

void monitor_tick(struct monitor *m, time_t now)
{
        struct cpu_snapshot cur = {0};
        bool have_cur = sysinfo_procstat(m->proc_root, &cur) == 0;

        pthread_mutex_lock(&m->lock);
        if (have_cur) {
                if (m->have_prev) {
                        struct cpu_report rep;
                        if (build_report(m, &cur, &rep) == 0) {
                                cpu_report_free(&m->report);
                                m->report = rep;
                        } else {
                                cpu_report_free(&rep);
                        }
                }
                cpu_snapshot_free(&m->prev);
                m->prev = cur;
                m->have_prev = true;
        }
        m->ticks++;
        /* The first history point as soon as one CPU window exists, then every
         * history_ticks ticks: the chart has data a second after start. */
        bool due = !m->hist_started || m->ticks - m->last_hist_tick >= m->history_ticks;
        struct cpu_usage window = {0};
        if (due) {
                if (m->have_prev && m->have_hist_prev)
                        sysinfo_cpu_usage(&m->hist_prev, &m->prev.all, &window);
                if (m->have_prev) {
                        m->hist_prev = m->prev.all;
                        m->have_hist_prev = true;
                }
                m->last_hist_tick = m->ticks;
                m->hist_started = true;
        }
        pthread_mutex_unlock(&m->lock);
        if (!due)
                return;

        /* The slower reads happen without the lock: requests never wait on them. */
        struct history_sample s = {.t = now, .cpu = (float)window.percent};
        struct meminfo mi;
        if (sysinfo_meminfo(m->proc_root, &mi) == 0 && mi.total)
                s.mem = (float)(100.0 * (double)mi.used / (double)mi.total);
        struct diskusage d;
        if (sysinfo_disk(m->disk_path, &d) == 0)
                s.disk = (float)d.percent;
        double load[3];
        if (sysinfo_loadavg(m->proc_root, load) == 0)
                s.load = (float)load[0];
        monitor_push(m, &s);
}

static void *sampler(void *arg)
{
        struct monitor *m = arg;
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        pthread_mutex_lock(&m->lock);
        while (!m->stop) {
                /* Absolute deadlines: the period does not drift with sampling time. */
                next.tv_nsec += (long)(m->tick_ms % 1000) * 1000000L;
                next.tv_sec += m->tick_ms / 1000 + next.tv_nsec / 1000000000L;
                next.tv_nsec %= 1000000000L;
                while (!m->stop && pthread_cond_timedwait(&m->wake, &m->lock, &next) != ETIMEDOUT)
                        ;
                if (m->stop)
                        break;
                pthread_mutex_unlock(&m->lock);
                monitor_tick(m, time(NULL));
                /* After a suspend or a long stall, restart the schedule from now
                 * instead of firing a burst of catch-up ticks. */
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec > next.tv_sec + 2)
                        next = now;
                pthread_mutex_lock(&m->lock);
        }
        pthread_mutex_unlock(&m->lock);
        return NULL;
}

int monitor_start(struct monitor *m)
{
        if (m->running)
                return -EALREADY;
        /* The thread inherits the creator's mask: block everything around
         * pthread_create so it never takes a process signal, even briefly. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int r = pthread_create(&m->thread, NULL, sampler, m);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return -r;
        m->running = true;
        return 0;
}

void monitor_free(struct monitor *m)
{
        if (!m)
                return;
        if (m->running) {
                pthread_mutex_lock(&m->lock);
                m->stop = true;
                pthread_cond_broadcast(&m->wake);
                pthread_mutex_unlock(&m->lock);
                pthread_join(m->thread, NULL);
                m->running = false;
        }
        cpu_snapshot_free(&m->prev);
        cpu_report_free(&m->report);
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->lock);
        free(m->ring);
        free(m->proc_root);
        free(m->disk_path);
        free(m);
}

void cpu_report_free(struct cpu_report *r)
{
        if (!r)
                return;
        free(r->cores);
        r->cores = NULL;
        r->ncores = 0;
}

int monitor_cpu(struct monitor *m, struct cpu_report *out)
{
        int r = 0;
        pthread_mutex_lock(&m->lock);
        struct cpu_report rep = m->report;
        rep.cores = NULL;
        if (m->report.ready) {
                if (rep.ncores) {
                        rep.cores = malloc(rep.ncores * sizeof(*rep.cores));
                        if (rep.cores)
                                memcpy(rep.cores, m->report.cores, rep.ncores * sizeof(*rep.cores));
                        else
                                r = -ENOMEM;
                }
        } else if (m->have_prev && m->prev.ncores) {
                /* Before the second sample: the known cores, all zero. */
                rep = (struct cpu_report){.ncores = m->prev.ncores};
                rep.cores = calloc(rep.ncores, sizeof(*rep.cores));
                if (rep.cores)
                        for (size_t i = 0; i < rep.ncores; i++)
                                rep.cores[i].core = m->prev.cores[i].core;
                else
                        r = -ENOMEM;
        } else {
                rep = (struct cpu_report){0};
        }
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return r;
        *out = rep;
        return 0;
}

int monitor_history(struct monitor *m, time_t since, struct history_sample **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        pthread_mutex_lock(&m->lock);
        size_t start = (m->head + m->capacity - m->count) % m->capacity;
        /* Samples are in insertion order; the newest ones are the ones after
         * `since`, so find the first match scanning back from the newest. */
        size_t k = 0;
        while (k < m->count && m->ring[(start + m->count - 1 - k) % m->capacity].t >= since)
                k++;
        struct history_sample *v = NULL;
        if (k) {
                v = malloc(k * sizeof(*v));
                if (!v) {
                        pthread_mutex_unlock(&m->lock);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < k; i++)
                        v[i] = m->ring[(start + m->count - k + i) % m->capacity];
        }
        pthread_mutex_unlock(&m->lock);
        *out = v;
        *n = k;
        return 0;
}

unsigned monitor_history_interval_s(const struct monitor *m)
{
        unsigned s = (unsigned)(((unsigned long long)m->tick_ms * m->history_ticks + 500) / 1000);
        return s ? s : 1;
}

size_t monitor_downsample(struct history_sample *s, size_t n, size_t max_points, size_t *per_out)
{
        *per_out = 1;
        if (max_points == 0 || n <= max_points)
                return n;
        /* Buckets of ceil(n / max_points) samples; the first one may be shorter
         * so that the newest samples always fill a whole bucket. */
        size_t per = (n + max_points - 1) / max_points;
        *per_out = per;
        size_t buckets = (n + per - 1) / per;
        size_t first = n - (buckets - 1) * per;
        size_t in = 0;
        for (size_t b = 0; b < buckets; b++) {
                size_t len = b == 0 ? first : per;
                double cpu = 0, mem = 0, disk = 0, load = 0;
                for (size_t i = 0; i < len; i++) {
                        cpu += s[in + i].cpu;
                        mem += s[in + i].mem;
                        disk += s[in + i].disk;
                        load += s[in + i].load;
                }
                s[b] = (struct history_sample){
                    s[in + len - 1].t, (float)(cpu / (double)len), (float)(mem / (double)len),
                    (float)(disk / (double)len), (float)(load / (double)len)};
                in += len;
        }
        return buckets;
}
