/* ufw driver: parsers for its three listings, validated argv building, and
 * the operations the API needs. */
#include "sys/firewall.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/validate.h"
#include "core/config.h"
#include "sys/exec.h"
#include "sys/helpcall.h"

#define UFW_TIMEOUT_MS 60000
#define UFW_MAX_OUTPUT (1024 * 1024)

/* ---------------------------------------------------------------- helpers */

static char *strndup_trim(const char *s, size_t len)
{
        while (len && isspace((unsigned char)*s)) {
                s++;
                len--;
        }
        while (len && isspace((unsigned char)s[len - 1]))
                len--;
        return strndup(s, len);
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* Remove every " (v6)" from s in place. */
static void strip_v6(char *s, bool *found)
{
        char *p;
        while ((p = strstr(s, " (v6)"))) {
                memmove(p, p + 5, strlen(p + 5) + 1);
                *found = true;
        }
}

/* ------------------------------------------------------------- show added */

static void rule_clear(struct fw_rule *r)
{
        free(r->action);
        free(r->direction);
        free(r->protocol);
        free(r->port);
        free(r->source);
        free(r->destination);
        free(r->interface);
        free(r->comment);
        free(r->text);
        strv_free(r->spec);
        memset(r, 0, sizeof(*r));
}

void fw_rules_free(struct fw_rule *rules, size_t n)
{
        for (size_t i = 0; rules && i < n; i++)
                rule_clear(&rules[i]);
        free(rules);
}

/* Split on spaces; '...' groups (ufw quotes app names with spaces). */
#define SPEC_MAX_WORDS 63

static int tokenize(const char *s, size_t len, char ***out, size_t *n)
{
        char **v = NULL;
        size_t cnt = 0, cap = 0;
        size_t i = 0;
        while (i < len) {
                while (i < len && s[i] == ' ')
                        i++;
                if (i >= len)
                        break;
                size_t start, end;
                if (s[i] == '\'') {
                        start = ++i;
                        while (i < len && s[i] != '\'')
                                i++;
                        if (i >= len)
                                goto bad;
                        end = i++;
                } else {
                        start = i;
                        while (i < len && s[i] != ' ')
                                i++;
                        end = i;
                }
                /* ufw's own rules have a dozen words: a longer line is
                 * not one of them (and would not fit a delete's argv) */
                if (cnt >= SPEC_MAX_WORDS)
                        goto bad;
                if (cnt + 2 > cap) {
                        cap = cap ? cap * 2 : 16;
                        char **nv = realloc(v, cap * sizeof(*v));
                        if (!nv)
                                goto nomem;
                        v = nv;
                }
                if (!(v[cnt] = strndup(s + start, end - start)))
                        goto nomem;
                v[++cnt] = NULL;
        }
        if (!cnt)
                goto bad;
        *out = v;
        *n = cnt;
        return 0;
bad:
        if (v)
                v[cnt] = NULL;
        strv_free(v);
        return -EINVAL;
nomem:
        if (v)
                v[cnt] = NULL;
        strv_free(v);
        return -ENOMEM;
}

static bool is_action(const char *s)
{
        return streq(s, "allow") || streq(s, "deny") || streq(s, "reject") || streq(s, "limit");
}

static int set_str(char **slot, const char *v)
{
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*slot);
        *slot = c;
        return 0;
}

