/* Validators for every identifier that reaches a file, a command or a query
 * (CONTRACT.md §4). All are pure functions; true = acceptable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* DNS host name: labels 1-63 of [a-z0-9-] (upper case accepted, caller
 * lower-cases), no leading/trailing '-', total <= 253, at least one char. */
bool valid_domain(const char *s);
/* Space-separated list of valid_domain names; "" is valid. */
bool valid_aliases(const char *s);
/* Panel/system user name ^[a-z_][a-z0-9_-]{0,31}$ */
bool valid_username(const char *s);
/* 1..1024 bytes, no NUL (implied), CR or LF. */
bool valid_password(const char *s);
/* systemd unit name: [A-Za-z0-9:_.\\@-]+, <= 255, not starting with '-' or '.',
 * with an optional known suffix (.service, .socket, .timer, .target, .mount, .path, .scope,
 * .slice). */
bool valid_unit_name(const char *s);
/* TCP/UDP port 1..65535 as a decimal string. */
bool valid_port_str(const char *s);
/* "N" or "N:M" with 1<=N<M<=65535 */
bool valid_port_range(const char *s);
/* IPv4/IPv6 address, optionally with /prefix (0-32 / 0-128). */
bool valid_ip_or_cidr(const char *s);
/* git ref name per `git check-ref-format --branch` rules. */
bool valid_git_branch(const char *s);
/* https://…, ssh://…, user@host:path, or an absolute path inside local_root
 * (local_root may be NULL: then absolute paths are refused). Never '-'-led,
 * never ext:: / file: transports, no whitespace or control characters. */
bool valid_git_repo(const char *s, const char *local_root);
/* Absolute, normalised (no ".", "..", "//", trailing "/") path strictly inside root. */
bool valid_path_inside(const char *path, const char *root);
/* Relative path without "..", no leading '/', no control chars, <= 255 bytes. */
bool valid_relative_path(const char *s);
/* An nginx size for client_max_body_size, written into vhosts unquoted:
 * 1-10 digits and an optional k, m or g (either case), at most 4g; "0" is
 * nginx's "no limit". The one rule for the config key and for sites. */
#define NGINX_SIZE_MAX (4ULL << 30)
bool valid_nginx_size(const char *s);
/* Printable ASCII, <= maxlen bytes (for comments and similar). */
bool valid_printable(const char *s, size_t maxlen);
/* Lower-case s in place (ASCII). Returns s. */
char *str_tolower(char *s);
