#include "sys/services.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"
#include "sys/systemd_dl.h"

#define SYSTEMD_DEST    "org.freedesktop.systemd1"
#define SYSTEMD_PATH    "/org/freedesktop/systemd1"
#define IFACE_MANAGER   "org.freedesktop.systemd1.Manager"
#define IFACE_UNIT      "org.freedesktop.systemd1.Unit"
#define IFACE_SERVICE   "org.freedesktop.systemd1.Service"
#define IFACE_PROPS     "org.freedesktop.DBus.Properties"
#define CALL_TIMEOUT_US (500ULL * 1000)
/* Whole query budget: callers sit in an HTTP handler, so stay under a second. */
#define TOTAL_BUDGET_US (900ULL * 1000)
#define UNIT_NAME_MAX   256

/* One connection per thread: sd_bus objects are not thread-safe, and reusing
 * it saves a connect + auth handshake on every dashboard refresh. */
struct bus_cache {
        sd_bus *bus;
        char *address; /* $SETEC_SYSTEM_BUS at open time, NULL for the default bus */
};

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* Never flush: sd_bus_flush() waits for an unfinished handshake without a
 * time limit, and we have no unsent output worth keeping. */
static void cache_drop(struct bus_cache *c)
{
        if (!c)
                return;
        if (c->bus) /* else libsystemd may not even be loaded */
                c->bus = sd_bus_close_unref(c->bus);
        free(c->address);
        c->address = NULL;
}

static void cache_destroy(void *p)
{
        struct bus_cache *c = p;
        cache_drop(c);
        free(c);
}

static void cache_key_init(void)
{
        if (pthread_key_create(&cache_key, cache_destroy) != 0)
                log_error("services: pthread_key_create failed");
}