int fw_parse_rule_line(const char *line, struct fw_rule *r)
{
        memset(r, 0, sizeof(*r));
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
                len--;
        /* "ufw" and blanks only: nothing to tokenize (found by fuzzing: the
         * length left for the tokens went below zero) */
        if (len <= 4 || !startswith(line, "ufw "))
                return -EINVAL;
        int rc = -ENOMEM;
        _cleanup_strbuf_ struct strbuf ifaces = STRBUF_INIT(0);
        if (!(r->text = strndup(line, len)))
                goto fail;
        /* The comment is always last: " comment '...'" up to the final quote. */
        size_t spec_len = len;
        const char *c = strstr(line, " comment '");
        if (c && (size_t)(c - line) < len && line[len - 1] == '\'') {
                size_t off = (size_t)(c - line) + strlen(" comment '");
                if (off <= len - 1) {
                        if (!(r->comment = strndup(line + off, len - 1 - off)))
                                goto fail;
                        spec_len = (size_t)(c - line);
                }
        }
        if (!r->comment && !(r->comment = strdup("")))
                goto fail;

        /* "ufw comment '...'": the comment starts inside "ufw " (fuzzing) */
        if (spec_len <= 4) {
                rc = -EINVAL;
                goto fail;
        }
        char **tok = NULL;
        size_t nt = 0;
        rc = tokenize(line + 4, spec_len - 4, &tok, &nt);
        if (rc < 0)
                goto fail;
        r->spec = tok;
        rc = -EINVAL;
        size_t i = 0;
        bool route = false;
        if (streq(tok[i], "route")) {
                route = true;
                i++;
        }
        if (i >= nt || !is_action(tok[i]))
                goto fail;
        rc = -ENOMEM;
        if (set_str(&r->action, tok[i++]) < 0 || set_str(&r->direction, route ? "fwd" : "in") < 0 ||
            set_str(&r->protocol, "") < 0 || set_str(&r->port, "any") < 0 ||
            set_str(&r->source, "any") < 0 || set_str(&r->destination, "any") < 0 ||
            set_str(&r->interface, "") < 0)
                goto fail;
        const char *last_addr = NULL; /* "from" or "to": which one a "port" belongs to */
        const char *pending_dir = NULL;
        for (; i < nt; i++) {
                const char *t = tok[i];
                const char *next = i + 1 < nt ? tok[i + 1] : NULL;
                if (streq(t, "in") || streq(t, "out")) {
                        pending_dir = t;
                        if (!route && set_str(&r->direction, t) < 0)
                                goto fail;
                } else if (streq(t, "on") && next) {
                        if (ifaces.len && strbuf_puts(&ifaces, " ") < 0)
                                goto fail;
                        if (route && pending_dir && strbuf_printf(&ifaces, "%s ", pending_dir) < 0)
                                goto fail;
                        if (strbuf_puts(&ifaces, next) < 0)
                                goto fail;
                        i++;
                } else if (streq(t, "log") || streq(t, "log-all")) {
                        continue;
                } else if ((streq(t, "from") || streq(t, "to")) && next) {
                        last_addr = t;
                        if (set_str(streq(t, "from") ? &r->source : &r->destination, next) < 0)
                                goto fail;
                        i++;
                } else if (streq(t, "port") && next) {
                        /* a source port is not what the panel shows as "port" */
                        if (!streq(last_addr, "from") && set_str(&r->port, next) < 0)
                                goto fail;
                        i++;
                } else if (streq(t, "proto") && next) {
                        if (set_str(&r->protocol, next) < 0)
                                goto fail;
                        i++;
                } else if (streq(t, "app") && next) {
                        if (!streq(last_addr, "from") && set_str(&r->port, next) < 0)
                                goto fail;
                        i++;
                } else {
                        /* simple form: PORT[/PROTO] or an application profile */
                        const char *slash = strchr(t, '/');
                        char *p = slash ? strndup(t, (size_t)(slash - t)) : strdup(t);
                        if (!p)
                                goto fail;
                        free(r->port);
                        r->port = p;
                        if (slash && set_str(&r->protocol, slash + 1) < 0)
                                goto fail;
                }
        }
        if (ifaces.len) {
                free(r->interface);
                if (!(r->interface = strbuf_steal(&ifaces)))
                        goto fail;
        }
        return 0;
fail:
        rule_clear(r);
        return rc;
}

int fw_parse_added(const char *text, struct fw_rule **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        if (!text || !strstr(text, "Added user rules"))
                return -EINVAL;
        struct fw_rule *v = NULL;
        size_t cnt = 0, cap = 0;
        const char *p = text;
        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                if (len > 4 && startswith(p, "ufw ")) {
                        _cleanup_free_ char *line = strndup(p, len);
                        if (!line)
                                goto nomem;
                        if (cnt == cap) {
                                cap = cap ? cap * 2 : 16;
                                struct fw_rule *nv = realloc(v, cap * sizeof(*v));
                                if (!nv)
                                        goto nomem;
                                v = nv;
                        }
                        int rc = fw_parse_rule_line(line, &v[cnt]);
                        if (rc == -ENOMEM)
                                goto nomem;
                        if (rc == 0)
                                cnt++;
                        else
                                log_warn("firewall: cannot parse ufw rule line: %s", line);
                }
                p += len;
                if (*p)
                        p++;
        }
        for (size_t i = 0; i < cnt; i++)
                v[i].id = (int)i + 1;
        *out = v;
        *n = cnt;
        return 0;
nomem:
        fw_rules_free(v, cnt);
        return -ENOMEM;
}

/* --------------------------------------------------------- status numbered */

