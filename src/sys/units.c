#include "sys/units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "sys/accounts.h"
#include "sys/autarch.h"
#include "sys/exec.h"
#include "sys/helpcall.h"
#include "sys/sitemsg.h"
#include "sys/systemd_dl.h"

#define SYSTEMD_DEST  "org.freedesktop.systemd1"
#define SYSTEMD_PATH  "/org/freedesktop/systemd1"
#define IFACE_MANAGER "org.freedesktop.systemd1.Manager"
#define IFACE_UNIT    "org.freedesktop.systemd1.Unit"
#define IFACE_SERVICE "org.freedesktop.systemd1.Service"
#define IFACE_PROPS   "org.freedesktop.DBus.Properties"

#define CONNECT_TIMEOUT_MS 2000
/* daemon-reload re-reads every unit file: slow on a busy machine. */
#define RELOAD_TIMEOUT_US (90ULL * 1000 * 1000)
#define CALL_TIMEOUT_US   (25ULL * 1000 * 1000)
#define DEFAULT_WAIT_MS   90000u
#define UNIT_TEXT_MAX     (64 * 1024)

/* ---- rendering ---- */

/* systemd.syntax: inside double quotes C escapes are undone; '%' starts a
 * specifier everywhere and '$' a variable in ExecStart. Control characters
 * have no business in a unit and are refused. */
static int put_quoted(struct strbuf *b, const char *s, bool exec_arg)
{
        int r = strbuf_puts(b, "\"");
        for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return -EINVAL;
                if (*p == '\\' || *p == '"')
                        r = strbuf_printf(b, "\\%c", *p);
                else if (*p == '%')
                        r = strbuf_puts(b, "%%");
                else if (*p == '$' && exec_arg)
                        r = strbuf_puts(b, "$$");
                else
                        r = strbuf_append(b, p, 1);
        }
        return r ? r : strbuf_puts(b, "\"");
}

char *unit_quote(const char *s, bool exec_arg)
{
        if (!s)
                return NULL;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(0);
        if (put_quoted(&b, s, exec_arg) < 0)
                return NULL;
        return strbuf_steal(&b);
}

static int put_quoted_join(struct strbuf *b, const char *dir, const char *rel, bool exec_arg)
{
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        int r = strbuf_printf(&p, "%s/%s", dir, rel);
        return r ? r : put_quoted(b, p.data, exec_arg);
}

/* WorkingDirectory= and Description= are not unquoted by systemd, so the
 * value must need nothing but '%' doubling. */
static int put_plain(struct strbuf *b, const char *s)
{
        int r = 0;
        for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p; p++)
                r = *p == '%' ? strbuf_puts(b, "%%") : strbuf_append(b, p, 1);
        return r;
}

/* app_root goes unquoted into WorkingDirectory=: only tame characters. */
static bool tame_path(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' || *p == '\\' || *p == ';')
                        return false;
        return true;
}

static bool renderable(const struct site *s, const struct config *cfg, const char *user)
{
        if (!s || !cfg || !user)
                return false;
        if (s->app_type != APP_PYTHON && s->app_type != APP_NODE && s->app_type != APP_AUTARCH)
                return false;
        if (!valid_domain(s->domain) || !valid_username(user))
                return false;
        if (!s->app_root || !valid_path_inside(s->app_root, cfg->nginx.webroot) ||
            !tame_path(s->app_root))
                return false;
        if (s->app_port < 1024 || s->app_port > 65535)
                return false;
        if (s->app_type != APP_AUTARCH &&
            (str_empty(s->app_entry) || !valid_relative_path(s->app_entry)))
                return false;
        return true;
}

