/* INI text (core/ini.h), as PUT /autarch/config receives it. Invariants:
 * no crash; a refusal names a line that exists (or line 0 only for the size
 * limit) and says "line N"; an accepted text still checks the same when a
 * comment line is put in front (every line moves down by one) and ini_get
 * never reads past the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ini.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        const char *t = (const char *)data;
        struct ini_error e;
        bool ok = ini_check(t, size, &e);
        size_t lines = 1;
        for (size_t i = 0; i < size; i++)
                lines += t[i] == '\n';
        if (ok) {
                CHECK(e.line == 0);
        } else if (size <= INI_MAX_SIZE) {
                CHECK(e.line >= 1 && e.line <= lines);
                char want[32];
                snprintf(want, sizeof(want), "line %u", e.line);
                CHECK(strstr(e.msg, want) == e.msg);
        }
        if (size + 2 <= INI_MAX_SIZE) {
                char *shifted = malloc(size + 2);
                CHECK(shifted);
                shifted[0] = '#';
                shifted[1] = '\n';
                memcpy(shifted + 2, t, size);
                struct ini_error e2;
                bool ok2 = ini_check(shifted, size + 2, &e2);
                CHECK(ok2 == ok);
                if (!ok)
                        CHECK(e2.line == e.line + 1);
                free(shifted);
        }
        char v[16];
        if (ini_get(t, size, "web", "port", v, sizeof(v)))
                CHECK(strlen(v) < sizeof(v));
        return 0;
}