void fw_numbered_free(struct fw_numbered *e, size_t n)
{
        for (size_t i = 0; e && i < n; i++) {
                free(e[i].to);
                free(e[i].action);
                free(e[i].direction);
                free(e[i].from);
                free(e[i].comment);
        }
        free(e);
}

/* Find " ALLOW"/" DENY"/" REJECT"/" LIMIT" as a whole word. */
static const char *find_action(const char *s, size_t *alen)
{
        static const char *const acts[] = {"ALLOW", "DENY", "REJECT", "LIMIT"};
        const char *best = NULL;
        for (size_t k = 0; k < ARRAY_SIZE(acts); k++) {
                size_t l = strlen(acts[k]);
                for (const char *p = strstr(s, acts[k]); p; p = strstr(p + 1, acts[k])) {
                        if (p > s && p[-1] == ' ' && (p[l] == ' ' || p[l] == '\0')) {
                                if (!best || p < best) {
                                        best = p;
                                        *alen = l;
                                }
                                break;
                        }
                }
        }
        return best;
}

static int parse_numbered_line(const char *line, struct fw_numbered *e)
{
        memset(e, 0, sizeof(*e));
        if (line[0] != '[')
                return -EINVAL;
        char *end;
        long num = strtol(line + 1, &end, 10);
        if (end == line + 1 || *end != ']' || num < 1 || num > 1000000)
                return -EINVAL;
        e->num = (int)num;
        const char *rest = end + 1;
        size_t alen = 0;
        const char *act = find_action(rest, &alen);
        if (!act)
                return -EINVAL;
        if (!(e->to = strndup_trim(rest, (size_t)(act - rest))) ||
            !(e->action = strndup(act, alen)))
                return -ENOMEM;
        for (char *q = e->action; *q; q++)
                *q = (char)tolower((unsigned char)*q);
        const char *p = act + alen;
        const char *dir = "in";
        if (startswith(p, " IN") && (p[3] == ' ' || !p[3])) {
                p += 3;
        } else if (startswith(p, " OUT") && (p[4] == ' ' || !p[4])) {
                dir = "out";
                p += 4;
        } else if (startswith(p, " FWD") && (p[4] == ' ' || !p[4])) {
                dir = "fwd";
                p += 4;
        }
        if (!(e->direction = strdup(dir)))
                return -ENOMEM;
        /* From, then " (out)", then " # comment" (a From never holds '#'). */
        const char *hash = strstr(p, " # ");
        size_t from_len = hash ? (size_t)(hash - p) : strlen(p);
        e->comment = hash ? strndup_trim(hash + 3, strlen(hash + 3)) : strdup("");
        if (!e->comment || !(e->from = strndup_trim(p, from_len)))
                return -ENOMEM;
        size_t fl = strlen(e->from);
        if (fl >= 5 && streq(e->from + fl - 5, "(out)")) {
                e->out = true;
                e->from[fl - 5] = '\0';
                char *t = strndup_trim(e->from, strlen(e->from));
                if (!t)
                        return -ENOMEM;
                free(e->from);
                e->from = t;
        }
        strip_v6(e->to, &e->v6);
        strip_v6(e->from, &e->v6);
        return 0;
}

int fw_parse_numbered(const char *text, bool *active, struct fw_numbered **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        *active = false;
        if (!text)
                return -EINVAL;
        const char *st = strstr(text, "Status: ");
        if (!st)
                return -EINVAL;
        *active = startswith(st, "Status: active");
        struct fw_numbered *v = NULL;
        size_t cnt = 0, cap = 0;
        const char *p = text;
        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                if (len && *p == '[') {
                        _cleanup_free_ char *line = strndup(p, len);
                        if (!line)
                                goto nomem;
                        if (cnt == cap) {
                                cap = cap ? cap * 2 : 16;
                                struct fw_numbered *nv = realloc(v, cap * sizeof(*v));
                                if (!nv)
                                        goto nomem;
                                v = nv;
                        }
                        int rc = parse_numbered_line(line, &v[cnt]);
                        if (rc == 0)
                                cnt++;
                        else {
                                struct fw_numbered *e = &v[cnt];
                                free(e->to);
                                free(e->action);
                                free(e->direction);
                                free(e->from);
                                free(e->comment);
                                if (rc == -ENOMEM)
                                        goto nomem;
                        }
                }
                p += len;
                if (*p)
                        p++;
        }
        *out = v;
        *n = cnt;
        return 0;