char *unit_render_app(const struct site *s, const struct config *cfg, const char *user)
{
        if (!renderable(s, cfg, user))
                return NULL;

        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(UNIT_TEXT_MAX);
        const char *root = s->app_root;
        bool python = s->app_type != APP_NODE;
        int r = strbuf_puts(&b, "[Unit]\nDescription=");
        if (!r)
                r = put_plain(&b, s->domain);
        if (!r)
                r = strbuf_printf(&b,
                                  " (%s)\nAfter=network.target\n\n"
                                  "[Service]\nType=simple\nUser=%s\nGroup=%s\nWorkingDirectory=",
                                  app_type_name(s->app_type), user, user);
        if (!r)
                r = put_plain(&b, root);
        if (!r)
                r = strbuf_printf(&b, "\nEnvironment=\"PORT=%d\"\n", s->app_port);
        if (!r && python)
                r = strbuf_puts(&b, "Environment=\"PYTHONUNBUFFERED=1\"\n");
        if (!r)
                r = strbuf_puts(&b, "ExecStart=");
        switch (s->app_type) {
        case APP_PYTHON:
                if (!r)
                        r = put_quoted_join(&b, root, "venv/bin/python3", true);
                if (!r)
                        r = strbuf_puts(&b, " ");
                if (!r)
                        r = put_quoted_join(&b, root, s->app_entry, true);
                break;
        case APP_NODE:
                if (!r)
                        r = strbuf_puts(&b, "/usr/bin/node ");
                if (!r)
                        r = put_quoted_join(&b, root, s->app_entry, true);
                break;
        case APP_AUTARCH:
                if (!r)
                        r = put_quoted_join(&b, root, "venv/bin/python3", true);
                if (!r)
                        r = strbuf_puts(&b, " ");
                if (!r)
                        r = put_quoted_join(&b, root, "autarch_web.py", true);
                break;
        case APP_STATIC:
                return NULL;
        }
        if (!r)
                r = strbuf_puts(&b, "\nRestart=on-failure\nRestartSec=2\n"
                                    "NoNewPrivileges=yes\nProtectSystem=strict\nReadWritePaths=");
        if (!r)
                r = put_quoted(&b, root, false);
        if (!r)
                r = strbuf_puts(&b, "\nProtectHome=yes\nPrivateTmp=yes\nPrivateDevices=yes\n"
                                    "ProtectKernelTunables=yes\nProtectKernelModules=yes\n"
                                    "ProtectControlGroups=yes\nRestrictSUIDSGID=yes\n"
                                    "LockPersonality=yes\n\n"
                                    "[Install]\nWantedBy=multi-user.target\n");
        if (r)
                return NULL;
        return strbuf_steal(&b);
}

/* The AUTARCH units (reference-behaviour §6.2), rendered with the same
 * quoting and hardening as app units, running as the autarch user.
 * Type=exec: a start whose program cannot be executed (no DNS binary yet)
 * fails the start job itself instead of looking active for a moment. */
static int put_hardening(struct strbuf *b, const char *dir)
{
        int r = strbuf_puts(b, "Restart=on-failure\nRestartSec=2\n"
                               "NoNewPrivileges=yes\nProtectSystem=strict\nReadWritePaths=");
        if (!r)
                r = put_quoted(b, dir, false);
        if (!r)
                r = strbuf_puts(b, "\nProtectHome=yes\nPrivateTmp=yes\n"
                                   "ProtectKernelTunables=yes\nProtectKernelModules=yes\n"
                                   "ProtectControlGroups=yes\nRestrictSUIDSGID=yes\n"
                                   "LockPersonality=yes\n\n"
                                   "[Install]\nWantedBy=multi-user.target\n");
        return r;
}

char *unit_render_autarch(enum autarch_unit which, const char *dir, const char *user, int web_port)
{
        if (!dir || dir[0] != '/' || !tame_path(dir) || !valid_username(user) || web_port < 1 ||
            web_port > 65535)
                return NULL;
        bool web = which == AUTARCH_UNIT_WEB;
        _cleanup_strbuf_ struct strbuf b = STRBUF_INIT(UNIT_TEXT_MAX);
        int r = strbuf_printf(&b,
                              "[Unit]\nDescription=%s\nAfter=network.target\n\n"
                              "[Service]\nType=exec\nUser=%s\nGroup=%s\nWorkingDirectory=",
                              web ? "AUTARCH Web Dashboard" : "AUTARCH DNS Server", user, user);
        if (!r)
                r = put_plain(&b, dir);
        if (!r && web)
                r = strbuf_printf(&b,
                                  "\nEnvironment=\"PYTHONUNBUFFERED=1\"\n"
                                  "Environment=\"PORT=%d\"\nExecStart=",
                                  web_port);
        else if (!r)
                r = strbuf_puts(&b, "\nExecStart=");
        if (!r)
                r = web ? put_quoted_join(&b, dir, "venv/bin/python3", true)
                        : put_quoted_join(&b, dir, "services/dns-server/autarch-dns", true);
        if (!r)
                r = strbuf_puts(&b, web ? " " : " --config ");
        if (!r)
                r = web ? put_quoted_join(&b, dir, "autarch_web.py", true)
                        : put_quoted_join(&b, dir, "data/dns/config.json", true);
        /* raw sockets for the web tools; port 53 for DNS, as an unprivileged user */
        if (!r)
                r = strbuf_puts(&b,
                                web ? "\nAmbientCapabilities=CAP_NET_RAW\n"
                                      "CapabilityBoundingSet=CAP_NET_RAW\n"
                                    : "\nAmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW\n"
                                      "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW\n");
        if (!r)
                r = put_hardening(&b, dir);
        if (r)
                return NULL;
        return strbuf_steal(&b);
}

