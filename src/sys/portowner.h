/* Who listens on a TCP port, from /proc/net/tcp{,6} and /proc/PID/fd. */
#pragma once

#include <stddef.h>

/* Writes "PID (comm)" of a process holding a listening socket on port into
 * out. 0, -ENOENT when none was found (or it is not visible to us). */
int port_owner(int port, char *out, size_t outlen);
