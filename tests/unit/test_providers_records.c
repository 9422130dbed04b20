/* providers: DNS record validation and conversions (Hostinger spelling and
 * PowerDNS canonical spelling, both ways), stable ids, SSH public key
 * parsing with the locally computed fingerprint, upstream error parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "providers/provider.h"
#include "providers/records.h"
#include "providers/sshkey.h"

static int check(const char *name, const char *type, const char *content, long ttl, long prio,
                 const char **field)
{
        struct dns_record r = {(char *)name, (char *)type, (char *)content, ttl, prio};
        char msg[160];
        *field = NULL;
        return dns_record_check(&r, field, msg, sizeof(msg));
}

static void test_check(void **state)
{
        (void)state;
        const char *f;
        assert_int_equal(check("@", "A", "192.0.2.1", 300, -1, &f), 0);
        assert_int_equal(check("*.dev", "AAAA", "2001:db8::1", 60, -1, &f), 0);
        assert_int_equal(check("_dmarc", "TXT", "v=DMARC1; p=none", 3600, -1, &f), 0);
        assert_int_equal(check("@", "MX", "mx.example.com", 3600, 10, &f), 0);
        assert_int_equal(check("_sip._tcp", "SRV", "5 5060 sip.example.com", 3600, 0, &f), 0);
        assert_int_equal(check("@", "CAA", "0 issue \"letsencrypt.org\"", 3600, -1, &f), 0);
        assert_int_equal(check("www", "CNAME", "example.com", 3600, -1, &f), 0);

        assert_int_equal(check("@", "A", "1.2.3", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "content");
        assert_int_equal(check("a..b", "A", "1.2.3.4", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "name");
        assert_int_equal(check("x.", "A", "1.2.3.4", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "name");
        assert_int_equal(check("a*", "A", "1.2.3.4", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "name");
        assert_int_equal(check("@", "SOA", "x", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "type");
        assert_int_equal(check("@", "A", "1.2.3.4", 59, -1, &f), -EINVAL);
        assert_string_equal(f, "ttl");
        assert_int_equal(check("@", "A", "1.2.3.4", 604801, -1, &f), -EINVAL);
        assert_string_equal(f, "ttl");
        assert_int_equal(check("@", "MX", "mx.example.com", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "priority");
        assert_int_equal(check("@", "A", "1.2.3.4", 300, 5, &f), -EINVAL);
        assert_string_equal(f, "priority");
        assert_int_equal(check("@", "CAA", "256 issue x", 300, -1, &f), -EINVAL);
        assert_string_equal(f, "content");
        assert_int_equal(check("@", "SRV", "1 2", 300, 1, &f), -EINVAL);
        assert_string_equal(f, "content");
        char big[4100];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(check("@", "TXT", big, 300, -1, &f), -EINVAL);
        assert_string_equal(f, "content");
}

static void round_trip(const char *type, const char *content, long prio, bool canonical,
                       const char *want_up)
{
        struct dns_record r = {(char *)"@", (char *)type, (char *)content, 300, prio};
        char *up = dns_content_to_upstream(&r, canonical);
        assert_string_equal(up, want_up);
        struct dns_record back = {NULL, (char *)type, NULL, 300, -1};
        assert_int_equal(dns_content_from_upstream(&back, up), 0);
        assert_string_equal(back.content, content);
        assert_int_equal(back.priority, prio);
        free(back.content);
        free(up);
}

static void test_conversions(void **state)
{
        (void)state;
        round_trip("MX", "mx.example.com", 10, false, "10 mx.example.com");
        round_trip("MX", "mx.example.com", 10, true, "10 mx.example.com.");
        round_trip("SRV", "5 5060 sip.example.com", 20, true, "20 5 5060 sip.example.com.");
        round_trip("CNAME", "www.example.com", -1, true, "www.example.com.");
        round_trip("TXT", "v=spf1 \"x\" \\", -1, true, "\"v=spf1 \\\"x\\\" \\\\\"");
        round_trip("TXT", "plain text", -1, false, "plain text");
        round_trip("A", "192.0.2.1", -1, true, "192.0.2.1");
        /* a long TXT is split into 255-byte strings and joined back */
        char big[600];
        memset(big, 'b', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        struct dns_record r = {(char *)"@", (char *)"TXT", big, 300, -1};
        char *up = dns_content_to_upstream(&r, true);
        assert_non_null(strstr(up, "\" \""));
        struct dns_record back = {NULL, (char *)"TXT", NULL, 300, -1};
        assert_int_equal(dns_content_from_upstream(&back, up), 0);
        assert_string_equal(back.content, big);
        free(back.content);
        free(up);
        /* a MX without a priority upstream is refused */
        struct dns_record bad = {NULL, (char *)"MX", NULL, 300, -1};
        assert_int_equal(dns_content_from_upstream(&bad, "mx.example.com"), -EINVAL);
        free(bad.content);
}

