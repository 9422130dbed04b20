/* GET /api/audit (admin): the audit trail, newest first, filtered by user,
 * action and time range, searched (q), sorted and paged in SQL (the table
 * grows without bound): always answered with X-Total-Count. GET /audit is
 * its page. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "api/app.h"
#include "api/json.h"
#include "api/listq.h"
#include "api/module.h"
#include "base/timeutil.h"
#include "base/util.h"
#include "db/audit.h"

/* "<kind>:<id or name>" from the request line the row recorded
 * ("POST /api/sites/3/deploy" -> "sites:3"), or the user for logins. */
static json_t *target_of(const struct audit_row *a)
{
        const char *sp = strchr(a->action, ' ');
        if (!sp || sp[1] != '/') {
                if (strncmp(a->action, "login", 5) == 0 && *a->username) {
                        char t[96];
                        snprintf(t, sizeof(t), "user:%s", a->username);
                        return json_string(t);
                }
                return json_null();
        }
        char path[512];
        snprintf(path, sizeof(path), "%s", sp + 1);
        char *segs[4] = {0}, *save = NULL;
        int n = 0;
        for (char *s = strtok_r(path, "/", &save); s && n < 4; s = strtok_r(NULL, "/", &save)) {
                if (n == 0 && (streq(s, "api") || streq(s, "panel")))
                        continue;
                segs[n++] = s;
        }
        if (n == 0)
                return json_null();
        char t[300];
        if (n >= 2)
                snprintf(t, sizeof(t), "%s:%s", segs[0], segs[1]);
        else
                snprintf(t, sizeof(t), "%s", segs[0]);
        return json_string(t);
}

static bool time_param(struct http_req *r, const char *name, char out[TIME_RFC3339_LEN])
{
        const char *v = http_query(r, name);
        *out = '\0';
        if (!v || !*v)
                return true;
        time_t t;
        if (time_parse(v, &t) < 0) {
                http_reply_errorf(r, 400, "%s must be an RFC 3339 time", name);
                return false;
        }
        time_format_rfc3339(t, out);
        return true;
}

static void list_audit(struct http_req *r)
{
        static const char *const keys[] = {"id",        "user",       "action", "target",
                                           "client_ip", "created_at", NULL};
        struct list_query lq;
        if (!list_query_parse(r, keys, &lq))
                return;
        char since[TIME_RFC3339_LEN], until[TIME_RFC3339_LEN];
        if (!time_param(r, "since", since) || !time_param(r, "until", until))
                return;
        const char *user = http_query(r, "user"), *action = http_query(r, "action");
        if ((user && strlen(user) > 64) || (action && strlen(action) > 200)) {
                http_reply_error(r, 400,
                                 user && strlen(user) > 64 ? "user: too long" : "action: too long");
                return;
        }
        struct audit_filter f = {
            .user = user,
            .action = action,
            .q = lq.q,
            .since = *since ? since : NULL,
            .until = *until ? until : NULL,
            .sort = lq.sort,
            /* newest first unless asked otherwise */
            .asc = http_query(r, "order") && !lq.desc,
            .limit = lq.per_page,
            .offset = (lq.page - 1) * lq.per_page,
        };
        struct audit_row *rows = NULL;
        size_t n = 0;
        long long total = 0;
        int rc = audit_list(app_of(r)->db, &f, &rows, &n, &total);
        if (rc < 0) {
                api_reply_errno(r, rc, "could not read the audit log");
                return;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    arr, json_pack("{s:I,s:s,s:s,s:o,s:s?,s:s,s:s}", "id", (json_int_t)rows[i].id,
                                   "user", rows[i].username, "action", rows[i].action, "target",
                                   target_of(&rows[i]), "client_ip", rows[i].ip, "detail",
                                   rows[i].detail, "created_at", rows[i].created_at));
        audit_list_free(rows, n);
        list_set_total(r, total);
        api_reply_json(r, 200, arr);
}

static const struct route audit_routes[] = {
    {"GET", "/api/audit", list_audit, ROUTE_ADMIN, 0, NULL},
    {"GET", "/audit", list_audit, ROUTE_ADMIN, ROUTE_PAGE, "/app.html"},
};

const struct api_module audit_module = {"audit", audit_routes, ARRAY_SIZE(audit_routes), NULL,
                                        NULL};