nomem:
        fw_numbered_free(v, cnt);
        return -ENOMEM;
}

/* ---------------------------------------------------------- status verbose */

void fw_status_free(struct fw_status *st)
{
        free(st->logging);
        free(st->default_incoming);
        free(st->default_outgoing);
        free(st->default_routed);
        memset(st, 0, sizeof(*st));
}

/* "deny (incoming)" inside the Default: line -> "deny" */
static char *default_for(const char *line, size_t len, const char *what)
{
        _cleanup_free_ char *l = strndup(line, len);
        if (!l)
                return NULL;
        _cleanup_free_ char *key = NULL;
        if (asprintf(&key, " (%s)", what) < 0)
                return NULL;
        char *k = strstr(l, key);
        if (!k)
                return NULL;
        char *s = k;
        while (s > l && s[-1] != ' ' && s[-1] != ',')
                s--;
        return strndup(s, (size_t)(k - s));
}

int fw_parse_verbose(const char *text, struct fw_status *st)
{
        memset(st, 0, sizeof(*st));
        if (!text)
                return -EINVAL;
        bool seen = false;
        const char *p = text;
        while (*p) {
                const char *eol = strchr(p, '\n');
                size_t len = eol ? (size_t)(eol - p) : strlen(p);
                if (startswith(p, "Status: ")) {
                        seen = true;
                        st->active = len >= 14 && startswith(p, "Status: active");
                } else if (startswith(p, "Logging: ")) {
                        free(st->logging);
                        if (!(st->logging = strndup_trim(p + 9, len - 9)))
                                goto nomem;
                } else if (startswith(p, "Default: ")) {
                        /* a second Default: line replaces the first (found by fuzzing: it leaked)
                         */
                        free(st->default_incoming);
                        free(st->default_outgoing);
                        free(st->default_routed);
                        st->default_incoming = default_for(p, len, "incoming");
                        st->default_outgoing = default_for(p, len, "outgoing");
                        st->default_routed = default_for(p, len, "routed");
                }
                p += len;
                if (*p)
                        p++;
        }
        if (!seen) {
                fw_status_free(st);
                return -EINVAL;
        }
        return 0;
nomem:
        fw_status_free(st);
        return -ENOMEM;
}

/* ------------------------------------------------------------------- ids */

void fw_assign_ids(struct fw_rule *rules, size_t n, const struct fw_numbered *num, size_t m)
{
        for (size_t i = 0; i < n; i++) {
                rules[i].id = (int)i + 1;
                rules[i].v6_id = 0;
        }
        if (!num)
                return;
        /* Fold each "(v6)" entry into the earlier v4 entry it duplicates. */
        int *twin = calloc(m ? m : 1, sizeof(int)); /* twin[i]: number of i's v6 twin */
        bool *folded = calloc(m ? m : 1, sizeof(bool));
        size_t *keep = calloc(m ? m : 1, sizeof(size_t));
        if (!twin || !folded || !keep)
                goto out;
        for (size_t j = 0; j < m; j++) {
                if (!num[j].v6)
                        continue;
                for (size_t i = 0; i < j; i++) {
                        const struct fw_numbered *a = &num[i], *b = &num[j];
                        if (a->v6 || folded[i] || twin[i])
                                continue;
                        if (streq(a->to, b->to) && streq(a->from, b->from) &&
                            streq(a->action, b->action) && streq(a->direction, b->direction) &&
                            streq(a->comment, b->comment) && a->out == b->out) {
                                twin[i] = b->num;
                                folded[j] = true;
                                break;
                        }
                }
        }
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
                if (!folded[i])
                        keep[k++] = i;
        if (k != n)
                goto out;
        for (size_t i = 0; i < n; i++)
                if (!streq(num[keep[i]].action, rules[i].action) ||
                    !streq(num[keep[i]].comment, rules[i].comment))
                        goto out; /* not the same list: keep positions */
        for (size_t i = 0; i < n; i++) {
                rules[i].id = num[keep[i]].num;
                rules[i].v6_id = twin[keep[i]];
        }
out:
        free(twin);
        free(folded);
        free(keep);
}

/* ------------------------------------------------------------ validation */

bool fw_valid_action(const char *s)
{
        return is_action(s);
}

bool fw_valid_protocol(const char *s)
{
        return s && (!*s || streq(s, "tcp") || streq(s, "udp"));
}

bool fw_valid_source(const char *s)
{
        return streq(s, "any") || valid_ip_or_cidr(s);
}

