/* The WebSocket frame parser (http/websocket.h, ws_reader) on what a client
 * may send. Input: byte 0 picks a chunk size (1..64), the rest is the byte
 * stream, fed once whole and once in chunks. The two feeds must report the
 * same events and the same outcome (a parser that depends on how TCP cuts
 * the stream is wrong); a message is never longer than the limit; a text
 * message and a close reason are valid UTF-8; the outcome is 0 or one of the
 * close codes the header lists. Leaks show up through LeakSanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/websocket.h"

#define MAX_MSG 4096 /* small, so that 1009 is reached */

struct trace {
        uint64_t hash;
        size_t events;
};

static int on_event(void *ctx, enum ws_event ev, int opcode, unsigned code, const uint8_t *data,
                    size_t len)
{
        struct trace *t = ctx;
        CHECK(len <= MAX_MSG);
        if (ev == WS_EV_MESSAGE)
                CHECK(opcode == WS_OP_TEXT || opcode == WS_OP_BINARY);
        if ((ev == WS_EV_MESSAGE && opcode == WS_OP_TEXT) || ev == WS_EV_CLOSE)
                CHECK(ws_utf8_valid(data, len));
        if (ev == WS_EV_PING || ev == WS_EV_PONG || ev == WS_EV_CLOSE)
                CHECK(len <= 125);
        uint64_t h = t->hash ^ ((uint64_t)ev << 56 | (uint64_t)opcode << 48 | code << 8 | len);
        for (size_t i = 0; i < len; i++)
                h = (h ^ data[i]) * 0x100000001b3ull;
        t->hash = h * 0x100000001b3ull;
        t->events++;
        return 0;
}

static int run(const uint8_t *d, size_t n, size_t chunk, struct trace *t)
{
        struct ws_reader rd;
        ws_reader_init(&rd, MAX_MSG, true);
        int r = 0;
        for (size_t off = 0; off < n && r == 0; off += chunk) {
                size_t k = n - off < chunk ? n - off : chunk;
                r = ws_reader_feed(&rd, d + off, k, on_event, t);
        }
        ws_reader_free(&rd);
        return r;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        if (size < 1)
                return 0;
        size_t chunk = (size_t)(data[0] % 64) + 1;
        struct trace whole = {0}, cut = {0};
        int a = run(data + 1, size - 1, size, &whole);
        int b = run(data + 1, size - 1, chunk, &cut);
        CHECK(a == 0 || a == 1002 || a == 1007 || a == 1009 || a == 1011);
        CHECK(a == b);
        CHECK(whole.events == cut.events && whole.hash == cut.hash);
        return 0;
}