static struct bus_cache *cache_get(void)
{
        pthread_once(&cache_once, cache_key_init);
        struct bus_cache *c = pthread_getspecific(cache_key);
        if (c)
                return c;
        c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        if (pthread_setspecific(cache_key, c) != 0) {
                free(c);
                return NULL;
        }
        return c;
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

/* sd_bus_call() waits for the auth handshake with no time limit (sd-bus
 * only gives up after its own 90 s auth timeout), so a peer that accepts but
 * never answers would hang us. Drive the handshake ourselves against the
 * deadline. */
static int bus_wait_ready(sd_bus *bus, uint64_t deadline)
{
        for (;;) {
                int r = sd_bus_is_ready(bus);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
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
}

static int bus_open(const char *address, uint64_t deadline, sd_bus **ret)
{
        sd_bus *bus = NULL;
        int r;

        if (address) {
                r = sd_bus_new(&bus);
                if (r < 0)
                        return r;
                r = sd_bus_set_address(bus, address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, 1);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else {
                r = sd_bus_open_system(&bus);
        }
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_US);
        if (r >= 0)
                r = bus_wait_ready(bus, deadline);
        if (r < 0) {
                sd_bus_close_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

/* The cached connection when it is still usable for the current address,
 * else a fresh one. */
static int bus_acquire(struct bus_cache *c, uint64_t deadline, sd_bus **ret)
{
        /* without libsystemd there is no bus to talk to, as with no bus at all */
        if (!systemd_fns())
                return -ELIBACC;
        const char *address = getenv("SETEC_SYSTEM_BUS");
        if (str_empty(address))
                address = NULL;

        if (c->bus) {
                bool same = address ? streq(address, c->address) : c->address == NULL;
                if (same && sd_bus_is_open(c->bus) > 0) {
                        *ret = c->bus;
                        return 0;
                }
                cache_drop(c);
        }

        sd_bus *bus = NULL;
        int r = bus_open(address, deadline, &bus);
        if (r < 0)
                return r;
        if (address) {
                c->address = strdup(address);
                if (!c->address) {
                        sd_bus_close_unref(bus);
                        return -ENOMEM;
                }
        }
        c->bus = bus;
        *ret = bus;
        return 0;
}

static void state_set(struct unit_state *s, const char *active, const char *sub)
{
        snprintf(s->active, sizeof(s->active), "%s", active ? active : "");
        snprintf(s->sub, sizeof(s->sub), "%s", sub ? sub : "");
        s->memory = UINT64_MAX;
        s->running = streq(s->active, "active");
}

static bool has_unit_suffix(const char *name)
{
        static const char *const suffixes[] = {
            ".service", ".socket", ".target", ".timer",  ".mount", ".automount",
            ".path",    ".slice",  ".scope",  ".device", ".swap",
        };
        const char *dot = strrchr(name, '.');
        if (!dot)
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
                if (streq(dot, suffixes[i]))
                        return true;
        return false;
}

/* Errors that mean "nobody answered", as opposed to systemd refusing the
 * unit name: the former make every state unknown, the latter "inactive". */
static bool is_transport_error(int r, const sd_bus_error *e)
{
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_DISCONNECTED) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                return true;
        switch (-r) {
        case ETIMEDOUT:
        case ECONNRESET:
        case ENOTCONN:
        case ECONNREFUSED:
        case EPIPE:
        case ECHILD: /* connection inherited across fork: sd-bus refuses it */
        case ENOMEM:
                return true;
        default:
                return false;
        }
}

static int call_with_budget(sd_bus *bus, sd_bus_message *m, uint64_t deadline, sd_bus_error *err,
                            sd_bus_message **reply)
{
        uint64_t now = now_usec();
        if (now >= deadline)
                return -ETIMEDOUT;
        uint64_t timeout = deadline - now;
        if (timeout > CALL_TIMEOUT_US)
                timeout = CALL_TIMEOUT_US;
        return sd_bus_call(bus, m, timeout, err, reply);
}

static int get_property(sd_bus *bus, const char *path, const char *iface, const char *prop,
                        uint64_t deadline, sd_bus_error *err, sd_bus_message **reply)
{
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, path, IFACE_PROPS, "Get");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", iface, prop);
        if (r >= 0)
                r = call_with_budget(bus, m, deadline, err, reply);
        sd_bus_message_unref(m);
        return r;
}

static int get_string_property(sd_bus *bus, const char *path, const char *prop, uint64_t deadline,
                               char *out, size_t outlen)
{
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *s = NULL;
        int r = get_property(bus, path, IFACE_UNIT, prop, deadline, &err, &reply);
        if (r < 0 && !is_transport_error(r, &err))
                r = -ENODATA;
        if (r >= 0 && sd_bus_message_read(reply, "v", "s", &s) < 0)
                r = -ENODATA;
        if (r >= 0)
                snprintf(out, outlen, "%s", s);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&err);
        return r;
}

/* Returns a transport error (<0) only when the bus stopped answering. */
static int query_one(sd_bus *bus, const char *unit, uint64_t deadline, struct unit_state *out)
{
        char name[UNIT_NAME_MAX + sizeof(".service")];
        int n = snprintf(name, sizeof(name), "%s%s", unit ? unit : "",
                         unit && has_unit_suffix(unit) ? "" : ".service");
        if (!unit || !*unit || n < 0 || (size_t)n >= sizeof(name)) {
                state_set(out, "inactive", "");
                return 0;
        }

        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        const char *path_ro = NULL;
        int r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, IFACE_MANAGER,
                                               "LoadUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = call_with_budget(bus, m, deadline, &err, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path_ro);
        _cleanup_free_ char *path = r >= 0 ? strdup(path_ro) : NULL;
        if (r >= 0 && !path)
                r = -ENOMEM;
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        if (r < 0) {
                bool transport = is_transport_error(r, &err);
                sd_bus_error_free(&err);
                if (transport)
                        return r;
                /* systemd refused the name (invalid, masked...): not running. */
                state_set(out, "inactive", "");
                return 0;
        }

        char active[sizeof(out->active)] = "", sub[sizeof(out->sub)] = "";
        r = get_string_property(bus, path, "ActiveState", deadline, active, sizeof(active));
        if (r < 0 && r != -ENODATA)
                return r;
        if (r == -ENODATA)
                snprintf(active, sizeof(active), "unknown");
        r = get_string_property(bus, path, "SubState", deadline, sub, sizeof(sub));
        if (r < 0 && r != -ENODATA)
                return r;
        state_set(out, active, sub);

        if (!has_unit_suffix(unit) || streq(strrchr(unit, '.'), ".service")) {
                uint64_t mem = UINT64_MAX;
                reply = NULL;
                r = get_property(bus, path, IFACE_SERVICE, "MemoryCurrent", deadline, &err, &reply);
                if (r >= 0 && sd_bus_message_read(reply, "v", "t", &mem) >= 0)
                        out->memory = mem;
                bool transport = r < 0 && is_transport_error(r, &err);
                sd_bus_message_unref(reply);
                sd_bus_error_free(&err);
                if (transport)
                        return r;
        }
        return 0;
}

/* Whether this process lives in the cgroup of the unit (PANEL_UNIT's
 * ".service"): a path component of systemd's hierarchy, cgroup v2's "0::"
 * line or v1's "name=systemd" one. */
static bool read_self_in_unit(void)
{
        static const char want[] = "/" PANEL_UNIT ".service";
        _cleanup_free_ char *text = NULL;
        if (read_file("/proc/self/cgroup", 64 * 1024, &text, NULL) < 0)
                return false;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                const char *path = startswith(line, "0::") ? line + 3 : NULL;
                const char *v1 = strstr(line, ":name=systemd:");
                if (!path && v1)
                        path = v1 + strlen(":name=systemd:");
                for (const char *hit = path ? strstr(path, want) : NULL; hit;
                     hit = strstr(hit + 1, want)) {
                        char after = hit[sizeof(want) - 1];
                        if (after == '\0' || after == '/')
                                return true;
                }
        }
        return false;
}

