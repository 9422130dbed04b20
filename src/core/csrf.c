#include "core/csrf.h"

#include <string.h>

#include "base/rand.h"
#include "base/util.h"

int csrf_token_new(char out[CSRF_TOKEN_LEN + 1])
{
        return rand_hex(out, CSRF_TOKEN_LEN / 2);
}

bool csrf_token_matches(const char *cookie, const char *sent)
{
        if (!cookie || !sent)
                return false;
        size_t n = strlen(cookie);
        if (n < 32 || n > 256 || strlen(sent) != n)
                return false;
        return mem_equal_ct(cookie, sent, n);
}