/* ---- sd-bus plumbing ---- */

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
        if (!err || errlen == 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

static int get_bus(sd_bus **bus, char *err, size_t errlen)
{
        int r = services_bus(CONNECT_TIMEOUT_MS, (struct sd_bus **)bus);
        if (r < 0) {
                seterr(err, errlen, "no system bus reachable (%s): is systemd running?",
                       strerror(-r));
                return -EHOSTDOWN;
        }
        return 0;
}

/* Errors after which the cached connection is not worth keeping. */
static void maybe_drop(int r, const sd_bus_error *e)
{
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_DISCONNECTED) || r == -ETIMEDOUT ||
            r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ECHILD)
                services_bus_drop();
}

static int bus_err(int r, const sd_bus_error *e, const char *what, char *err, size_t errlen)
{
        if (e && sd_bus_error_is_set(e))
                seterr(err, errlen, "%s: %s", what, e->message ? e->message : e->name);
        else
                seterr(err, errlen, "%s: %s", what, strerror(-r));
        maybe_drop(r, e);
        return r < 0 ? r : -EIO;
}

static int manager_callv(sd_bus *bus, const char *method, uint64_t timeout_us, sd_bus_error *e,
                         sd_bus_message **reply, const char *types, va_list ap)
{
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, IFACE_MANAGER,
                                               method);
        if (r >= 0 && types)
                r = sd_bus_message_appendv(m, types, ap);
        if (r >= 0)
                r = sd_bus_call(bus, m, timeout_us, e, reply);
        sd_bus_message_unref(m);
        return r;
}

static int manager_call(sd_bus *bus, const char *method, uint64_t timeout_us, sd_bus_error *e,
                        sd_bus_message **reply, const char *types, ...)
{
        va_list ap;
        va_start(ap, types);
        int r = manager_callv(bus, method, timeout_us, e, reply, types, ap);
        va_end(ap);
        return r;
}

static int daemon_reload(sd_bus *bus, char *err, size_t errlen)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = manager_call(bus, "Reload", RELOAD_TIMEOUT_US, &e, NULL, NULL);
        if (r < 0)
                r = bus_err(r, &e, "daemon-reload", err, errlen);
        sd_bus_error_free(&e);
        return r < 0 ? r : 0;
}

static int unit_files_call(sd_bus *bus, const char *name, bool enable, char *err, size_t errlen)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, IFACE_MANAGER,
                                               enable ? "EnableUnitFiles" : "DisableUnitFiles");
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 1, name);
        /* runtime=false; force=true replaces stale symlinks of a renamed site */
        if (r >= 0)
                r = enable ? sd_bus_message_append(m, "bb", 0, 1)
                           : sd_bus_message_append(m, "b", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, CALL_TIMEOUT_US, &e, NULL);
        sd_bus_message_unref(m);
        if (r < 0)
                r = bus_err(r, &e, enable ? "enable" : "disable", err, errlen);
        sd_bus_error_free(&e);
        return r < 0 ? r : 0;
}

static int unit_object_path(const char *name, char **out)
{
        return sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, out);
}

