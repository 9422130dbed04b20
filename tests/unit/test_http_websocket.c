/* The RFC 6455 frame parser and helpers of http/websocket.h (the connection
 * side runs in tests/api/test_float.py). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/websocket.h"

struct seen {
        int n;
        enum ws_event ev[8];
        int opcode[8];
        unsigned code[8];
        size_t len[8];
        uint8_t data[8][256];
};

static int record(void *ctx, enum ws_event ev, int opcode, unsigned code, const uint8_t *data,
                  size_t len)
{
        struct seen *s = ctx;
        if (s->n < 8) {
                s->ev[s->n] = ev;
                s->opcode[s->n] = opcode;
                s->code[s->n] = code;
                s->len[s->n] = len;
                memcpy(s->data[s->n], data, len < 256 ? len : 256);
                s->n++;
        }
        return 0;
}

/* A client frame: masked with a fixed key unless mask is false. */
static size_t client_frame(uint8_t *out, int opcode, bool fin, const void *payload, size_t n,
                           bool mask)
{
        static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
        size_t h = ws_frame_header(out, opcode, fin, n);
        if (mask) {
                out[1] |= 0x80;
                memcpy(out + h, key, 4);
                h += 4;
        }
        for (size_t i = 0; i < n; i++)
                out[h + i] = ((const uint8_t *)payload)[i] ^ (mask ? key[i & 3] : 0);
        return h + n;
}

static int feed(struct ws_reader *rd, const uint8_t *b, size_t n, struct seen *s)
{
        return ws_reader_feed(rd, b, n, record, s);
}

static void test_accept_key(void **state)
{
        (void)state;
        char out[29];
        /* RFC 6455 §1.3 */
        assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
        assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_int_equal(ws_accept_key("short", out), -EINVAL);
        assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -EINVAL);
        assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub2!jZQ==", out), -EINVAL);
        assert_int_equal(ws_accept_key(NULL, out), -EINVAL);
}

static void test_frame_header_sizes(void **state)
{
        (void)state;
        uint8_t h[10];
        assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 125), 2);
        assert_int_equal(h[0], 0x82);
        assert_int_equal(h[1], 125);
        assert_int_equal(ws_frame_header(h, WS_OP_TEXT, false, 126), 4);
        assert_int_equal(h[0], 0x01);
        assert_int_equal(h[1], 126);
        assert_int_equal(h[2] << 8 | h[3], 126);
        assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 65536), 10);
        assert_int_equal(h[1], 127);
        assert_int_equal(h[7], 1);
}

static void test_masked_message_byte_by_byte(void **state)
{
        (void)state;
        uint8_t b[64];
        size_t n = client_frame(b, WS_OP_BINARY, true, "\x01\x00\x00\x00\x00", 5, true);
        struct ws_reader rd;
        ws_reader_init(&rd, WS_MAX_MESSAGE, true);
        struct seen s = {0};
        for (size_t i = 0; i < n; i++)
                assert_int_equal(feed(&rd, b + i, 1, &s), 0);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.ev[0], WS_EV_MESSAGE);
        assert_int_equal(s.opcode[0], WS_OP_BINARY);
        assert_int_equal(s.len[0], 5);
        assert_memory_equal(s.data[0], "\x01\x00\x00\x00\x00", 5);
        ws_reader_free(&rd);
}

static void test_fragments_with_control_between(void **state)
{
        (void)state;
        uint8_t b[128];
        size_t n = client_frame(b, WS_OP_TEXT, false, "hel", 3, true);
        n += client_frame(b + n, WS_OP_PING, true, "p", 1, true);
        n += client_frame(b + n, WS_OP_CONT, false, "lo ", 3, true);
        n += client_frame(b + n, WS_OP_CONT, true, "you", 3, true);
        n += client_frame(b + n, WS_OP_PONG, true, "", 0, true);
        struct ws_reader rd;
        ws_reader_init(&rd, WS_MAX_MESSAGE, true);
        struct seen s = {0};
        assert_int_equal(feed(&rd, b, n, &s), 0);
        assert_int_equal(s.n, 3);
        assert_int_equal(s.ev[0], WS_EV_PING);
        assert_int_equal(s.ev[1], WS_EV_MESSAGE);
        assert_int_equal(s.opcode[1], WS_OP_TEXT);
        assert_int_equal(s.len[1], 9);
        assert_memory_equal(s.data[1], "hello you", 9);
        assert_int_equal(s.ev[2], WS_EV_PONG);
        ws_reader_free(&rd);
}

