/* ufw output parsers on outputs captured from the real ufw (in a private
 * namespace), rule validation and argv building. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sys/firewall.h"

static char *slurp(const char *name)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/firewall/%s", FIXTURES, name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = calloc(1, (size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        return buf;
}

static void assert_rule(const struct fw_rule *r, const char *action, const char *dir,
                        const char *proto, const char *port, const char *src, const char *comment)
{
        assert_string_equal(r->action, action);
        assert_string_equal(r->direction, dir);
        assert_string_equal(r->protocol, proto);
        assert_string_equal(r->port, port);
        assert_string_equal(r->source, src);
        assert_string_equal(r->comment, comment);
}

static void test_added_inactive(void **state)
{
        (void)state;
        char *t = slurp("added-inactive.txt");
        struct fw_rule *r = NULL;
        size_t n = 0;
        assert_int_equal(fw_parse_added(t, &r, &n), 0);
        assert_int_equal(n, 14);
        assert_rule(&r[0], "allow", "in", "tcp", "22", "any", "SSH");
        assert_int_equal(r[0].id, 1);
        assert_rule(&r[1], "allow", "in", "tcp", "80,443", "any", "");
        assert_rule(&r[2], "allow", "in", "tcp", "3000:3100", "any", "range app");
        assert_rule(&r[3], "allow", "in", "", "53", "any", "DNS");
        assert_rule(&r[4], "deny", "in", "tcp", "5432", "10.0.0.0/8", "");
        assert_rule(&r[5], "limit", "in", "tcp", "2222", "any", "");
        assert_rule(&r[6], "reject", "in", "tcp", "25", "any", "no smtp");
        assert_rule(&r[7], "allow", "in", "tcp", "8080", "192.168.1.0/24", "lan app");
        assert_rule(&r[8], "allow", "in", "tcp", "8080", "any", "");
        assert_rule(&r[9], "allow", "in", "", "any", "any", "");
        assert_string_equal(r[9].interface, "lo");
        assert_rule(&r[10], "deny", "out", "tcp", "6667", "any", "");
        assert_rule(&r[11], "allow", "in", "udp", "60000:61000", "any", "");
        assert_rule(&r[12], "allow", "in", "", "any", "203.0.113.5", "");
        assert_rule(&r[13], "allow", "in", "udp", "9000", "2001:db8::/32", "");
        assert_int_equal(r[13].id, 14);
        /* the spec names the rule without its comment, source included */
        const char *argv[32];
        int na = fw_delete_argv(&r[7], argv, 32);
        assert_int_equal(na, 11);
        const char *want[] = {"ufw",  "delete", "allow", "from", "192.168.1.0/24", "to", "any",
                              "port", "8080",   "proto", "tcp"};
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                assert_string_equal(argv[i], want[i]);
        assert_null(argv[11]);
        na = fw_delete_argv(&r[0], argv, 32);
        assert_int_equal(na, 4);
        assert_string_equal(argv[3], "22/tcp");
        fw_rules_free(r, n);
        free(t);
}

static void test_added_empty_and_garbage(void **state)
{
        (void)state;
        char *t = slurp("added-empty.txt");
        struct fw_rule *r = NULL;
        size_t n = 7;
        assert_int_equal(fw_parse_added(t, &r, &n), 0);
        assert_int_equal(n, 0);
        fw_rules_free(r, n);
        free(t);
        assert_int_equal(fw_parse_added("ERROR: You need to be root to run this script\n", &r, &n),
                         -EINVAL);
        struct fw_rule one;
        assert_int_equal(fw_parse_rule_line("ufw frobnicate 22", &one), -EINVAL);
        assert_int_equal(fw_parse_rule_line("iptables -F", &one), -EINVAL);
        assert_int_equal(fw_parse_rule_line("ufw allow 'unterminated", &one), -EINVAL);
        /* found by fuzzing: "ufw" and blanks read before the line */
        assert_int_equal(fw_parse_rule_line("ufw      ", &one), -EINVAL);
        assert_int_equal(fw_parse_rule_line("ufw ", &one), -EINVAL);
}

