#include "sys/archive_dl.h"

#include "base/dynlib.h"
#include "base/util.h"

static const char *const names[] = {
#define ARCHIVE_FN_NAME(n) #n,
    ARCHIVE_FUNCS(ARCHIVE_FN_NAME)
#undef ARCHIVE_FN_NAME
};

static const char *const sonames[] = {"libarchive.so.13", NULL};
static struct archive_fns fns;
/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_lazy lib =
    DYNLIB_LAZY(sonames, names, ARRAY_SIZE(names), "backups", (void **)&fns);

const struct archive_fns *archive_fns(void)
{
        return dynlib_lazy_get(&lib) ? &fns : NULL;
}
