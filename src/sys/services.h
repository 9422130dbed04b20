/* systemd unit state over sd-bus (org.freedesktop.systemd1). No spawning. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The panel's own unit, the one `setup` installs. */
#define PANEL_UNIT "setec-manager"

struct unit_state {
        char active[24]; /* ActiveState: "active", "inactive", "failed", ... or "unknown" */
        char sub[24];    /* SubState, "" when unknown */
        uint64_t memory; /* MemoryCurrent in bytes, UINT64_MAX when not available */
        bool running;    /* active == "active"; or PANEL_UNIT while this process runs outside it */
};

/* Query units[0..n) on the system bus with a short timeout (<= 1 s in total).
 * Units that do not exist report "inactive"; when no bus is reachable every
 * entry reports "unknown". PANEL_UNIT (with or without ".service") is
 * running when this process runs outside it: systemd's state stays in
 * active, running says that the panel answers. Never fails: returns 0 when
 * the bus answered, -errno (and "unknown" states) when it did not. Bus path: $SETEC_SYSTEM_BUS
 * (sd-bus address) if set, else the default system bus. Thread-safe (opens
 * its own bus connection per call or per thread). */
int services_query(const char *const *units, size_t n, struct unit_state *out);

struct sd_bus;
/* The calling thread's system bus connection, the one services_query uses
 * (same $SETEC_SYSTEM_BUS rules), opened within timeout_ms when there is none
 * or it died. Borrowed: do not unref it; valid until services_bus_drop() or
 * the thread exits. 0 or -errno (no bus reachable). */
int services_bus(unsigned timeout_ms, struct sd_bus **ret);
/* Forget the calling thread's connection (after a transport error). */
void services_bus_drop(void);
