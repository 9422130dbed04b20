/* A site's fields in a root helper message (sys/helpmsg.h): the vhost and
 * unit operations send the structured site, never a rendered text, and the
 * helper validates it again (site_validate) against its own config. */
#pragma once

#include "core/site.h"
#include "sys/helpmsg.h"

/* The signature of a site's fields, in this order: id, domain, aliases,
 * app_type, app_root, app_port, app_entry, git_repo, git_branch,
 * ssl_enabled, ssl_cert_path, ssl_key_path, ssl_auto, enabled,
 * max_body_size, security_headers. */
#define HM_SITE_SIG "issisisssissiisi"
#define HM_SITE_N   16u

void hm_add_site(struct hm_builder *hb, const struct site *s);
/* The site whose fields start at index at (copies: site_clear it). 0, or
 * -EINVAL when the fields there do not have HM_SITE_SIG's types (or a
 * number is out of range), -ENOMEM. Nothing is validated beyond that. */
int hm_get_site(const struct hm_msg *m, unsigned at, struct site *out);
