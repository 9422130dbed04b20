/* Monitoring: GET /monitor, /api/monitor/{cpu,memory,disk,services,history}.
 * CPU figures and the history come from the sampler (sys/monitor) started by
 * this module, so no request sleeps; memory and disk are read per request
 * from /proc and statvfs; services ask systemd over sd-bus (worker pool). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "api/json.h"
#include "api/module.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "sys/monitor.h"
#include "sys/nginx.h"
#include "sys/services.h"
#include "sys/sysinfo.h"
#include "sys/units.h"

#define HISTORY_MINUTES_DEFAULT 60
#define HISTORY_MINUTES_MAX     1440

static double round1(double v)
{
        return round(v * 10.0) / 10.0;
}

static double round2(double v)
{
        return round(v * 100.0) / 100.0;
}

static struct monitor *monitor_of(struct http_req *r)
{
        return app_of(r)->monitor;
}

static json_t *usage_json(const struct cpu_core_usage *c)
{
        return json_pack("{s:i,s:f,s:f,s:f,s:f,s:f}", "core", c->core, "user", round1(c->u.user),
                         "system", round1(c->u.system), "idle", round1(c->u.idle), "iowait",
                         round1(c->u.iowait), "percent", round1(c->u.percent));
}

/* NULL on allocation failure. */
static json_t *cpu_json(struct monitor *m)
{
        struct cpu_report rep = {0};
        /* Without a sampler (module not started) the answer is all zeros. */
        if (m && monitor_cpu(m, &rep) < 0)
                return NULL;
        char line[128];
        snprintf(line, sizeof(line), "%%Cpu(s): %.1f us, %.1f sy, %.1f id", round1(rep.all.user),
                 round1(rep.all.system), round1(rep.all.idle));
        json_t *cores = json_array();
        for (size_t i = 0; i < rep.ncores; i++)
                json_array_append_new(cores, usage_json(&rep.cores[i]));
        cpu_report_free(&rep);
        return json_pack("{s:s,s:f,s:f,s:o}", "cpu", line, "overall", round1(rep.all.percent),
                         "idle", round1(rep.all.idle), "cores", cores);
}

static json_t *memory_json(int *err)
{
        struct meminfo mi;
        *err = sysinfo_meminfo("/proc", &mi);
        if (*err < 0)
                return NULL;
        uint64_t v[7] = {mi.total,     mi.used,       mi.free,
                         mi.available, mi.swap_total, mi.swap_total - mi.swap_free,
                         mi.swap_free};
        if (mi.swap_free > mi.swap_total)
                v[5] = 0;
        static const char *const keys[7] = {"total",      "used",      "free",     "available",
                                            "swap_total", "swap_used", "swap_free"};
        json_t *o = json_object();
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                char buf[32];
                sysinfo_format_bytes(v[i], buf, sizeof(buf));
                json_object_set_new(o, keys[i], json_string(buf));
        }
        return o;
}

static void reply_cpu(struct http_req *r)
{
        json_t *j = cpu_json(monitor_of(r));
        if (!j) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        api_reply_json(r, 200, j);
}

static void reply_memory(struct http_req *r)
{
        int err;
        json_t *j = memory_json(&err);
        if (!j) {
                http_reply_errorf(r, 500, "cannot read /proc/meminfo: %s", strerror(-err));
                return;
        }
        api_reply_json(r, 200, j);
}

/* GET /monitor without Accept: text/html: the figures that need no worker. */
static void page_json(struct http_req *r)
{
        int err;
        json_t *mem = memory_json(&err);
        json_t *cpu = cpu_json(monitor_of(r));
        if (!mem || !cpu) {
                json_decref(mem);
                json_decref(cpu);
                http_reply_error(r, 500, "cannot read the monitor figures");
                return;
        }
        api_reply_json(r, 200, json_pack("{s:o,s:o}", "cpu", cpu, "memory", mem));
}

static void reply_disk(struct http_req *r)
{
        struct mount_entry *mounts = NULL;
        size_t n = 0;
        int err = sysinfo_mounts("/proc/self/mountinfo", &mounts, &n);
        if (err < 0) {
                http_reply_errorf(r, 500, "cannot read /proc/self/mountinfo: %s", strerror(-err));
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                struct diskusage d;
                /* An unreachable mount (permission, stale network share) is left
                 * out rather than failing the whole list. */
                if (sysinfo_disk(mounts[i].mount_point, &d) < 0)
                        continue;
                /* df hides filesystems without blocks too. */
                if (d.total == 0)
                        continue;
                char size[16], used[16], avail[16], pct[8];
                sysinfo_format_df_size(d.total, size, sizeof(size));
                sysinfo_format_df_size(d.used, used, sizeof(used));
                sysinfo_format_df_size(d.avail, avail, sizeof(avail));
                sysinfo_format_df_percent(d.used, d.avail, pct, sizeof(pct));
                json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "filesystem",
                                                     mounts[i].source, "size", size, "used", used,
                                                     "available", avail, "use_percent", pct,
                                                     "mount_point", mounts[i].mount_point));
        }
        mount_entries_free(mounts, n);
        api_reply_json(r, 200, arr);
}