static int get_str_prop(sd_bus *bus, const char *name, const char *iface, const char *prop,
                        char *out, size_t outlen)
{
        _cleanup_free_ char *path = NULL;
        int r = unit_object_path(name, &path);
        if (r < 0)
                return r;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *v = NULL;
        r = sd_bus_get_property_string(bus, SYSTEMD_DEST, path, iface, prop, &e, &v);
        if (r >= 0)
                snprintf(out, outlen, "%s", v);
        else
                maybe_drop(r, &e);
        free(v);
        sd_bus_error_free(&e);
        return r < 0 ? r : 0;
}

struct job_wait {
        const char *job; /* the path we wait for */
        bool done;
        char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        (void)ret_error;
        struct job_wait *w = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->job && streq(path, w->job)) {
                w->done = true;
                snprintf(w->result, sizeof(w->result), "%s", result);
        }
        return 0;
}

static int wait_job(sd_bus *bus, struct job_wait *w, uint64_t deadline)
{
        while (!w->done) {
                int r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                uint64_t now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR)
                        return r;
        }
        return 0;
}

static const char *op_verb(enum unit_op op)
{
        switch (op) {
        case UNIT_START:
                return "start";
        case UNIT_STOP:
                return "stop";
        case UNIT_RESTART:
                return "restart";
        case UNIT_RELOAD:
                return "reload";
        case UNIT_ENABLE:
                return "enable";
        case UNIT_DISABLE:
                return "disable";
        }
        return "?";
}

static const char *op_method(enum unit_op op)
{
        switch (op) {
        case UNIT_START:
                return "StartUnit";
        case UNIT_STOP:
                return "StopUnit";
        case UNIT_RESTART:
                return "RestartUnit";
        case UNIT_RELOAD:
                return "ReloadUnit";
        default:
                return NULL;
        }
}

static bool transitional(const char *state)
{
        return streq(state, "activating") || streq(state, "deactivating") ||
               streq(state, "reloading");
}

/* Queue the job and wait for JobRemoved. The match is added before the call
 * so the signal cannot slip by; sd_bus_call only queues it, and it is
 * dispatched in wait_job once the job path is known. */
static int run_job(sd_bus *bus, const char *name, enum unit_op op, uint64_t deadline, char *err,
                   size_t errlen)
{
        struct job_wait w = {0};
        sd_bus_slot *slot = NULL;
        int r = sd_bus_match_signal(bus, &slot, SYSTEMD_DEST, SYSTEMD_PATH, IFACE_MANAGER,
                                    "JobRemoved", on_job_removed, &w);
        if (r < 0)
                return bus_err(r, NULL, "subscribing to job signals", err, errlen);

        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *job = NULL;
        r = manager_call(bus, op_method(op), CALL_TIMEOUT_US, &e, &reply, "ss", name, "replace");
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &job);
        _cleanup_free_ char *jobpath = r >= 0 ? strdup(job) : NULL;
        if (r >= 0 && !jobpath)
                r = -ENOMEM;
        sd_bus_message_unref(reply);
        if (r < 0) {
                char what[300];
                snprintf(what, sizeof(what), "%s %s", op_verb(op), name);
                r = bus_err(r, &e, what, err, errlen);
                sd_bus_error_free(&e);
                sd_bus_slot_unref(slot);
                return r;
        }
        w.job = jobpath;
        r = wait_job(bus, &w, deadline);
        sd_bus_slot_unref(slot);
        if (r == -ETIMEDOUT) {
                seterr(err, errlen, "%s %s: timed out waiting for the job", op_verb(op), name);
                return r;
        }
        if (r < 0)
                return bus_err(r, NULL, "waiting for the job", err, errlen);
        if (!streq(w.result, "done")) {
                char active[24] = "", result[32] = "";
                get_str_prop(bus, name, IFACE_UNIT, "ActiveState", active, sizeof(active));
                get_str_prop(bus, name, IFACE_SERVICE, "Result", result, sizeof(result));
                seterr(err, errlen, "%s %s: job %s (unit %s, result %s)", op_verb(op), name,
                       w.result, active[0] ? active : "unknown", result[0] ? result : "unknown");
                return -EIO;
        }
        return 0;
}

/* After a start the unit may still be activating (or already failed): wait
 * for a settled state. */
