/* ufw: the firewall as ufw itself sees it. The rule list is read from ufw
 * every time (never a copy in the database), so rules added outside the
 * panel are listed too and nothing can drift. Every program runs through
 * sys/exec; every value that reaches ufw's argv is validated first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct config;

struct fw_rule {
        /* ufw's rule number in `ufw status numbered` while ufw is active,
         * else the position in `ufw show added` (1-based). */
        int id;
        int v6_id;         /* number of the folded "(v6)" twin (active only), 0 = none */
        char *action;      /* allow | deny | reject | limit */
        char *direction;   /* in | out | fwd */
        char *protocol;    /* tcp | udp | "" (both, or not port-specific) */
        char *port;        /* "22", "3000:3100", "80,443", an app name, or "any" */
        char *source;      /* "any" or an address / CIDR */
        char *destination; /* "any" or an address / CIDR */
        char *interface;   /* "" or "eth0" ("in eth0 out eth1" for routed rules) */
        char *comment;     /* "" when none */
        char *text;        /* the rule as `ufw show added` prints it */
        char **spec; /* ufw arguments naming the rule (no "ufw", no comment), NULL-terminated */
};

struct fw_numbered {
        int num;
        bool v6;         /* the line carries "(v6)" */
        bool out;        /* "(out)" marker */
        char *to;        /* as printed, "(v6)" removed */
        char *action;    /* lower case */
        char *direction; /* lower case, "in" when not printed */
        char *from;      /* as printed, "(v6)" removed */
        char *comment;   /* "" when none */
};

struct fw_status {
        bool active;
        char *logging; /* "on (low)", NULL when not printed */
        char *default_incoming, *default_outgoing, *default_routed; /* NULL when not printed */
};

/* ---- pure parsers (unit-tested on captured outputs) ---- */

/* `ufw show added`: the rules in ufw's order. 0 or -EINVAL (not ufw's format) / -ENOMEM. */
int fw_parse_added(const char *text, struct fw_rule **out, size_t *n);
void fw_rules_free(struct fw_rule *rules, size_t n);
/* One `ufw ...` line of `ufw show added` into r. 0 or -EINVAL / -ENOMEM. */
int fw_parse_rule_line(const char *line, struct fw_rule *r);

/* `ufw status numbered` (active: numbered lines; inactive: "Status: inactive"). */
int fw_parse_numbered(const char *text, bool *active, struct fw_numbered **out, size_t *n);
void fw_numbered_free(struct fw_numbered *e, size_t n);

/* `ufw status verbose`. 0 or -EINVAL when there is no "Status:" line. */
int fw_parse_verbose(const char *text, struct fw_status *st);
void fw_status_free(struct fw_status *st);

/* Give rules their ids: when num is non-NULL (ufw active) the numbers of
 * `ufw status numbered` with each v4+v6 pair folded into one rule (ufw lists
 * the same rules in the same order as `show added` then); otherwise, or if
 * the two lists do not line up, the 1-based positions. */
void fw_assign_ids(struct fw_rule *rules, size_t n, const struct fw_numbered *num, size_t m);

/* ---- validation and argv building ---- */

struct fw_new_rule {
        const char *port;     /* "N" or "N:M" */
        const char *protocol; /* tcp | udp | "" (both) */
        const char *source;   /* "any" or IPv4/IPv6 address or CIDR */
        const char *action;   /* allow | deny | reject | limit */
        const char *comment;  /* "" or <= 64 printable chars, no quotes/backslash, no leading '-' */
};

bool fw_valid_action(const char *s);
bool fw_valid_protocol(const char *s);
bool fw_valid_source(const char *s);
bool fw_valid_comment(const char *s);
/* NULL when r is acceptable, else a message naming the bad field. */
const char *fw_new_rule_check(const struct fw_new_rule *r);
/* argv of `ufw ACTION [from SRC] to any port PORT [proto PROTO] [comment C]`
 * with proto overriding r->protocol (for the tcp+udp split of a range).
 * argv needs 14 slots; returns the count or -EINVAL. */
int fw_add_argv(const struct fw_new_rule *r, const char *proto, const char **argv, size_t max);
/* argv of `ufw [route] delete SPEC...`; -EINVAL when the spec is not one
 * rule's (an action first, after an optional "route"), a token could be
 * read as an option or holds control characters. argv needs spec+4 slots. */
int fw_delete_argv(const struct fw_rule *r, const char **argv, size_t max);
/* An allow/limit rule that lets tcp port in from anywhere. */
bool fw_rules_allow_tcp_port(const struct fw_rule *rules, size_t n, int port);

/* ---- operations (run ufw; callers hold fw_lock) ---- */

void fw_lock(void);
void fw_unlock(void);

struct fw_state {
        bool active;
        char *output; /* `ufw status verbose` as printed */
        struct fw_status st;
        struct fw_rule *rules;
        size_t n;
};

/* Read status and rules. 0, -ENOENT (no ufw), or -EIO with *err set (malloc'd).
 * = fw_read_texts (through the root helper when there is one) + fw_state_parse
 * (always here: ufw's output is never parsed as root). */
int fw_read(struct fw_state *s, char **err);

/* The outputs of `ufw status verbose`, `ufw show added` and, while ufw is
 * active, `ufw status numbered` (else NULL), as printed. */
struct fw_texts {
        char *verbose, *added, *numbered;
};
/* Run the three commands. 0, -ENOENT (no ufw), -EIO with *err. */
int fw_read_texts(struct fw_texts *t, char **err);
void fw_texts_free(struct fw_texts *t);
/* Parse t into s (takes t->verbose as s->output). 0 or -EIO with *err. */
int fw_state_parse(struct fw_state *s, struct fw_texts *t, char **err);
void fw_state_free(struct fw_state *s);
/* Add a rule (two for a range with both protocols, rolled back together).
 * 0, -EEXIST (ufw already had it), or -EIO with *err. */
int fw_add(const struct fw_new_rule *r, char **err);
/* Delete exactly this rule by its full spec (source included; ufw removes
 * the v6 twin with it). 0, -ESTALE (ufw no longer has it), -EIO with *err. */
int fw_delete(const struct fw_rule *r, char **err);
/* Allow panel_port/tcp and 22/tcp unless already allowed, then enable. The
 * allow rules added here are removed again if enabling fails. */
int fw_enable(int panel_port, char **err);
/* fw_enable's second half, without reading anything: allow panel_port/tcp
 * (FW_ALLOW_PANEL) and 22/tcp (FW_ALLOW_SSH) as asked, then enable (the
 * rules added here go again when enabling fails). -EINVAL for a port
 * outside 1-65535 or another flag. */
#define FW_ALLOW_PANEL 1u
#define FW_ALLOW_SSH   2u
int fw_enable_allowing(int panel_port, unsigned allow, char **err);
int fw_disable(char **err);

/* The default rule set for `setup`: deny incoming, allow outgoing, allow
 * 22/tcp, 80/tcp, 443/tcp, the panel's port/tcp, 53 tcp+udp when AUTARCH
 * DNS is installed, then enable. 0 or -errno. */
int firewall_apply_defaults(const struct config *cfg, bool autarch_dns);