static int outcome(const uint8_t *b, size_t n, size_t max)
{
        struct ws_reader rd;
        ws_reader_init(&rd, max, true);
        struct seen s = {0};
        int r = feed(&rd, b, n, &s);
        ws_reader_free(&rd);
        return r;
}

static void test_violations(void **state)
{
        (void)state;
        static uint8_t b[70000];
        size_t n = client_frame(b, WS_OP_BINARY, true, "x", 1, false);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* unmasked */
        n = client_frame(b, WS_OP_BINARY, true, "x", 1, true);
        b[0] |= 0x40;
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* RSV1 */
        n = client_frame(b, WS_OP_CONT, true, "x", 1, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* nothing to continue */
        n = client_frame(b, 0x3, true, "x", 1, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* reserved opcode */
        uint8_t big[200] = {0};
        n = client_frame(b, WS_OP_PING, true, big, 126, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* long control frame */
        n = client_frame(b, WS_OP_PING, false, "x", 1, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* fragmented control */
        n = client_frame(b, WS_OP_TEXT, true, "\xc3\x28", 2, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1007);
        n = client_frame(b, WS_OP_CLOSE, true, "\x03\xe8\xff", 3, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1007); /* reason not UTF-8 */
        n = client_frame(b, WS_OP_CLOSE, true, "\x03", 1, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* 1-byte close */
        n = client_frame(b, WS_OP_CLOSE, true, "\x03\xed", 2, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1002); /* 1005 on the wire */
        /* 65,536 bytes pass, one more is too big, also across fragments */
        static uint8_t payload[65537];
        n = client_frame(b, WS_OP_BINARY, true, payload, 65536, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 0);
        n = client_frame(b, WS_OP_BINARY, true, payload, 65537, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1009);
        n = client_frame(b, WS_OP_BINARY, false, payload, 40000, true);
        n += client_frame(b + n, WS_OP_CONT, true, payload, 25537, true);
        assert_int_equal(outcome(b, n, WS_MAX_MESSAGE), 1009);
        /* a 16-bit length below 126 is not minimal */
        uint8_t nm[] = {0x82, 0xfe, 0x00, 0x05, 0, 0, 0, 0, 1, 2, 3, 4, 5};
        assert_int_equal(outcome(nm, sizeof(nm), WS_MAX_MESSAGE), 1002);
}

static void test_close_code_and_reason(void **state)
{
        (void)state;
        uint8_t b[64];
        size_t n = client_frame(b, WS_OP_CLOSE, true, "\x0b\xb8ok", 4, true);
        struct ws_reader rd;
        ws_reader_init(&rd, WS_MAX_MESSAGE, true);
        struct seen s = {0};
        assert_int_equal(feed(&rd, b, n, &s), 0);
        assert_int_equal(s.ev[0], WS_EV_CLOSE);
        assert_int_equal(s.code[0], 3000);
        assert_int_equal(s.len[0], 2);
        assert_memory_equal(s.data[0], "ok", 2);
        ws_reader_free(&rd);
        n = client_frame(b, WS_OP_CLOSE, true, "", 0, true);
        ws_reader_init(&rd, WS_MAX_MESSAGE, true);
        memset(&s, 0, sizeof(s));
        assert_int_equal(feed(&rd, b, n, &s), 0);
        assert_int_equal(s.code[0], 0);
        ws_reader_free(&rd);
}

static void test_utf8(void **state)
{
        (void)state;
        assert_true(ws_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
        assert_false(ws_utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong */
        assert_false(ws_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
        assert_false(ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
        assert_false(ws_utf8_valid((const uint8_t *)"\xe2\x82", 2));         /* truncated */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_accept_key),
            cmocka_unit_test(test_frame_header_sizes),
            cmocka_unit_test(test_masked_message_byte_by_byte),
            cmocka_unit_test(test_fragments_with_control_between),
            cmocka_unit_test(test_violations),
            cmocka_unit_test(test_close_code_and_reason),
            cmocka_unit_test(test_utf8),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
