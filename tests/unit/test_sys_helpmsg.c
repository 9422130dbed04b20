/* The root helper's wire format: what is built parses back the same, and
 * every malformed datagram is refused without reading past its end. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/helpmsg.h"

static void build(struct hm_builder *hb)
{
        *hb = (struct hm_builder){.b = STRBUF_INIT(HM_MAX)};
        hm_begin(hb, HM_REQUEST, HOP_FW_ADD);
        hm_add_str(hb, "22");
        hm_add_int(hb, -5);
        hm_add_bytes(hb, "a\0b", 3);
        hm_add_str(hb, NULL);
        assert_int_equal(hm_end(hb), 0);
}

static void test_round_trip(void **state)
{
        (void)state;
        struct hm_builder hb;
        build(&hb);
        struct hm_msg m;
        assert_int_equal(hm_parse(hb.b.data, hb.b.len, &m), 0);
        assert_int_equal(m.kind, HM_REQUEST);
        assert_int_equal(m.op, HOP_FW_ADD);
        assert_true(hm_expect(&m, "sibs"));
        assert_false(hm_expect(&m, "sib"));
        assert_false(hm_expect(&m, "sisb"));
        assert_string_equal(hm_str(&m, 0), "22");
        assert_null(hm_str(&m, 1)); /* an int is no string */
        assert_int_equal(hm_int(&m, 1, 0), -5);
        assert_int_equal(hm_int(&m, 0, 7), 7);
        assert_int_equal(m.f[2].len, 3);
        assert_memory_equal(m.f[2].data, "a\0b", 3);
        assert_string_equal(hm_str(&m, 3), "");
        assert_null(hm_str(&m, 4)); /* past the end */
        assert_string_equal(hm_op_name(m.op), "fw_add");
        assert_string_equal(hm_op_name(9999), "?");
        hm_msg_clear(&m);
        hm_builder_free(&hb);
}

static void test_malformed(void **state)
{
        (void)state;
        struct hm_builder hb;
        build(&hb);
        unsigned char *b = malloc(hb.b.len + 8);
        struct hm_msg m;
        /* every truncation is refused */
        for (size_t n = 0; n < hb.b.len; n++) {
                memcpy(b, hb.b.data, n);
                assert_int_equal(hm_parse(b, n, &m), -EBADMSG);
                hm_msg_clear(&m);
        }
        /* trailing bytes */
        memcpy(b, hb.b.data, hb.b.len);
        b[hb.b.len] = 0;
        assert_int_equal(hm_parse(b, hb.b.len + 1, &m), -EBADMSG);
        hm_msg_clear(&m);
        /* magic, version, kind, field count, field type, a NUL in a string, an int of 4 bytes */
        struct {
                size_t at;
                unsigned char v;
        } bad[] = {{0, 'X'}, {2, 9}, {3, 0}, {3, 5}, {7, 5}, {8, 'x'}, {13, 0}, {19, 4}};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memcpy(b, hb.b.data, hb.b.len);
                b[bad[i].at] = bad[i].v;
                assert_int_equal(hm_parse(b, hb.b.len, &m), -EBADMSG);
                hm_msg_clear(&m);
        }
        /* a length that points past the end */
        memcpy(b, hb.b.data, hb.b.len);
        b[9] = 0x7f;
        assert_int_equal(hm_parse(b, hb.b.len, &m), -EBADMSG);
        hm_msg_clear(&m);
        free(b);
        hm_builder_free(&hb);
}

static void test_builder_limits(void **state)
{
        (void)state;
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_OUTPUT, HOP_NONE);
        for (unsigned i = 0; i < HM_MAX_FIELDS; i++)
                hm_add_int(&hb, i);
        assert_int_equal(hm_end(&hb), 0);
        hm_add_int(&hb, 1);
        assert_int_equal(hm_end(&hb), -EINVAL); /* one field too many: sticks */
        hm_begin(&hb, HM_OUTPUT, HOP_NONE);
        char *big = malloc(HM_MAX);
        memset(big, 'a', HM_MAX);
        hm_add_bytes(&hb, big, HM_MAX); /* header + field header + HM_MAX > HM_MAX */
        assert_int_equal(hm_end(&hb), -E2BIG);
        free(big);
        hm_builder_free(&hb);
}

static void test_send_recv_fd(void **state)
{
        (void)state;
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        struct hm_builder hb;
        build(&hb);
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(hm_send(sv[0], &hb, p[1]), 0);
        unsigned char buf[HM_MAX];
        size_t len = 0;
        int fd = -1;
        assert_int_equal(hm_recv(sv[1], buf, sizeof(buf), &len, &fd), 0);
        assert_int_equal(len, hb.b.len);
        assert_true(fd >= 0 && fd != p[1]);
        assert_int_equal(write(fd, "x", 1), 1); /* the same pipe */
        char c = 0;
        assert_int_equal(read(p[0], &c, 1), 1);
        assert_int_equal(c, 'x');
        close(fd);
        /* too small a buffer: refused, not cut */
        assert_int_equal(hm_send(sv[0], &hb, -1), 0);
        assert_int_equal(hm_recv(sv[1], buf, 4, &len, NULL), -EMSGSIZE);
        close(sv[0]);
        assert_int_equal(hm_recv(sv[1], buf, sizeof(buf), &len, NULL), -EPIPE);
        close(sv[1]);
        close(p[0]);
        close(p[1]);
        hm_builder_free(&hb);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_builder_limits),
            cmocka_unit_test(test_send_recv_fd),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
