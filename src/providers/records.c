#include "providers/records.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"

static const char *const types[] = {"A", "AAAA", "CNAME", "ALIAS", "MX", "TXT", "NS", "SRV", "CAA"};

bool dns_type_is_host(const char *type)
{
        return streq(type, "CNAME") || streq(type, "ALIAS") || streq(type, "NS");
}

static bool has_priority(const char *type)
{
        return streq(type, "MX") || streq(type, "SRV");
}

static int bad(const char **field, const char *f, char *msg, size_t msglen, const char *m)
{
        *field = f;
        snprintf(msg, msglen, "%s", m);
        return -EINVAL;
}

/* relative owner name: "@", or labels of [A-Za-z0-9_-], a leading "*" label allowed */
static bool valid_rel_name(const char *s)
{
        if (streq(s, "@"))
                return true;
        size_t n = strlen(s);
        if (n == 0 || n > 253 || s[n - 1] == '.' || s[0] == '.')
                return false;
        size_t label = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                        continue;
                }
                if (c == '*') {
                        if (i != 0 || (n > 1 && s[1] != '.'))
                                return false;
                } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_'))
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0;
}

/* a target host name; underscores allowed (SRV/DKIM style targets) */
static bool valid_target(const char *s)
{
        if (streq(s, "@"))
                return true;
        return !streq(s, "*") && s[0] != '*' && valid_rel_name(s);
}

static bool parse_u(const char *s, unsigned long max, unsigned long *out)
{
        if (!s || !*s || strlen(s) > 10)
                return false;
        unsigned long v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v > max)
                return false;
        *out = v;
        return true;
}

static int check_content(const struct dns_record *r, const char **field, char *msg, size_t msglen)
{
        const char *t = r->type, *c = r->content;
        unsigned char buf[16];
        if (streq(t, "A")) {
                if (inet_pton(AF_INET, c, buf) != 1)
                        return bad(field, "content", msg, msglen, "not an IPv4 address");
        } else if (streq(t, "AAAA")) {
                if (inet_pton(AF_INET6, c, buf) != 1)
                        return bad(field, "content", msg, msglen, "not an IPv6 address");
        } else if (dns_type_is_host(t) || streq(t, "MX")) {
                if (!valid_target(c))
                        return bad(field, "content", msg, msglen, "not a host name");
        } else if (streq(t, "TXT")) {
                if (strlen(c) > DNS_TXT_MAX)
                        return bad(field, "content", msg, msglen, "TXT longer than 4096 bytes");
                if (!valid_printable(c, DNS_TXT_MAX))
                        return bad(field, "content", msg, msglen, "TXT must be printable ASCII");
        } else if (streq(t, "SRV")) {
                char w[12], p[12], target[256];
                char extra;
                unsigned long v;
                if (sscanf(c, "%11s %11s %255s %c", w, p, target, &extra) != 3 ||
                    !parse_u(w, 65535, &v) || !parse_u(p, 65535, &v) ||
                    !(streq(target, ".") || valid_target(target)))
                        return bad(field, "content", msg, msglen,
                                   "SRV content is \"weight port target\"");
        } else if (streq(t, "CAA")) {
                char flags[12], tag[32];
                int off = 0;
                unsigned long v;
                if (sscanf(c, "%11s %31s %n", flags, tag, &off) != 2 || off == 0 ||
                    !parse_u(flags, 255, &v))
                        return bad(field, "content", msg, msglen,
                                   "CAA content is \"flags tag value\"");
                for (const char *q = tag; *q; q++)
                        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
                              (*q >= 'A' && *q <= 'Z')))
                                return bad(field, "content", msg, msglen, "CAA tag: [a-z0-9]");
                const char *val = c + off;
                if (!*val || strlen(val) > 255 || !valid_printable(val, 255))
                        return bad(field, "content", msg, msglen, "CAA value is missing");
        }
        return 0;
}

