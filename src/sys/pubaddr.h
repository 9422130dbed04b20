/* This server's public addresses: the configured ones (server.public_ipv4 /
 * public_ipv6), else the source address the kernel picks for a route to a
 * public address (a UDP socket connected, nothing sent: no network call),
 * and whether a host name resolves to one of them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct config;

#define PUBADDR_LEN 46 /* INET6_ADDRSTRLEN */

/* v4 and v6 (PUBADDR_LEN bytes each) get the address or "" when this host
 * has none. A configured address is taken as it is; a detected one only when
 * it is global (behind NAT the route's source is private: not an address to
 * publish in DNS). */
void pubaddr_get(const struct config *cfg, char *v4, char *v6);
/* false for loopback, private (RFC 1918), shared (100.64/10), link-local,
 * unspecified, multicast, documentation and IPv6 unique-local addresses. */
bool pubaddr_is_global(const char *addr);
/* The kernel's source address for a route to `dest` (a literal address). 0,
 * or -errno (-ENETUNREACH: no route). */
int pubaddr_route_source(const char *dest, char *out, size_t len);
/* Resolve host (getaddrinfo, blocking: call on a worker). arr (n slots of
 * PUBADDR_LEN) gets up to n addresses, *count how many. 0 or -errno
 * (-ENOENT: the name does not resolve). */
int pubaddr_resolve(const char *host, char (*arr)[PUBADDR_LEN], size_t n, size_t *count);
