/* What other resources use of the hosting providers (api/hosting.c). */
#pragma once

#include <stddef.h>

struct app;
struct site_dns;

/* A ready DNS context at provider `name` for a site job (jobs/sites.h),
 * credentials loaded, addresses left for the caller. *out is freed with the
 * job (its release). 0, or -errno with err saying why (without the field
 * name): -ENOENT unknown provider, -ENXIO not configured, -EOPNOTSUPP no dns
 * capability, -EINVAL a bad stored base_url, else a local failure. */
int hosting_site_dns(struct app *app, const char *name, struct site_dns **out, char *err,
                     size_t errlen);