static void test_numbered_active_ids(void **state)
{
        (void)state;
        char *num = slurp("numbered-active.txt");
        char *add = slurp("added-active.txt");
        bool active = false;
        struct fw_numbered *e = NULL;
        size_t m = 0;
        assert_int_equal(fw_parse_numbered(num, &active, &e, &m), 0);
        assert_true(active);
        assert_int_equal(m, 24);
        assert_int_equal(e[0].num, 1);
        assert_string_equal(e[0].to, "22/tcp");
        assert_string_equal(e[0].action, "allow");
        assert_string_equal(e[0].direction, "in");
        assert_string_equal(e[0].from, "Anywhere");
        assert_string_equal(e[0].comment, "SSH");
        assert_false(e[0].v6);
        assert_string_equal(e[4].from, "10.0.0.0/8");
        assert_string_equal(e[4].action, "deny");
        assert_string_equal(e[5].action, "limit");
        assert_string_equal(e[6].action, "reject");
        assert_string_equal(e[6].comment, "no smtp");
        assert_string_equal(e[9].to, "Anywhere on lo");
        assert_true(e[10].out);
        assert_string_equal(e[10].direction, "out");
        assert_string_equal(e[10].from, "Anywhere");
        assert_true(e[13].v6);
        assert_string_equal(e[13].to, "22/tcp");
        assert_string_equal(e[13].from, "Anywhere");
        assert_false(e[19].v6); /* 9000/udp from 2001:db8::/32: printed without "(v6)" */
        assert_string_equal(e[19].from, "2001:db8::/32");
        assert_true(e[21].v6);
        assert_string_equal(e[21].to, "Anywhere on lo");

        struct fw_rule *r = NULL;
        size_t n = 0;
        assert_int_equal(fw_parse_added(add, &r, &n), 0);
        assert_int_equal(n, 14);
        fw_assign_ids(r, n, e, m);
        /* v4 rules keep their numbers, each folded with its v6 twin */
        assert_int_equal(r[0].id, 1);
        assert_int_equal(r[0].v6_id, 14);
        assert_int_equal(r[4].id, 5); /* 10.0.0.0/8: v4 only */
        assert_int_equal(r[4].v6_id, 0);
        assert_int_equal(r[7].id, 8);
        assert_int_equal(r[7].v6_id, 0);
        assert_int_equal(r[8].id, 9);
        assert_int_equal(r[8].v6_id, 21);
        assert_int_equal(r[9].v6_id, 22);  /* Anywhere on lo */
        assert_int_equal(r[10].v6_id, 23); /* deny out */
        assert_int_equal(r[12].id, 13);
        assert_int_equal(r[13].id, 20); /* the v6-only rule */
        assert_int_equal(r[13].v6_id, 0);

        /* lists that do not line up keep positions */
        fw_assign_ids(r, n - 1, e, m);
        assert_int_equal(r[12].id, 13);
        assert_int_equal(r[0].v6_id, 0);
        fw_assign_ids(r, n, e, 3);
        assert_int_equal(r[13].id, 14);
        fw_assign_ids(r, n, NULL, 0);
        assert_int_equal(r[13].id, 14);
        fw_rules_free(r, n);
        fw_numbered_free(e, m);
        free(num);
        free(add);
}

static void test_numbered_complex(void **state)
{
        (void)state;
        char *num = slurp("numbered-complex.txt");
        char *add = slurp("added-complex.txt");
        bool active = false;
        struct fw_numbered *e = NULL;
        size_t m = 0;
        assert_int_equal(fw_parse_numbered(num, &active, &e, &m), 0);
        assert_int_equal(m, 11);
        assert_true(e[2].out);
        assert_string_equal(e[2].comment, "irc out");
        assert_string_equal(e[3].to, "10.2.0.1 80/tcp");
        assert_string_equal(e[3].from, "10.1.0.0/16 1234/tcp");
        assert_string_equal(e[5].direction, "fwd");
        assert_string_equal(e[5].from, "Anywhere on eth0");
        assert_string_equal(e[6].comment, "a # b (out)");
        assert_false(e[6].out);
        assert_string_equal(e[9].to, "25 on eth0");

        struct fw_rule *r = NULL;
        size_t n = 0;
        assert_int_equal(fw_parse_added(add, &r, &n), 0);
        assert_int_equal(n, 7);
        assert_rule(&r[2], "deny", "out", "tcp", "6667", "any", "irc out");
        /* a source port is not the rule's port */
        assert_rule(&r[3], "allow", "in", "tcp", "80", "10.1.0.0/16", "");
        assert_string_equal(r[3].destination, "10.2.0.1");
        assert_rule(&r[4], "allow", "in", "", "25", "any", "");
        assert_string_equal(r[4].interface, "eth0");
        assert_rule(&r[5], "allow", "fwd", "tcp", "80", "any", "");
        assert_string_equal(r[5].interface, "in eth0 out eth1");
        assert_rule(&r[6], "allow", "in", "udp", "53", "any", "a # b (out)");
        fw_assign_ids(r, n, e, m);
        assert_int_equal(r[1].id, 2);
        assert_int_equal(r[2].v6_id, 9);
        assert_int_equal(r[4].v6_id, 10);
        assert_int_equal(r[6].id, 7);
        assert_int_equal(r[6].v6_id, 11);
        const char *argv[32];
        assert_int_equal(fw_delete_argv(&r[5], argv, 32), 16);
        assert_string_equal(argv[1], "route");
        assert_string_equal(argv[2], "delete");
        assert_string_equal(argv[3], "allow");
        fw_rules_free(r, n);
        fw_numbered_free(e, m);
        free(num);
        free(add);
}

