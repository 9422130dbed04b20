/* GET / and GET /api/system/info */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/json.h"
#include "api/routes.h"
#include "base/util.h"
#include "db/schedjobs.h"
#include "db/users.h"
#include "sys/nginx.h"
#include "sys/services.h"
#include "sys/sysinfo.h"

static const char *display_name(const char *unit)
{
        static const char *const names[][2] = {
            {"nginx", "Nginx"},
            {"autarch-web", "AUTARCH Web"},
            {"autarch-dns", "AUTARCH DNS"},
            {"setec-manager", "Setec Manager"},
            {"ufw", "UFW"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (streq(unit, names[i][0]))
                        return names[i][1];
        return unit;
}

static double round1(double v)
{
        return round(v * 10.0) / 10.0;
}

static json_t *services_json(const struct config *cfg)
{
        size_t n = cfg->monitor.services.n;
        json_t *arr = json_array();
        if (!n)
                return arr;
        struct unit_state *st = calloc(n, sizeof(*st));
        if (!st)
                return arr;
        nginx_services_query(cfg, (const char *const *)cfg->monitor.services.items, n, st);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr,
                                      json_pack("{s:s,s:s,s:b}", "name",
                                                display_name(cfg->monitor.services.items[i]),
                                                "status", st[i].active, "running", st[i].running));
        free(st);
        return arr;
}

/* Things an admin should act on: failed certificate renewals. */
static json_t *warnings_json(struct db *db)
{
        json_t *arr = json_array();
        struct ssl_warning *w;
        size_t n;
        if (sched_ssl_warnings(db, &w, &n) < 0)
                return arr;
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr,
                                      json_pack("{s:s,s:s?,s:s?}", "kind", "ssl_renewal", "domain",
                                                w[i].domain, "message", w[i].message));
        ssl_warnings_free(w, n);
        return arr;
}

static json_t *system_info(struct app *app)
{
        char host[256], up[64], buf[4][32], load[64] = "";
        sysinfo_hostname(host, sizeof(host));
        double secs = 0, la[3] = {0, 0, 0};
        sysinfo_uptime("/proc", &secs);
        sysinfo_format_uptime(secs, up, sizeof(up));
        if (sysinfo_loadavg("/proc", la) == 0)
                snprintf(load, sizeof(load), "%.2f %.2f %.2f", la[0], la[1], la[2]);
        struct meminfo m = {0};
        sysinfo_meminfo("/proc", &m);
        struct diskusage d = {0};
        sysinfo_disk("/", &d);
        sysinfo_format_bytes(m.total, buf[0], sizeof(buf[0]));
        sysinfo_format_bytes(m.used, buf[1], sizeof(buf[1]));
        sysinfo_format_bytes(d.total, buf[2], sizeof(buf[2]));
        sysinfo_format_bytes(d.used, buf[3], sizeof(buf[3]));
        long long sites = sites_count(app->db);
        return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:f,s:s,s:s,s:f,s:I,s:o,s:o}",
                         "hostname", host, "os", "linux", "arch", sysinfo_arch(), "cpus",
                         sysinfo_cpus(), "uptime", up, "load_avg", load, "mem_total", buf[0],
                         "mem_used", buf[1], "mem_percent",
                         m.total ? round1(100.0 * (double)m.used / (double)m.total) : 0.0,
                         "disk_total", buf[2], "disk_used", buf[3], "disk_percent",
                         round1(d.percent), "site_count", (json_int_t)(sites < 0 ? 0 : sites),
                         "services", services_json(app->cfg), "warnings", warnings_json(app->db));
}

void api_system_info(struct http_req *r)
{
        api_reply_json(r, 200, system_info(app_of(r)));
}

/* GET / is a page: JSON only for a client that asks for it. */
void api_dashboard(struct http_req *r)
{
        api_system_info(r);
}