static int settle(sd_bus *bus, const char *name, enum unit_op op, uint64_t deadline, char *err,
                  size_t errlen)
{
        char active[24] = "";
        for (;;) {
                int r = get_str_prop(bus, name, IFACE_UNIT, "ActiveState", active, sizeof(active));
                if (r < 0)
                        return bus_err(r, NULL, "reading ActiveState", err, errlen);
                if (!transitional(active))
                        break;
                if (now_usec() >= deadline) {
                        seterr(err, errlen, "%s %s: still %s", op_verb(op), name, active);
                        return -ETIMEDOUT;
                }
                struct timespec ts = {0, 50 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        bool want_active = op != UNIT_STOP;
        if (want_active && !streq(active, "active")) {
                char result[32] = "";
                get_str_prop(bus, name, IFACE_SERVICE, "Result", result, sizeof(result));
                seterr(err, errlen, "%s %s: unit is %s (result %s)", op_verb(op), name, active,
                       result[0] ? result : "unknown");
                return -EIO;
        }
        return 0;
}

/* ---- the units the panel manages ---- */

bool units_is_site_unit(const char *name)
{
        static const char pre[] = "app-", suf[] = ".service";
        size_t n = name ? strlen(name) : 0, lp = sizeof(pre) - 1, ls = sizeof(suf) - 1;
        if (n <= lp + ls || n > 300 || strncmp(name, pre, lp) != 0 ||
            strcmp(name + n - ls, suf) != 0)
                return false;
        char domain[300];
        memcpy(domain, name + lp, n - lp - ls);
        domain[n - lp - ls] = '\0';
        /* site_unit_name of a validated site: its domain is lower case */
        for (const char *p = domain; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        return false;
        return valid_domain(domain);
}

bool units_monitored(const struct config *cfg, const char *name)
{
        if (!cfg || !name || !valid_unit_name(name))
                return false;
        for (size_t i = 0; i < cfg->monitor.services.n; i++)
                if (streq(name, cfg->monitor.services.items[i]))
                        return true;
        return false;
}

bool units_managed(const struct config *cfg, const char *name, bool control)
{
        if (!name || !valid_unit_name(name))
                return false;
        if (units_is_site_unit(name) || streq(name, AUTARCH_WEB_UNIT) ||
            streq(name, AUTARCH_DNS_UNIT))
                return true;
        return control && (streq(name, "nginx.service") || units_monitored(cfg, name));
}

int units_install_site(const struct config *cfg, const struct site *s)
{
        if (!s)
                return -EINVAL;
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_UNIT_INSTALL_SITE);
                hm_add_site(&hb, s);
                return helpcall_send(&hb, NULL, NULL, NULL, NULL);
        }
        char user[ACCOUNTS_SITE_NAME_MAX], unit[300];
        if (accounts_site_user_name(s->id, user) < 0)
                return -EINVAL;
        site_unit_name(s, unit, sizeof(unit));
        if (!units_is_site_unit(unit))
                return -EINVAL;
        _cleanup_free_ char *text = unit_render_app(s, cfg, user);
        if (!text)
                return -EINVAL;
        return unit_install(cfg, unit, text);
}

int units_install_autarch(const struct config *cfg, enum autarch_unit which, int web_port)
{
        if (which != AUTARCH_UNIT_WEB && which != AUTARCH_UNIT_DNS)
                return -EINVAL;
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_UNIT_INSTALL_AUTARCH);
                hm_add_int(&hb, which);
                hm_add_int(&hb, web_port);
                return helpcall_send(&hb, NULL, NULL, NULL, NULL);
        }
        if (!cfg || str_empty(cfg->autarch.install_dir))
                return -EINVAL;
        _cleanup_free_ char *text =
            unit_render_autarch(which, cfg->autarch.install_dir, AUTARCH_USER, web_port);
        if (!text)
                return -EINVAL;
        return unit_install(cfg, which == AUTARCH_UNIT_WEB ? AUTARCH_WEB_UNIT : AUTARCH_DNS_UNIT,
                            text);
}