int dns_record_check(const struct dns_record *r, const char **field, char *msg, size_t msglen)
{
        if (str_empty(r->name) || !valid_rel_name(r->name))
                return bad(field, "name", msg, msglen,
                           "a name relative to the zone (\"@\" for the apex)");
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                known |= r->type && streq(r->type, types[i]);
        if (!known)
                return bad(field, "type", msg, msglen,
                           "one of A, AAAA, CNAME, ALIAS, MX, TXT, NS, SRV, CAA");
        if (str_empty(r->content))
                return bad(field, "content", msg, msglen, "required");
        if (r->ttl < DNS_TTL_MIN || r->ttl > DNS_TTL_MAX)
                return bad(field, "ttl", msg, msglen, "between 60 and 604800");
        if (has_priority(r->type)) {
                if (r->priority < 0 || r->priority > 65535)
                        return bad(field, "priority", msg, msglen,
                                   "required for MX and SRV: 0-65535");
        } else if (r->priority != -1)
                return bad(field, "priority", msg, msglen, "only MX and SRV have a priority");
        return check_content(r, field, msg, msglen);
}

int dns_record_from_json(const json_t *j, struct dns_record *r, const char **field, char *msg,
                         size_t msglen)
{
        memset(r, 0, sizeof(*r));
        r->priority = -1;
        r->ttl = DNS_DEFAULT_TTL;
        if (!json_is_object(j))
                return bad(field, "record", msg, msglen, "must be an object");
        static const char *const strs[] = {"name", "type", "content"};
        char **dst[] = {&r->name, &r->type, &r->content};
        for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
                const json_t *v = json_object_get(j, strs[i]);
                if (!json_is_string(v))
                        return bad(field, strs[i], msg, msglen,
                                   v ? "must be a string" : "required");
                if (json_string_length(v) > DNS_TXT_MAX + 64 ||
                    strlen(json_string_value(v)) != json_string_length(v))
                        return bad(field, strs[i], msg, msglen, "too long");
                if (!(*dst[i] = strdup(json_string_value(v))))
                        return -ENOMEM;
        }
        for (char *p = r->type; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 32);
        const json_t *ttl = json_object_get(j, "ttl");
        if (ttl && !json_is_null(ttl)) {
                if (!json_is_integer(ttl))
                        return bad(field, "ttl", msg, msglen, "must be an integer");
                long long v = json_integer_value(ttl);
                r->ttl = v < 0 || v > 100000000 ? -1 : (long)v;
        }
        const json_t *pr = json_object_get(j, "priority");
        if (pr && !json_is_null(pr)) {
                if (!json_is_integer(pr))
                        return bad(field, "priority", msg, msglen, "must be an integer");
                long long v = json_integer_value(pr);
                r->priority = v < 0 || v > 65535 ? 70000 : (long)v;
        }
        return dns_record_check(r, field, msg, msglen);
}

char *dns_record_id(const struct dns_record *r)
{
        _cleanup_strbuf_ struct strbuf in = STRBUF_INIT(0);
        if (strbuf_printf(&in, "%ld %s", r->priority, r->content) < 0)
                return NULL;
        unsigned char d[32];
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, in.data, in.len, d) < 0)
                return NULL;
        struct strbuf out = STRBUF_INIT(0);
        if (strbuf_printf(&out, "%s/%s/", r->name, r->type) < 0)
                return NULL;
        for (int i = 0; i < 6; i++)
                if (strbuf_printf(&out, "%02x", d[i]) < 0) {
                        strbuf_free(&out);
                        return NULL;
                }
        return strbuf_steal(&out);
}

json_t *dns_record_json(const struct dns_record *r)
{
        _cleanup_free_ char *id = dns_record_id(r);
        json_t *j = json_pack("{s:s?,s:s,s:s,s:s,s:I}", "id", id, "type", r->type, "name", r->name,
                              "content", r->content, "ttl", (json_int_t)r->ttl);
        if (j)
                json_object_set_new(j, "priority",
                                    r->priority >= 0 ? json_integer(r->priority) : json_null());
        return j;
}