bool fw_valid_comment(const char *s)
{
        if (!s || !valid_printable(s, 64))
                return false;
        /* never read as an option, and no quoting characters (ufw prints the
         * comment between single quotes) */
        if (*s == '-')
                return false;
        return !strpbrk(s, "'\"`\\");
}

const char *fw_new_rule_check(const struct fw_new_rule *r)
{
        if (str_empty(r->port))
                return "port is required";
        if (!valid_port_str(r->port) && !valid_port_range(r->port))
                return "port must be a port 1-65535 or a range N:M (N < M)";
        if (!fw_valid_protocol(r->protocol))
                return "protocol must be tcp, udp or empty (both)";
        if (!fw_valid_source(r->source))
                return "source must be any, an IPv4/IPv6 address or a CIDR";
        if (!fw_valid_action(r->action))
                return "action must be allow, deny, reject or limit";
        if (!fw_valid_comment(r->comment))
                return "comment must be at most 64 printable characters without quotes or "
                       "backslashes, not starting with '-'";
        return NULL;
}

int fw_add_argv(const struct fw_new_rule *r, const char *proto, const char **argv, size_t max)
{
        if (max < 14 || fw_new_rule_check(r) || !fw_valid_protocol(proto))
                return -EINVAL;
        size_t i = 0;
        argv[i++] = "ufw";
        argv[i++] = r->action;
        if (!streq(r->source, "any")) {
                argv[i++] = "from";
                argv[i++] = r->source;
        }
        argv[i++] = "to";
        argv[i++] = "any";
        argv[i++] = "port";
        argv[i++] = r->port;
        if (*proto) {
                argv[i++] = "proto";
                argv[i++] = proto;
        }
        if (*r->comment) {
                argv[i++] = "comment";
                argv[i++] = r->comment;
        }
        argv[i] = NULL;
        return (int)i;
}

static bool safe_token(const char *t)
{
        if (!t || !*t || *t == '-')
                return false;
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int fw_delete_argv(const struct fw_rule *r, const char **argv, size_t max)
{
        size_t ns = 0;
        while (r->spec && r->spec[ns])
                ns++;
        if (!ns || max < ns + 4)
                return -EINVAL;
        size_t i = 0, k = 0;
        argv[i++] = "ufw";
        if (streq(r->spec[0], "route"))
                argv[i++] = r->spec[k++];
        argv[i++] = "delete";
        /* one rule by its spec: an action first (never a number, an option
         * or anything else ufw's delete would take) */
        if (k >= ns || !is_action(r->spec[k]))
                return -EINVAL;
        for (; k < ns; k++) {
                if (!safe_token(r->spec[k]))
                        return -EINVAL;
                argv[i++] = r->spec[k];
        }
        argv[i] = NULL;
        return (int)i;
}

static bool port_covers(const char *spec, int port)
{
        if (streq(spec, "any"))
                return true;
        /* "22", "3000:3100", "80,443" */
        const char *p = spec;
        while (*p) {
                char *end;
                long a = strtol(p, &end, 10);
                if (end == p)
                        return false;
                long b = a;
                if (*end == ':') {
                        p = end + 1;
                        b = strtol(p, &end, 10);
                        if (end == p)
                                return false;
                }
                if (port >= a && port <= b)
                        return true;
                if (*end != ',')
                        return false;
                p = end + 1;
        }
        return false;
}

bool fw_rules_allow_tcp_port(const struct fw_rule *rules, size_t n, int port)
{
        for (size_t i = 0; i < n; i++) {
                const struct fw_rule *r = &rules[i];
                if (!(streq(r->action, "allow") || streq(r->action, "limit")))
                        continue;
                if (!streq(r->direction, "in") || !streq(r->source, "any") ||
                    !streq(r->destination, "any") || *r->interface)
                        continue;
                if (!(streq(r->protocol, "tcp") || !*r->protocol))
                        continue;
                if (port_covers(r->port, port))
                        return true;
        }
        return false;
}

/* ------------------------------------------------------------- operations */

static pthread_mutex_t fw_mutex = PTHREAD_MUTEX_INITIALIZER;

void fw_lock(void)
{
        pthread_mutex_lock(&fw_mutex);
}

void fw_unlock(void)
{
        pthread_mutex_unlock(&fw_mutex);
}

/* Run ufw; 0 with *out set (malloc'd), -ENOENT, or -EIO with *err. */
static int ufw_run(const char *const *argv, char **out, char **err)
{
        struct exec_opts o = {
            .argv = argv, .timeout_ms = UFW_TIMEOUT_MS, .max_output = UFW_MAX_OUTPUT};
        struct exec_result res = {0};
        int rc = exec_run(&o, &res);
        if (rc < 0) {
                if (err && asprintf(err, "cannot run ufw: %s", strerror(-rc)) < 0)
                        *err = NULL;
                return rc == -ENOENT ? -ENOENT : -EIO;
        }
        if (res.status != 0 || res.timed_out) {
                size_t l = res.output_len;
                while (l && isspace((unsigned char)res.output[l - 1]))
                        l--;
                if (err && asprintf(err, "ufw %s failed (%s %d): %.*s", argv[1],
                                    res.timed_out ? "timed out," : "exit", res.status, (int)l,
                                    res.output) < 0)
                        *err = NULL;
                exec_result_free(&res);
                return -EIO;
        }
        if (out)
                *out = TAKE_PTR(res.output);
        exec_result_free(&res);
        return 0;
}

void fw_state_free(struct fw_state *s)
{
        free(s->output);
        fw_status_free(&s->st);
        fw_rules_free(s->rules, s->n);
        memset(s, 0, sizeof(*s));
}

void fw_texts_free(struct fw_texts *t)
{
        free(t->verbose);
        free(t->added);
        free(t->numbered);
        memset(t, 0, sizeof(*t));
}

/* Through the root helper (sys/helpcall.h), which checks every value again
 * (so do fw_add & co, one request each): it runs the commands and answers
 * their texts as extras (verbose, added, numbered: "" when not run);
 * parsing is ours. */
static int fw_remote_read_texts(struct fw_texts *t, char **err)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_FW_READ);
        struct helpcall_reply rep;
        int rc = helpcall_send(&hb, NULL, NULL, &rep, err);
        if (rc == 0 && !hm_expect(&rep.m, "issss")) {
                if (err && !*err)
                        *err = strdup("the root helper's answer to fw_read is incomplete");
                rc = -EIO;
        } else if (rc == 0) {
                const char *num = hm_str(&rep.m, 4);
                t->verbose = strdup(hm_str(&rep.m, 2));
                t->added = strdup(hm_str(&rep.m, 3));
                t->numbered = *num ? strdup(num) : NULL;
                if (!t->verbose || !t->added || (*num && !t->numbered)) {
                        fw_texts_free(t);
                        rc = -ENOMEM;
                }
        }
        helpcall_reply_free(&rep);
        return rc;
}

