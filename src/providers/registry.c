/* The one table of providers: adding a provider is one line here (plus its
 * own file). */
#include "base/util.h"
#include "providers/provider.h"

extern const struct provider hostinger_provider, powerdns_provider;

static const struct provider *const providers[] = {
    &hostinger_provider,
    &powerdns_provider,
};

const struct provider *provider_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(providers); i++)
                if (streq(providers[i]->name, name))
                        return providers[i];
        return NULL;
}

const struct provider *provider_at(size_t i)
{
        return i < ARRAY_SIZE(providers) ? providers[i] : NULL;
}