static int txt_quote(struct strbuf *b, const char *s)
{
        /* character-strings of at most 255 bytes each */
        size_t n = strlen(s), done = 0;
        do {
                if (done && strbuf_puts(b, " ") < 0)
                        return -ENOMEM;
                if (strbuf_puts(b, "\"") < 0)
                        return -ENOMEM;
                size_t chunk = n - done > 255 ? 255 : n - done;
                for (size_t i = 0; i < chunk; i++) {
                        char ch = s[done + i];
                        if ((ch == '"' || ch == '\\') && strbuf_puts(b, "\\") < 0)
                                return -ENOMEM;
                        if (strbuf_append(b, &ch, 1) < 0)
                                return -ENOMEM;
                }
                done += chunk;
                if (strbuf_puts(b, "\"") < 0)
                        return -ENOMEM;
        } while (done < n);
        return 0;
}

char *dns_content_to_upstream(const struct dns_record *r, bool canonical)
{
        struct strbuf b = STRBUF_INIT(0);
        int rc = 0;
        if (has_priority(r->type))
                rc = strbuf_printf(&b, "%ld ", r->priority);
        const char *c = r->content;
        if (rc == 0 && canonical && streq(r->type, "TXT"))
                rc = txt_quote(&b, c);
        else if (rc == 0)
                rc = strbuf_puts(&b, c);
        bool host = dns_type_is_host(r->type) || streq(r->type, "MX") || streq(r->type, "SRV");
        if (rc == 0 && canonical && host && b.len && b.data[b.len - 1] != '.')
                rc = strbuf_puts(&b, ".");
        if (rc < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_steal(&b);
}

static char *txt_unquote(const char *s)
{
        /* one or more "..." strings (PowerDNS), or plain text (Hostinger) */
        size_t n = strlen(s);
        if (n < 2 || s[0] != '"')
                return strdup(s);
        struct strbuf b = STRBUF_INIT(DNS_TXT_MAX * 2);
        const char *p = s;
        while (*p) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                if (*p != '"') {
                        strbuf_free(&b);
                        return strdup(s);
                }
                p++;
                while (*p && *p != '"') {
                        if (*p == '\\' && p[1])
                                p++;
                        if (strbuf_append(&b, p, 1) < 0) {
                                strbuf_free(&b);
                                return NULL;
                        }
                        p++;
                }
                if (*p != '"') {
                        strbuf_free(&b);
                        return strdup(s);
                }
                p++;
        }
        return strbuf_steal(&b);
}

int dns_content_from_upstream(struct dns_record *r, const char *up)
{
        free(r->content);
        r->content = NULL;
        r->priority = -1;
        const char *c = up;
        if (has_priority(r->type)) {
                char *end;
                long v = strtol(up, &end, 10);
                if (end == up || *end != ' ' || v < 0 || v > 65535)
                        return -EINVAL;
                r->priority = v;
                c = end;
                while (*c == ' ')
                        c++;
        }
        if (streq(r->type, "TXT"))
                r->content = txt_unquote(c);
        else
                r->content = strdup(c);
        if (!r->content)
                return -ENOMEM;
        bool host = dns_type_is_host(r->type) || streq(r->type, "MX") || streq(r->type, "SRV");
        size_t n = strlen(r->content);
        if (host && n > 1 && r->content[n - 1] == '.')
                r->content[n - 1] = '\0';
        return 0;
}

char *dns_name_relative(const char *abs, const char *zone)
{
        size_t n = strlen(abs), z = strlen(zone);
        if (n && abs[n - 1] == '.')
                n--;
        if (n == z && strncasecmp(abs, zone, z) == 0)
                return strdup("@");
        if (n > z + 1 && abs[n - z - 1] == '.' && strncasecmp(abs + n - z, zone, z) == 0)
                return strndup(abs, n - z - 1);
        return NULL;
}

char *dns_name_absolute(const char *rel, const char *zone)
{
        struct strbuf b = STRBUF_INIT(0);
        int rc = streq(rel, "@") ? strbuf_printf(&b, "%s.", zone)
                                 : strbuf_printf(&b, "%s.%s.", rel, zone);
        if (rc < 0) {
                strbuf_free(&b);
                return NULL;
        }
        return strbuf_steal(&b);
}