int fw_read_texts(struct fw_texts *t, char **err)
{
        memset(t, 0, sizeof(*t));
        if (helpcall_active())
                return fw_remote_read_texts(t, err);
        static const char *const verbose[] = {"ufw", "status", "verbose", NULL};
        static const char *const added[] = {"ufw", "show", "added", NULL};
        static const char *const numbered[] = {"ufw", "status", "numbered", NULL};
        int rc = ufw_run(verbose, &t->verbose, err);
        if (rc == 0)
                rc = ufw_run(added, &t->added, err);
        /* the numbers only exist while ufw is active (a look for the line,
         * no parsing: that is the reader's) */
        if (rc == 0 && strstr(t->verbose, "Status: active"))
                rc = ufw_run(numbered, &t->numbered, err);
        if (rc < 0)
                fw_texts_free(t);
        return rc;
}

int fw_state_parse(struct fw_state *s, struct fw_texts *t, char **err)
{
        memset(s, 0, sizeof(*s));
        s->output = TAKE_PTR(t->verbose);
        if (!s->output || fw_parse_verbose(s->output, &s->st) < 0) {
                if (err && asprintf(err, "unexpected output of ufw status: %s",
                                    s->output ? s->output : "") < 0)
                        *err = NULL;
                fw_state_free(s);
                return -EIO;
        }
        s->active = s->st.active;
        int rc = t->added ? fw_parse_added(t->added, &s->rules, &s->n) : -EINVAL;
        if (rc < 0) {
                if (err && asprintf(err, "unexpected output of ufw show added: %s",
                                    t->added ? t->added : "") < 0)
                        *err = NULL;
                fw_state_free(s);
                return rc == -ENOMEM ? -ENOMEM : -EIO;
        }
        if (s->active && t->numbered) {
                struct fw_numbered *e = NULL;
                size_t m = 0;
                bool act = false;
                if (fw_parse_numbered(t->numbered, &act, &e, &m) == 0 && act)
                        fw_assign_ids(s->rules, s->n, e, m);
                fw_numbered_free(e, m);
        }
        return 0;
}

