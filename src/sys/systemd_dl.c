#include "sys/systemd_dl.h"

#include "base/dynlib.h"
#include "base/util.h"

static const char *const names[] = {
#define SYSTEMD_FN_NAME(n) #n,
    SYSTEMD_FUNCS(SYSTEMD_FN_NAME)
#undef SYSTEMD_FN_NAME
};

static const char *const sonames[] = {"libsystemd.so.0", NULL};
static struct systemd_fns fns;
/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_lazy lib =
    DYNLIB_LAZY(sonames, names, ARRAY_SIZE(names), "systemd", (void **)&fns);

const struct systemd_fns *systemd_fns(void)
{
        return dynlib_lazy_get(&lib) ? &fns : NULL;
}