static void test_numbered_inactive(void **state)
{
        (void)state;
        char *num = slurp("numbered-inactive.txt");
        bool active = true;
        struct fw_numbered *e = NULL;
        size_t m = 9;
        assert_int_equal(fw_parse_numbered(num, &active, &e, &m), 0);
        assert_false(active);
        assert_int_equal(m, 0);
        fw_numbered_free(e, m);
        free(num);
        assert_int_equal(fw_parse_numbered("ERROR: problem running\n", &active, &e, &m), -EINVAL);
}

static void test_verbose(void **state)
{
        (void)state;
        char *t = slurp("verbose-active.txt");
        struct fw_status st;
        assert_int_equal(fw_parse_verbose(t, &st), 0);
        assert_true(st.active);
        assert_string_equal(st.logging, "on (low)");
        assert_string_equal(st.default_incoming, "deny");
        assert_string_equal(st.default_outgoing, "allow");
        assert_string_equal(st.default_routed, "disabled");
        fw_status_free(&st);
        free(t);
        t = slurp("verbose-complex.txt");
        assert_int_equal(fw_parse_verbose(t, &st), 0);
        assert_string_equal(st.default_incoming, "allow");
        assert_string_equal(st.logging, "on (medium)");
        fw_status_free(&st);
        free(t);
        t = slurp("verbose-inactive.txt");
        assert_int_equal(fw_parse_verbose(t, &st), 0);
        assert_false(st.active);
        assert_null(st.default_incoming);
        fw_status_free(&st);
        free(t);
        assert_int_equal(fw_parse_verbose("ERROR: You need to be root\n", &st), -EINVAL);
        /* found by fuzzing (a leak): a second Default: line replaces the first */
        assert_int_equal(fw_parse_verbose("Status: active\nDefault: deny (incoming)\n"
                                          "Default: reject (incoming), allow (outgoing)\n",
                                          &st),
                         0);
        assert_string_equal(st.default_incoming, "reject");
        assert_string_equal(st.default_outgoing, "allow");
        assert_null(st.default_routed);
        fw_status_free(&st);
}

static void test_validators(void **state)
{
        (void)state;
        static const char *const bad_ports[] = {
            "",        "0",      "65536",  "a:b",  "1-2",       "22;ls",
            "22\n",    "--",     "-22",    "22 ",  "3100:3000", "22:22",
            "1:65536", "80,443", "22/tcp", "0x16", "+22",       "99999999999"};
        for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
                struct fw_new_rule r = {bad_ports[i], "tcp", "any", "allow", ""};
                const char *msg = fw_new_rule_check(&r);
                assert_non_null(msg);
                assert_non_null(strstr(msg, "port"));
        }
        static const char *const good_ports[] = {"1", "22", "65535", "3000:3100", "1:65535"};
        for (size_t i = 0; i < sizeof(good_ports) / sizeof(good_ports[0]); i++) {
                struct fw_new_rule r = {good_ports[i], "", "any", "limit", "ok comment #1; fine"};
                assert_null(fw_new_rule_check(&r));
        }
        static const char *const bad_sources[] = {
            "",         "anywhere", "10.0.0.0/33", "1.2.3",     "--force",
            "1.2.3.4;", "::1/129",  "a b",         "1.2.3.4\n", "2001:db8::/32x"};
        for (size_t i = 0; i < sizeof(bad_sources) / sizeof(bad_sources[0]); i++) {
                struct fw_new_rule r = {"22", "tcp", bad_sources[i], "allow", ""};
                const char *msg = fw_new_rule_check(&r);
                assert_non_null(msg);
                assert_non_null(strstr(msg, "source"));
        }
        static const char *const good_sources[] = {"any", "10.0.0.1", "192.168.1.0/24", "::1",
                                                   "2001:db8::/32"};
        for (size_t i = 0; i < sizeof(good_sources) / sizeof(good_sources[0]); i++) {
                struct fw_new_rule r = {"22", "tcp", good_sources[i], "allow", ""};
                assert_null(fw_new_rule_check(&r));
        }
        static const char *const bad_comments[] = {
            "a\nb",
            "it's",
            "say \"hi\"",
            "back\\slash",
            "--force",
            "-x",
            "tab\there",
            "`id`",
            "12345678901234567890123456789012345678901234567890123456789012345"};
        for (size_t i = 0; i < sizeof(bad_comments) / sizeof(bad_comments[0]); i++) {
                struct fw_new_rule r = {"22", "tcp", "any", "allow", bad_comments[i]};
                const char *msg = fw_new_rule_check(&r);
                assert_non_null(msg);
                assert_non_null(strstr(msg, "comment"));
        }
        static const char *const bad_actions[] = {"", "ALLOW", "accept", "allow;", "drop"};
        for (size_t i = 0; i < sizeof(bad_actions) / sizeof(bad_actions[0]); i++) {
                struct fw_new_rule r = {"22", "tcp", "any", bad_actions[i], ""};
                assert_non_null(strstr(fw_new_rule_check(&r), "action"));
        }
        static const char *const bad_protos[] = {"TCP", "icmp", "any", "tcp;", "both"};
        for (size_t i = 0; i < sizeof(bad_protos) / sizeof(bad_protos[0]); i++) {
                struct fw_new_rule r = {"22", bad_protos[i], "any", "allow", ""};
                assert_non_null(strstr(fw_new_rule_check(&r), "protocol"));
        }
}