static void test_names(void **state)
{
        (void)state;
        char *s = dns_name_relative("www.example.com.", "example.com");
        assert_string_equal(s, "www");
        free(s);
        s = dns_name_relative("EXAMPLE.com.", "example.com");
        assert_string_equal(s, "@");
        free(s);
        assert_null(dns_name_relative("www.other.com.", "example.com"));
        assert_null(dns_name_relative("xexample.com.", "example.com"));
        s = dns_name_absolute("@", "example.com");
        assert_string_equal(s, "example.com.");
        free(s);
        s = dns_name_absolute("a.b", "example.com");
        assert_string_equal(s, "a.b.example.com.");
        free(s);
}

static void test_ids_stable(void **state)
{
        (void)state;
        struct dns_record a = {(char *)"@", (char *)"MX", (char *)"mx.example.com", 300, 10};
        struct dns_record b = a;
        b.ttl = 900; /* the ttl is not part of the identity */
        char *x = dns_record_id(&a), *y = dns_record_id(&b);
        assert_string_equal(x, y);
        assert_memory_equal(x, "@/MX/", 5);
        assert_int_equal(strlen(x), 5 + 12);
        b.priority = 20;
        char *z = dns_record_id(&b);
        assert_string_not_equal(x, z);
        free(x);
        free(y);
        free(z);
}

static void test_from_json(void **state)
{
        (void)state;
        json_t *j = json_pack("{s:s,s:s,s:s,s:i}", "type", "mx", "name", "@", "content",
                              "mx.example.com", "priority", 5);
        struct dns_record r;
        const char *f = NULL;
        char msg[160];
        assert_int_equal(dns_record_from_json(j, &r, &f, msg, sizeof(msg)), 0);
        assert_string_equal(r.type, "MX");
        assert_int_equal(r.ttl, DNS_DEFAULT_TTL);
        assert_int_equal(r.priority, 5);
        free(r.name);
        free(r.type);
        free(r.content);
        json_object_set_new(j, "ttl", json_string("300"));
        assert_int_equal(dns_record_from_json(j, &r, &f, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(f, "ttl");
        free(r.name);
        free(r.type);
        free(r.content);
        json_decref(j);
}

/* a well-formed ssh-ed25519 key; its fingerprint as ssh-keygen -lf prints it */
#define ED_KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuGsnP/NPzhnWuATv9aP1dHraTqoi8dScAeUt23h1tL x"
#define ED_FP  "SHA256:5iAfUwv84rC1oiP4DZsO4wtajGrpFQRM8Ds+DpJoU6I"

static void test_sshkey(void **state)
{
        (void)state;
        char fp[SSHKEY_FP_LEN], msg[160];
        assert_int_equal(sshkey_parse(ED_KEY, fp, msg, sizeof(msg)), 0);
        assert_string_equal(fp, ED_FP);
        assert_int_equal(sshkey_parse(ED_KEY "\n", fp, msg, sizeof(msg)), 0);
        assert_int_equal(sshkey_parse("ssh-ed25519", fp, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(sshkey_parse("ssh-dss AAAA", fp, msg, sizeof(msg)), -EINVAL);
        assert_int_equal(
            sshkey_parse(
                "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGuGsnP/NPzhnWuATv9aP1dHraTqoi8dScAeUt23h1tL", fp,
                msg, sizeof(msg)),
            -EINVAL);
        assert_non_null(strstr(msg, "match"));
        /* truncated blob */
        assert_int_equal(
            sshkey_parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuGsnP", fp, msg, sizeof(msg)),
            -EINVAL);
        assert_int_equal(sshkey_parse("ssh-ed25519 AAAA$$$$", fp, msg, sizeof(msg)), -EINVAL);
}

static void test_error_parse(void **state)
{
        (void)state;
        struct provider p = {.name = "t", .display_name = "T"};
        struct prov_ctx c = {.p = &p};
        const char *j = "{\"message\":\"The given data was invalid.\",\"correlation_id\":\"c-1\","
                        "\"errors\":{\"zone.0.ttl\":[\"too small\\n\"]}}";
        prov_parse_error(&c, 422, j, strlen(j));
        assert_string_equal(c.err.message, "The given data was invalid.");
        assert_string_equal(c.err.correlation_id, "c-1");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(c.err.fields, "zone.0.ttl"), 0)),
            "too small");
        const char *t = "Not Found\r\n";
        prov_parse_error(&c, 404, t, strlen(t));
        assert_string_equal(c.err.message, "Not Found");
        assert_null(c.err.fields);
        prov_parse_error(&c, 503, "", 0);
        assert_string_equal(c.err.message, "upstream answered HTTP 503");
        j = "{\"error\":\"RRset x. IN CNAME: Conflicts\"}";
        prov_parse_error(&c, 422, j, strlen(j));
        assert_string_equal(c.err.message, "RRset x. IN CNAME: Conflicts");
        prov_ctx_clear(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_check),       cmocka_unit_test(test_conversions),
            cmocka_unit_test(test_names),       cmocka_unit_test(test_ids_stable),
            cmocka_unit_test(test_from_json),   cmocka_unit_test(test_sshkey),
            cmocka_unit_test(test_error_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
