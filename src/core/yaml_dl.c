#include "core/yaml_dl.h"

#include "base/dynlib.h"
#include "base/util.h"

static const char *const names[] = {
#define YAML_FN_NAME(n) #n,
    YAML_FUNCS(YAML_FN_NAME)
#undef YAML_FN_NAME
};

static const char *const sonames[] = {YAML_DL_SONAME, NULL};
static struct yaml_fns fns;
/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_ref ref =
    DYNLIB_REF(sonames, names, ARRAY_SIZE(names), "config", (void **)&fns);

int yaml_dl_open(void)
{
        return dynlib_hold(&ref);
}

void yaml_dl_close(void)
{
        dynlib_release(&ref);
}

const struct yaml_fns *yaml_fns(void)
{
        return &fns;
}