int unit_control(const char *name, enum unit_op op, unsigned timeout_ms, char *err, size_t errlen)
{
        seterr(err, errlen, "%s", "");
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_UNIT_CONTROL);
                hm_add_str(&hb, name);
                hm_add_int(&hb, op);
                hm_add_int(&hb, timeout_ms);
                _cleanup_free_ char *msg = NULL;
                int r = helpcall_send(&hb, NULL, NULL, NULL, &msg);
                if (msg)
                        seterr(err, errlen, "%s", msg);
                return r;
        }
        if (!valid_unit_name(name)) {
                seterr(err, errlen, "invalid unit name");
                return -EINVAL;
        }
        uint64_t deadline =
            now_usec() + (uint64_t)(timeout_ms ? timeout_ms : DEFAULT_WAIT_MS) * 1000;
        sd_bus *bus = NULL;
        int r = get_bus(&bus, err, errlen);
        if (r < 0)
                return r;

        switch (op) {
        case UNIT_ENABLE:
        case UNIT_DISABLE:
                r = unit_files_call(bus, name, op == UNIT_ENABLE, err, errlen);
                return r < 0 ? r : daemon_reload(bus, err, errlen);
        case UNIT_START:
        case UNIT_STOP:
        case UNIT_RESTART:
        case UNIT_RELOAD:
                r = run_job(bus, name, op, deadline, err, errlen);
                return r < 0 ? r : settle(bus, name, op, deadline, err, errlen);
        }
        seterr(err, errlen, "unknown operation");
        return -EINVAL;
}

int unit_state(const char *name, struct unit_state *out)
{
        const char *units[] = {name};
        int r = services_query(units, 1, out);
        return r < 0 ? -EHOSTDOWN : 0;
}

static char *unit_path(const struct config *cfg, const char *name)
{
        if (!cfg || str_empty(cfg->systemd.unit_dir) || !valid_unit_name(name))
                return NULL;
        _cleanup_strbuf_ struct strbuf p = STRBUF_INIT(0);
        if (strbuf_printf(&p, "%s/%s", cfg->systemd.unit_dir, name) < 0)
                return NULL;
        return strbuf_steal(&p);
}

int unit_install(const struct config *cfg, const char *name, const char *text)
{
        if (!text || !valid_unit_name(name))
                return -EINVAL;
        /* the helper never takes a unit's text: units_install_site/_autarch */
        if (helpcall_active())
                return -EPERM;
        _cleanup_free_ char *path = unit_path(cfg, name);
        if (!path)
                return -EINVAL;
        _cleanup_free_ char *old = NULL;
        size_t oldlen = 0;
        int r = read_file(path, UNIT_TEXT_MAX * 4, &old, &oldlen);
        if (r < 0 && r != -ENOENT)
                return r;
        r = mkdir_p(cfg->systemd.unit_dir, 0755);
        if (r < 0)
                return r;
        r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return r;

        char err[512];
        sd_bus *bus = NULL;
        r = get_bus(&bus, err, sizeof(err));
        if (r >= 0)
                r = daemon_reload(bus, err, sizeof(err));
        if (r < 0) {
                log_warn("units: installing %s: %s", name, err);
                /* systemd never saw the new file: put the old state back */
                int r2 = old ? write_file_atomic(path, old, oldlen, 0644) : unlink(path);
                if (r2 < 0 && !old)
                        r2 = -errno;
                if (r2 < 0)
                        log_warn("units: restoring %s: %s", path, strerror(-r2));
                return r;
        }
        return 0;
}

int unit_remove(const struct config *cfg, const char *name)
{
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_UNIT_REMOVE);
                hm_add_str(&hb, name);
                return helpcall_send(&hb, NULL, NULL, NULL, NULL);
        }
        _cleanup_free_ char *path = unit_path(cfg, name);
        if (!path)
                return -EINVAL;
        char err[512] = "";
        sd_bus *bus = NULL;
        int busr = get_bus(&bus, err, sizeof(err));
        if (busr >= 0) {
                /* A unit that is not loaded has nothing to stop or disable. */
                if (run_job(bus, name, UNIT_STOP, now_usec() + DEFAULT_WAIT_MS * 1000ULL, err,
                            sizeof(err)) < 0)
                        log_debug("units: %s", err);
                if (unit_files_call(bus, name, false, err, sizeof(err)) < 0)
                        log_debug("units: %s", err);
        }
        int r = 0;
        if (unlink(path) < 0 && errno != ENOENT)
                r = -errno;
        if (busr < 0) {
                log_warn("units: removing %s: %s", name, err);
                return r < 0 ? r : busr;
        }
        /* Else a failed unit stays loaded after its file is gone. */
        sd_bus_error e = SD_BUS_ERROR_NULL;
        manager_call(bus, "ResetFailedUnit", CALL_TIMEOUT_US, &e, NULL, "s", name);
        sd_bus_error_free(&e);
        int rr = daemon_reload(bus, err, sizeof(err));
        if (rr < 0)
                log_warn("units: removing %s: %s", name, err);
        return r < 0 ? r : rr;
}

