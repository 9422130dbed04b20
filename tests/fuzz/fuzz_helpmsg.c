/* A datagram on the root helper's sockets (sys/helpmsg.h): the helper
 * decodes whatever the HTTP process sends. Invariants: no crash, no read
 * past the end; an accepted message builds back to exactly the same bytes
 * (nothing is skipped or reinterpreted), and its strings hold no NUL. */
#include <string.h>

#include "fuzz.h"
#include "sys/helpmsg.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        struct hm_msg m;
        int r = hm_parse(data, size, &m);
        if (r == 0) {
                struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
                hm_begin(&hb, m.kind, m.op);
                char sig[HM_MAX_FIELDS + 1];
                for (unsigned i = 0; i < m.n; i++) {
                        sig[i] = m.f[i].type;
                        if (m.f[i].type == 's') {
                                CHECK(strlen(hm_str(&m, i)) == m.f[i].len);
                                hm_add_str(&hb, hm_str(&m, i));
                        } else if (m.f[i].type == 'i') {
                                hm_add_int(&hb, hm_int(&m, i, 0));
                        } else {
                                hm_add_bytes(&hb, m.f[i].data, m.f[i].len);
                        }
                }
                sig[m.n] = 0;
                CHECK(hm_expect(&m, sig));
                CHECK(hm_end(&hb) == 0);
                CHECK(hb.b.len == size && memcmp(hb.b.data, data, size) == 0);
                hm_builder_free(&hb);
        }
        hm_msg_clear(&m);
        return 0;
}
