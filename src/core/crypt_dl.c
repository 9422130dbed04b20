#include "core/crypt_dl.h"

#include "base/dynlib.h"
#include "base/util.h"

static const char *const names[] = {
#define CRYPT_FN_NAME(n) #n,
    CRYPT_FUNCS(CRYPT_FN_NAME)
#undef CRYPT_FN_NAME
};

static const char *const sonames[] = {"libcrypt.so.1", NULL};
static struct crypt_fns fns;
/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_ref ref =
    DYNLIB_REF(sonames, names, ARRAY_SIZE(names), "passwords", (void **)&fns);

int crypt_dl_open(void)
{
        return dynlib_hold(&ref);
}

void crypt_dl_close(void)
{
        dynlib_release(&ref);
}

const struct crypt_fns *crypt_fns(void)
{
        return &fns;
}