/* ---- the app user and file ownership ---- */

static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;

static int lookup_user(const char *user, uid_t *uid, gid_t *gid)
{
        struct passwd pw, *res = NULL;
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t bufsz = sz > 0 ? (size_t)sz : 16384;
        _cleanup_free_ char *buf = malloc(bufsz);
        if (!buf)
                return -ENOMEM;
        int r = getpwnam_r(user, &pw, buf, bufsz, &res);
        if (r != 0)
                return r > 0 ? -r : -EIO;
        if (!res)
                return -ENOENT;
        if (uid)
                *uid = pw.pw_uid;
        if (gid)
                *gid = pw.pw_gid;
        return 0;
}

int units_ensure_app_user(const char **name_out)
{
        if (name_out)
                *name_out = UNITS_APP_USER;
        pthread_mutex_lock(&user_lock);
        int r = lookup_user(UNITS_APP_USER, NULL, NULL);
        if (r == -ENOENT) {
                static const char *const argv[] = {
                    "useradd",      "--system", "--no-create-home",  "--home-dir",
                    "/nonexistent", "--shell",  "/usr/sbin/nologin", "--",
                    UNITS_APP_USER, NULL};
                struct exec_opts o = {.argv = argv, .timeout_ms = 30000, .max_output = 8192};
                struct exec_result res = {0};
                r = exec_run(&o, &res);
                if (r == 0 && res.status != 0 && res.status != 9 /* exists already */) {
                        log_warn("units: useradd %s failed (%d): %s", UNITS_APP_USER, res.status,
                                 res.output);
                        r = -EIO;
                }
                exec_result_free(&res);
                if (r == 0)
                        r = lookup_user(UNITS_APP_USER, NULL, NULL);
        }
        pthread_mutex_unlock(&user_lock);
        return r;
}

#define CHOWN_MAX_DEPTH 128

/* Walk by directory fds opened with O_NOFOLLOW: a path component swapped for
 * a symlink mid-walk (the app user owns the tree) cannot redirect us. */
static int chown_dir(int dfd, uid_t uid, gid_t gid, int depth)
{
        if (depth > CHOWN_MAX_DEPTH)
                return -ELOOP;
        int fd2 = dup(dfd);
        if (fd2 < 0)
                return -errno;
        DIR *d = fdopendir(fd2);
        if (!d) {
                int e = errno;
                close(fd2);
                return -e;
        }
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fchownat(dfd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = -errno;
                        break;
                }
                bool isdir = de->d_type == DT_DIR;
                if (de->d_type == DT_UNKNOWN) {
                        struct stat st;
                        isdir = fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                                S_ISDIR(st.st_mode);
                }
                if (!isdir)
                        continue;
                int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = -errno;
                        break;
                }
                r = chown_dir(sub, uid, gid, depth + 1);
                close(sub);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

int units_chown_tree(const char *dir, const char *user)
{
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_TREE_CHOWN);
                hm_add_str(&hb, dir);
                hm_add_str(&hb, user);
                return helpcall_send(&hb, NULL, NULL, NULL, NULL);
        }
        if (str_empty(dir) || dir[0] != '/' || !valid_username(user))
                return -EINVAL;
        /* (uid_t)-1 leaves an id unchanged: the safe value should a path below
         * ever use it without a successful lookup */
        uid_t uid = (uid_t)-1;
        gid_t gid = (gid_t)-1;
        int r = lookup_user(user, &uid, &gid);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchown(fd, uid, gid) < 0)
                return -errno;
        return chown_dir(fd, uid, gid, 0);
}