static void test_add_argv(void **state)
{
        (void)state;
        const char *argv[16];
        struct fw_new_rule r = {"8080", "tcp", "any", "allow", "Custom app"};
        assert_int_equal(fw_add_argv(&r, r.protocol, argv, 16), 10);
        const char *w1[] = {"ufw",  "allow", "to",  "any",     "port",
                            "8080", "proto", "tcp", "comment", "Custom app"};
        for (size_t i = 0; i < 10; i++)
                assert_string_equal(argv[i], w1[i]);
        assert_null(argv[10]);
        struct fw_new_rule r2 = {"3000:3100", "", "10.0.0.0/8", "deny", ""};
        assert_int_equal(fw_add_argv(&r2, "", argv, 16), 8);
        const char *w2[] = {"ufw", "deny", "from", "10.0.0.0/8", "to", "any", "port", "3000:3100"};
        for (size_t i = 0; i < 8; i++)
                assert_string_equal(argv[i], w2[i]);
        assert_int_equal(fw_add_argv(&r2, "udp", argv, 16), 10);
        assert_string_equal(argv[9], "udp");
        struct fw_new_rule bad = {"22;reboot", "tcp", "any", "allow", ""};
        assert_int_equal(fw_add_argv(&bad, "tcp", argv, 16), -EINVAL);
        assert_int_equal(fw_add_argv(&r, "icmp", argv, 16), -EINVAL);
        assert_int_equal(fw_add_argv(&r, "tcp", argv, 8), -EINVAL);

        /* a spec token that could be read as an option is refused */
        struct fw_rule *rule = calloc(1, sizeof(*rule));
        assert_non_null(rule);
        assert_int_equal(fw_parse_rule_line("ufw allow from -x to any port 22", rule), 0);
        assert_int_equal(fw_delete_argv(rule, argv, 16), -EINVAL);
        fw_rules_free(rule, 1);
}

static void test_allow_tcp_port(void **state)
{
        (void)state;
        char *t = slurp("added-inactive.txt");
        struct fw_rule *r = NULL;
        size_t n = 0;
        assert_int_equal(fw_parse_added(t, &r, &n), 0);
        assert_true(fw_rules_allow_tcp_port(r, n, 22));
        assert_true(fw_rules_allow_tcp_port(r, n, 443));   /* 80,443/tcp */
        assert_true(fw_rules_allow_tcp_port(r, n, 3050));  /* 3000:3100/tcp */
        assert_true(fw_rules_allow_tcp_port(r, n, 53));    /* both protocols */
        assert_true(fw_rules_allow_tcp_port(r, n, 2222));  /* limit */
        assert_false(fw_rules_allow_tcp_port(r, n, 5432)); /* deny */
        assert_false(fw_rules_allow_tcp_port(r, n, 25));   /* reject */
        assert_false(fw_rules_allow_tcp_port(r, n, 9000)); /* udp, v6 source only */
        assert_false(fw_rules_allow_tcp_port(r, n, 9090));
        assert_false(fw_rules_allow_tcp_port(r, n, 60500)); /* udp range */
        /* "ufw allow in on lo" allows any port, but only on lo */
        fw_rules_free(r, n);
        free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_added_inactive),
            cmocka_unit_test(test_added_empty_and_garbage),
            cmocka_unit_test(test_numbered_active_ids),
            cmocka_unit_test(test_numbered_complex),
            cmocka_unit_test(test_numbered_inactive),
            cmocka_unit_test(test_verbose),
            cmocka_unit_test(test_validators),
            cmocka_unit_test(test_add_argv),
            cmocka_unit_test(test_allow_tcp_port),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
