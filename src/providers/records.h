/* DNS records as the panel speaks them (providers/provider.h struct
 * dns_record): validation, stable ids, JSON, and conversion to and from an
 * upstream's content spelling. Pure functions over outside input. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "providers/provider.h"

#define DNS_TTL_MIN     60
#define DNS_TTL_MAX     604800
#define DNS_TXT_MAX     4096
#define DNS_DEFAULT_TTL 3600

/* A record from a request body (an object). On error *field names the
 * offending member ("name", "type", "content", "ttl", "priority") and msg
 * says why; returns -EINVAL. Fills r (malloc'd strings). */
int dns_record_from_json(const json_t *j, struct dns_record *r, const char **field, char *msg,
                         size_t msglen);
/* Check a record (name relative, type known, content per type, ttl,
 * priority). 0 or -EINVAL with *field and msg set. */
int dns_record_check(const struct dns_record *r, const char **field, char *msg, size_t msglen);
/* name/type/first 12 hex of SHA-256(priority content): stable across calls. */
char *dns_record_id(const struct dns_record *r);
json_t *dns_record_json(const struct dns_record *r);

/* Upstream content of r: the priority joined in front for MX and SRV;
 * canonical = hostnames end in '.', TXT is quoted (PowerDNS). malloc'd. */
char *dns_content_to_upstream(const struct dns_record *r, bool canonical);
/* The reverse: fills r->content and r->priority from an upstream content
 * of r->type (trailing dots dropped, TXT unquoted). 0 or -EINVAL/-ENOMEM. */
int dns_content_from_upstream(struct dns_record *r, const char *up);

/* True for a hostname-valued type (CNAME, ALIAS, NS). */
bool dns_type_is_host(const char *type);
/* The zone-relative name of an absolute one ("www.example.com." in
 * "example.com" -> "www", the apex -> "@"); NULL when outside the zone. */
char *dns_name_relative(const char *abs, const char *zone);
/* The absolute canonical name ("www" -> "www.example.com.", "@" -> "example.com."). */
char *dns_name_absolute(const char *rel, const char *zone);