int fw_read(struct fw_state *s, char **err)
{
        memset(s, 0, sizeof(*s));
        struct fw_texts t;
        int rc = fw_read_texts(&t, err);
        if (rc < 0)
                return rc == -ENOENT ? -ENOENT : rc == -ENOMEM ? -ENOMEM : -EIO;
        rc = fw_state_parse(s, &t, err);
        fw_texts_free(&t);
        return rc;
}

static bool output_has(const char *out, const char *what)
{
        return out && strstr(out, what);
}

static int add_one(const struct fw_new_rule *r, const char *proto, bool *existed, char **err)
{
        const char *argv[16];
        if (fw_add_argv(r, proto, argv, ARRAY_SIZE(argv)) < 0)
                return -EINVAL;
        _cleanup_free_ char *out = NULL;
        int rc = ufw_run(argv, &out, err);
        if (rc < 0)
                return rc;
        *existed = output_has(out, "Skipping adding existing rule") &&
                   !output_has(out, "Rule added") && !output_has(out, "Rule updated");
        return 0;
}

static int delete_added(const struct fw_new_rule *r, const char *proto)
{
        const char *argv[18];
        int n = fw_add_argv(r, proto, argv + 1, ARRAY_SIZE(argv) - 2);
        if (n < 0)
                return n;
        argv[0] = "ufw";
        argv[1] = "delete";
        /* drop the comment: ufw matches a rule without it */
        for (int i = 0; i < n; i++)
                if (streq(argv[1 + i], "comment") && i > 1) {
                        argv[1 + i] = NULL;
                        break;
                }
        return ufw_run(argv, NULL, NULL);
}

int fw_add(const struct fw_new_rule *r, char **err)
{
        if (fw_new_rule_check(r))
                return -EINVAL;
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_FW_ADD);
                hm_add_str(&hb, r->port);
                hm_add_str(&hb, r->protocol);
                hm_add_str(&hb, r->source);
                hm_add_str(&hb, r->action);
                hm_add_str(&hb, r->comment);
                return helpcall_send(&hb, NULL, NULL, NULL, err);
        }
        /* ufw refuses a port range without a protocol: "both" is two rules */
        bool split = !*r->protocol && strchr(r->port, ':');
        bool existed1 = false, existed2 = false;
        int rc = add_one(r, split ? "tcp" : r->protocol, &existed1, err);
        if (rc < 0 || !split)
                return rc < 0 ? rc : existed1 ? -EEXIST : 0;
        rc = add_one(r, "udp", &existed2, err);
        if (rc < 0) {
                if (!existed1)
                        delete_added(r, "tcp");
                return rc;
        }
        return existed1 && existed2 ? -EEXIST : 0;
}

int fw_delete(const struct fw_rule *r, char **err)
{
        const char *argv[64];
        size_t ns = 0;
        while (r->spec && r->spec[ns])
                ns++;
        if (ns + 4 > ARRAY_SIZE(argv) || fw_delete_argv(r, argv, ARRAY_SIZE(argv)) < 0) {
                if (err && asprintf(err, "rule cannot be deleted safely: %s", r->text) < 0)
                        *err = NULL;
                return -EINVAL;
        }
        if (helpcall_active()) {
                /* the tokens one a line: none holds a control character */
                _cleanup_strbuf_ struct strbuf spec = STRBUF_INIT(0);
                for (size_t i = 0; i < ns; i++)
                        if (strbuf_printf(&spec, "%s%s", i ? "\n" : "", r->spec[i]) < 0)
                                return -ENOMEM;
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_FW_DELETE);
                hm_add_str(&hb, spec.data);
                return helpcall_send(&hb, NULL, NULL, NULL, err);
        }
        _cleanup_free_ char *out = NULL;
        int rc = ufw_run(argv, &out, err);
        if (rc < 0)
                return rc;
        /* ufw exits 0 for a rule it does not have */
        if (output_has(out, "non-existent rule"))
                return -ESTALE;
        return 0;
}

static int allow_port(int port, const char *comment, bool *added, char **err)
{
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        struct fw_new_rule r = {
            .port = p, .protocol = "tcp", .source = "any", .action = "allow", .comment = comment};
        bool existed = false;
        int rc = add_one(&r, "tcp", &existed, err);
        *added = rc == 0 && !existed;
        return rc;
}