static bool in_unit;
static pthread_once_t in_unit_once = PTHREAD_ONCE_INIT;

static void find_self_in_unit(void)
{
        in_unit = read_self_in_unit();
}

/* A process does not change units: /proc/self/cgroup is read once. */
static bool self_in_unit(void)
{
        pthread_once(&in_unit_once, find_self_in_unit);
        return in_unit;
}

/* The panel's own unit while this very process answers: it runs, whatever
 * systemd says of a unit it was not started by (`make run`, the tests, a
 * shell). Under its unit systemd's answer stands. */
static void mark_self(const char *const *units, size_t n, struct unit_state *out)
{
        for (size_t i = 0; i < n; i++) {
                if (!units[i] || out[i].running ||
                    (!streq(units[i], PANEL_UNIT) && !streq(units[i], PANEL_UNIT ".service")))
                        continue;
                if (self_in_unit())
                        continue;
                out[i].running = true;
                out[i].memory = UINT64_MAX;
        }
}

static int query_all(const char *const *units, size_t n, struct unit_state *out)
{
        uint64_t deadline = now_usec() + TOTAL_BUDGET_US;
        for (size_t i = 0; i < n; i++)
                state_set(&out[i], "unknown", "");
        if (n == 0)
                return 0;

        struct bus_cache *c = cache_get();
        if (!c)
                return -ENOMEM;
        sd_bus *bus = NULL;
        /* The handshake gets part of the budget so a slow connect still leaves
         * time for the queries. */
        int r = bus_acquire(c, deadline - TOTAL_BUDGET_US / 2, &bus);
        if (r < 0) {
                log_debug("services: system bus unavailable: %s", strerror(-r));
                return r;
        }

        for (size_t i = 0; i < n; i++) {
                r = query_one(bus, units[i], deadline, &out[i]);
                if (r < 0) {
                        log_warn("services: querying %s failed: %s", units[i] ? units[i] : "(null)",
                                 strerror(-r));
                        for (size_t j = i; j < n; j++)
                                state_set(&out[j], "unknown", "");
                        /* A dead or wedged connection would fail the next call too. */
                        cache_drop(c);
                        return r;
                }
        }
        return 0;
}

int services_query(const char *const *units, size_t n, struct unit_state *out)
{
        int r = query_all(units, n, out);
        mark_self(units, n, out);
        return r;
}

int services_bus(unsigned timeout_ms, struct sd_bus **ret)
{
        struct bus_cache *c = cache_get();
        if (!c)
                return -ENOMEM;
        return bus_acquire(c, now_usec() + (uint64_t)timeout_ms * 1000ULL, ret);
}

void services_bus_drop(void)
{
        pthread_once(&cache_once, cache_key_init);
        cache_drop(pthread_getspecific(cache_key));
}
