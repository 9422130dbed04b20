#include "sys/gnutls_dl.h"

#include "base/dynlib.h"
#include "base/util.h"

/* the allocator's variables last, in the order of struct gnutls_fns */
static const char *const names[] = {
#define GNUTLS_FN_NAME(n) #n,
    GNUTLS_FUNCS(GNUTLS_FN_NAME)
#undef GNUTLS_FN_NAME
        "gnutls_malloc",
    "gnutls_free",
};

static const char *const sonames[] = {"libgnutls.so.30", NULL};
static struct gnutls_fns fns;
/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_lazy lib =
    DYNLIB_LAZY(sonames, names, ARRAY_SIZE(names), "certificates and backups", (void **)&fns);

const struct gnutls_fns *gnutls_fns(void)
{
        return dynlib_lazy_get(&lib) ? &fns : NULL;
}