static void unallow_port(int port, const char *comment)
{
        char p[16];
        snprintf(p, sizeof(p), "%d", port);
        struct fw_new_rule r = {
            .port = p, .protocol = "tcp", .source = "any", .action = "allow", .comment = comment};
        delete_added(&r, "tcp");
}

int fw_enable_allowing(int panel_port, unsigned allow, char **err)
{
        if (panel_port < 1 || panel_port > 65535 || (allow & ~(FW_ALLOW_PANEL | FW_ALLOW_SSH)))
                return -EINVAL;
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_FW_ENABLE);
                hm_add_int(&hb, panel_port);
                hm_add_int(&hb, allow);
                return helpcall_send(&hb, NULL, NULL, NULL, err);
        }
        /* Allow the panel's port and SSH before the default-deny policy takes
         * effect, so enabling can never cut the administrator off. */
        const struct {
                int port;
                const char *comment;
                unsigned flag;
        } must[] = {{panel_port, "Setec Manager", FW_ALLOW_PANEL}, {22, "SSH", FW_ALLOW_SSH}};
        bool added[ARRAY_SIZE(must)] = {false};
        int rc = 0;
        for (size_t i = 0; i < ARRAY_SIZE(must); i++) {
                if (!(allow & must[i].flag))
                        continue;
                rc = allow_port(must[i].port, must[i].comment, &added[i], err);
                if (rc < 0)
                        goto rollback;
        }
        static const char *const enable[] = {"ufw", "--force", "enable", NULL};
        rc = ufw_run(enable, NULL, err);
        if (rc == 0)
                return 0;
rollback:
        for (size_t i = 0; i < ARRAY_SIZE(must); i++)
                if (added[i])
                        unallow_port(must[i].port, must[i].comment);
        return rc;
}

int fw_enable(int panel_port, char **err)
{
        if (panel_port < 1 || panel_port > 65535)
                return -EINVAL;
        /* what is allowed already is read (and parsed) here, never as root */
        struct fw_state s;
        int rc = fw_read(&s, err);
        if (rc < 0)
                return rc;
        unsigned allow = 0;
        if (!fw_rules_allow_tcp_port(s.rules, s.n, panel_port))
                allow |= FW_ALLOW_PANEL;
        if (panel_port != 22 && !fw_rules_allow_tcp_port(s.rules, s.n, 22))
                allow |= FW_ALLOW_SSH;
        fw_state_free(&s);
        return fw_enable_allowing(panel_port, allow, err);
}

int fw_disable(char **err)
{
        if (helpcall_active()) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, HM_REQUEST, HOP_FW_DISABLE);
                return helpcall_send(&hb, NULL, NULL, NULL, err);
        }
        static const char *const disable[] = {"ufw", "--force", "disable", NULL};
        return ufw_run(disable, NULL, err);
}

int firewall_apply_defaults(const struct config *cfg, bool autarch_dns)
{
        /* `setup` (root, no helper) only: the default policies have no op */
        if (helpcall_active()) {
                log_error("firewall defaults: only `setup` sets them");
                return -EPERM;
        }
        _cleanup_free_ char *err = NULL;
        static const char *const def_in[] = {"ufw", "default", "deny", "incoming", NULL};
        static const char *const def_out[] = {"ufw", "default", "allow", "outgoing", NULL};
        char panel[16];
        snprintf(panel, sizeof(panel), "%d", cfg->server.port);
        const struct fw_new_rule rules[] = {
            {"22", "tcp", "any", "allow", "SSH"},
            {"80", "tcp", "any", "allow", "HTTP"},
            {"443", "tcp", "any", "allow", "HTTPS"},
            {panel, "tcp", "any", "allow", "Setec Manager"},
            {"53", "", "any", "allow", "AUTARCH DNS"}, /* "" = tcp and udp */
        };
        size_t nrules = ARRAY_SIZE(rules) - (autarch_dns ? 0 : 1);
        fw_lock();
        int rc = ufw_run(def_in, NULL, &err);
        if (rc == 0)
                rc = ufw_run(def_out, NULL, &err);
        for (size_t i = 0; rc == 0 && i < nrules; i++) {
                free(err);
                err = NULL;
                rc = fw_add(&rules[i], &err);
                if (rc == -EEXIST)
                        rc = 0;
        }
        if (rc == 0)
                rc = fw_enable(cfg->server.port, &err);
        fw_unlock();
        if (rc < 0)
                log_error("firewall defaults: %s", err ? err : strerror(-rc));
        return rc;
}