static void reply_services(struct http_req *r)
{
        const struct config *cfg = app_of(r)->cfg;
        size_t n = cfg->monitor.services.n;
        json_t *arr = json_array();
        if (n == 0) {
                api_reply_json(r, 200, arr);
                return;
        }
        _cleanup_free_ struct unit_state *st = calloc(n, sizeof(*st));
        if (!st) {
                json_decref(arr);
                http_reply_error(r, 500, "out of memory");
                return;
        }
        nginx_services_query(cfg, (const char *const *)cfg->monitor.services.items, n, st);
        for (size_t i = 0; i < n; i++) {
                char mem[32] = "";
                /* Like the reference: memory only for a running unit that reports it. */
                if (st[i].running && st[i].memory != UINT64_MAX)
                        sysinfo_format_bytes1(st[i].memory, mem, sizeof(mem));
                json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:s}", "name",
                                                     cfg->monitor.services.items[i], "active",
                                                     st[i].active, "running", st[i].running,
                                                     "memory", mem));
        }
        api_reply_json(r, 200, arr);
}

static void reply_history(struct http_req *r)
{
        long long minutes = HISTORY_MINUTES_DEFAULT;
        const char *q = http_query(r, "minutes");
        if (q && parse_int64(q, 1, HISTORY_MINUTES_MAX, &minutes) < 0) {
                http_reply_errorf(r, 400, "minutes must be an integer from 1 to %d",
                                  HISTORY_MINUTES_MAX);
                return;
        }
        long long max_points = 0;
        q = http_query(r, "max_points");
        if (q && parse_int64(q, 1, MONITOR_CAPACITY, &max_points) < 0) {
                http_reply_errorf(r, 400, "max_points must be an integer from 1 to %d",
                                  MONITOR_CAPACITY);
                return;
        }
        struct monitor *m = monitor_of(r);
        struct history_sample *s = NULL;
        size_t n = 0;
        if (m && monitor_history(m, time(NULL) - (time_t)minutes * 60, &s, &n) < 0) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        size_t per = 1;
        n = monitor_downsample(s, n, (size_t)max_points, &per);
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                char t[TIME_RFC3339_LEN];
                time_format_rfc3339(s[i].t, t);
                json_array_append_new(arr,
                                      json_pack("{s:s,s:f,s:f,s:f,s:f}", "t", t, "cpu",
                                                round1(s[i].cpu), "mem", round1(s[i].mem), "disk",
                                                round1(s[i].disk), "load", round2(s[i].load)));
        }
        free(s);
        int interval = m ? (int)monitor_history_interval_s(m) : MONITOR_HISTORY_TICKS;
        api_reply_json(r, 200,
                       json_pack("{s:i,s:I,s:I,s:o}", "interval_s", interval, "step_s",
                                 (json_int_t)interval * (json_int_t)per, "minutes",
                                 (json_int_t)minutes, "samples", arr));
}

static int monitor_start_hook(struct app *app)
{
        struct monitor *m;
        int r = monitor_new(NULL, &m);
        if (r < 0)
                return r;
        r = monitor_start(m);
        if (r < 0) {
                monitor_free(m);
                return r;
        }
        app->monitor = m;
        return 0;
}

/* POST /api/monitor/services/{name}/{action}: start, stop or restart one of
 * the monitored units (monitor.services), nothing else. Answers the state
 * the unit reached. */
static void control_service(struct http_req *r)
{
        const struct config *cfg = app_of(r)->cfg;
        const char *name = http_param(r, "name"), *action = http_param(r, "action");
        static const struct {
                const char *action, *done;
                enum unit_op op;
        } ops[] = {{"start", "started", UNIT_START},
                   {"stop", "stopped", UNIT_STOP},
                   {"restart", "restarted", UNIT_RESTART}};
        size_t k = ARRAY_SIZE(ops);
        for (size_t i = 0; action && i < ARRAY_SIZE(ops); i++)
                if (streq(action, ops[i].action))
                        k = i;
        if (k == ARRAY_SIZE(ops)) {
                http_reply_error(r, 400, "action must be start, stop or restart");
                return;
        }
        if (!units_monitored(cfg, name)) {
                http_reply_error(r, 404, "not a monitored service (monitor.services)");
                return;
        }
        char err[512] = "";
        int rc = unit_control(name, ops[k].op, 60000, err, sizeof(err));
        if (rc < 0) {
                http_reply_errorf(r, rc == -ENOENT ? 404 : 502, "%s %s: %s", action, name,
                                  *err ? err : strerror(-rc));
                return;
        }
        struct unit_state st = {0};
        unit_state(name, &st);
        api_reply_json(r, 200,
                       json_pack("{s:s,s:s,s:s}", "status", ops[k].done, "name", name, "active",
                                 st.active[0] ? st.active : "unknown"));
}

static void monitor_stop_hook(struct app *app)
{
        monitor_free(app->monitor);
        app->monitor = NULL;
}

static const struct route monitor_routes[] = {
    {"GET", "/monitor", page_json, ROUTE_USER, ROUTE_PAGE, "/app.html"},
    {"GET", "/api/monitor/cpu", reply_cpu, ROUTE_USER, 0, NULL},
    {"GET", "/api/monitor/memory", reply_memory, ROUTE_USER, 0, NULL},
    /* statvfs on a network filesystem can block: worker pool */
    {"GET", "/api/monitor/disk", reply_disk, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/monitor/services", reply_services, ROUTE_USER, ROUTE_WORKER, NULL},
    {"POST", "/api/monitor/services/{name}/{action}", control_service, ROUTE_ADMIN, ROUTE_WORKER,
     NULL},
    /* 24 h is 8640 samples (~900 KB of JSON, ~15 ms to build): worker pool */
    {"GET", "/api/monitor/history", reply_history, ROUTE_USER, ROUTE_WORKER, NULL},
};

const struct api_module monitor_module = {"monitor", monitor_routes, ARRAY_SIZE(monitor_routes),
                                          monitor_start_hook, monitor_stop_hook};
