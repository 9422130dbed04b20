/* Logs: GET /logs (page), /api/logs/system, /api/logs/nginx and the live
 * tail /api/logs/stream (SSE over sd-journal, no journalctl child, no thread
 * per stream). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/app.h"
#include "api/journal_sse.h"
#include "api/json.h"
#include "api/module.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "base/validate.h"
#include "http/sse.h"
#include "sys/journal.h"
#include "sys/logtail.h"

#define LINES_DEFAULT  100
#define LINES_MAX      10000
#define NGINX_LINES    200
#define NGINX_READ_MAX (4u << 20)  /* bytes of the file looked at */
#define TEXT_MAX       (32u << 20) /* a reply's "logs" text */
#define DEFAULT_UNIT   "autarch-web"

/* ?lines=: absent -> default; otherwise 1-10000 or 400 naming it. */
static bool lines_param(struct http_req *r, long long *n)
{
        const char *s = http_query(r, "lines");
        *n = LINES_DEFAULT;
        if (!s)
                return true;
        if (parse_int64(s, 1, LINES_MAX, n) < 0) {
                http_reply_error(r, 400, "lines must be an integer from 1 to 10000");
                return false;
        }
        return true;
}

static void reply_logs(struct http_req *r, struct strbuf *text, const char *type)
{
        json_t *j = json_pack("{s:s%}", "logs", text->data ? text->data : "", text->len);
        if (j && type)
                json_object_set_new(j, "type", json_string(type));
        if (!j) {
                http_reply_error(r, 500, "could not encode the logs");
                return;
        }
        api_reply_json(r, 200, j);
}

/* ?unit=&q=&priority=&since=&until= of the system log (issue 15). */
static bool filter_params(struct http_req *r, struct journal_filter *f)
{
        static const char *const prios[] = {"emerg",   "alert",  "crit", "err",
                                            "warning", "notice", "info", "debug"};
        const char *unit = http_query(r, "unit"), *q = http_query(r, "q"),
                   *prio = http_query(r, "priority");
        if (unit && *unit) {
                if (!valid_unit_name(unit)) {
                        http_reply_error(r, 400, "unit must be a valid systemd unit name");
                        return false;
                }
                f->unit = unit;
        }
        if (q && strlen(q) > 200) {
                http_reply_error(r, 400, "q: at most 200 characters");
                return false;
        }
        f->text = q && *q ? q : NULL;
        if (prio && *prio) {
                long long p = -1;
                for (int i = 0; i < 8; i++)
                        if (streq(prio, prios[i]))
                                p = i;
                if (p < 0 && parse_int64(prio, 0, 7, &p) < 0) {
                        http_reply_error(r, 400,
                                         "priority must be 0-7 or emerg, alert, crit, err, "
                                         "warning, notice, info, debug");
                        return false;
                }
                f->max_priority = (int)p;
        }
        static const char *const names[] = {"since", "until"};
        uint64_t *slots[] = {&f->since_usec, &f->until_usec};
        for (int i = 0; i < 2; i++) {
                const char *v = http_query(r, names[i]);
                if (!v || !*v)
                        continue;
                time_t t;
                if (time_parse(v, &t) < 0 || t < 0) {
                        http_reply_errorf(r, 400, "%s must be an RFC 3339 time", names[i]);
                        return false;
                }
                *slots[i] = (uint64_t)t * 1000000u + (i == 1 ? 999999u : 0);
        }
        return true;
}

static void system_logs(struct http_req *r)
{
        long long n;
        if (!lines_param(r, &n))
                return;
        struct journal_filter f = {.max_priority = -1};
        if (!filter_params(r, &f))
                return;
        bool all = true;
        _cleanup_strbuf_ struct strbuf text = STRBUF_INIT(TEXT_MAX);
        int rc = journal_search(&f, (size_t)n, &text, &all);
        if (rc < 0) {
                log_warn("logs: reading the journal: %s", strerror(-rc));
                http_reply_errorf(r, 500, "cannot read the system journal: %s", strerror(-rc));
                return;
        }
        reply_logs(r, &text, NULL);
        /* a search that stopped early says so */
        if (r->status == 200 && !all)
                http_add_header(r, "X-Search-Incomplete", "1");
}

/* GET /logs asked for JSON: the system log. */
static void logs_page(struct http_req *r)
{
        system_logs(r);
}

/* A missing log file (nginx not installed, logs not written yet) is not an
 * error of the panel: 200 with empty logs. */
static void nginx_logs(struct http_req *r)
{
        const char *type = http_query(r, "type");
        if (!type)
                type = "access";
        const struct config *cfg = app_of(r)->cfg;
        const char *path;
        if (streq(type, "access"))
                path = cfg->nginx.access_log;
        else if (streq(type, "error"))
                path = cfg->nginx.error_log;
        else {
                http_reply_error(r, 400, "type must be access or error");
                return;
        }
        _cleanup_strbuf_ struct strbuf text = STRBUF_INIT(TEXT_MAX);
        int rc = str_empty(path) ? -ENOENT
                                 : logtail_read(path, NGINX_LINES, NGINX_READ_MAX, &text, NULL);
        if (rc == -ENOENT) {
                strbuf_reset(&text);
                rc = 0;
        }
        if (rc < 0) {
                log_warn("logs: reading %s: %s", path, strerror(-rc));
                http_reply_errorf(r, 500, "cannot read the nginx %s log: %s", type, strerror(-rc));
                return;
        }
        reply_logs(r, &text, type);
}

/* ---- live tail ---- */

static void logs_stream(struct http_req *r)
{
        const char *unit = http_query(r, "unit");
        if (!unit)
                unit = DEFAULT_UNIT;
        if (!valid_unit_name(unit)) {
                http_reply_error(r, 400, "unit must be a valid systemd unit name");
                return;
        }
        api_journal_sse(r, unit, 0);
}

static const struct route logs_routes[] = {
    {"GET", "/logs", logs_page, ROUTE_USER, ROUTE_PAGE | ROUTE_WORKER, "/app.html"},
    {"GET", "/api/logs/system", system_logs, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/logs/nginx", nginx_logs, ROUTE_USER, ROUTE_WORKER, NULL},
    {"GET", "/api/logs/stream", logs_stream, ROUTE_USER, ROUTE_WORKER, NULL},
};

const struct api_module logs_module = {"logs", logs_routes, ARRAY_SIZE(logs_routes), NULL, NULL};
