#include "sys/sitemsg.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void hm_add_site(struct hm_builder *hb, const struct site *s)
{
        hm_add_int(hb, s->id);
        hm_add_str(hb, s->domain);
        hm_add_str(hb, s->aliases);
        hm_add_int(hb, (int64_t)s->app_type);
        hm_add_str(hb, s->app_root);
        hm_add_int(hb, s->app_port);
        hm_add_str(hb, s->app_entry);
        hm_add_str(hb, s->git_repo);
        hm_add_str(hb, s->git_branch);
        hm_add_int(hb, s->ssl_enabled);
        hm_add_str(hb, s->ssl_cert_path);
        hm_add_str(hb, s->ssl_key_path);
        hm_add_int(hb, s->ssl_auto);
        hm_add_int(hb, s->enabled);
        hm_add_str(hb, s->max_body_size);
        hm_add_int(hb, (int64_t)s->security_headers);
}

static int dup_str(const struct hm_msg *m, unsigned i, char **out)
{
        const char *v = hm_str(m, i);
        if (!v)
                return -EINVAL;
        *out = strdup(v);
        return *out ? 0 : -ENOMEM;
}

int hm_get_site(const struct hm_msg *m, unsigned at, struct site *out)
{
        memset(out, 0, sizeof(*out));
        if (at > m->n || m->n - at < HM_SITE_N)
                return -EINVAL;
        for (unsigned k = 0; k < HM_SITE_N; k++)
                if (m->f[at + k].type != HM_SITE_SIG[k])
                        return -EINVAL;
        int64_t id = hm_int(m, at, -1), type = hm_int(m, at + 3, -1), port = hm_int(m, at + 5, -1);
        int64_t flags[3] = {hm_int(m, at + 9, -1), hm_int(m, at + 12, -1), hm_int(m, at + 13, -1)};
        int64_t headers = hm_int(m, at + 15, -1);
        if (id < 0 || type < APP_STATIC || type > APP_AUTARCH || port < 0 || port > 65535 ||
            headers < SITE_HEADERS_DEFAULT || headers > SITE_HEADERS_OFF)
                return -EINVAL;
        for (size_t i = 0; i < 3; i++)
                if (flags[i] != 0 && flags[i] != 1)
                        return -EINVAL;
        out->id = id;
        out->app_type = (enum app_type)type;
        out->app_port = (int)port;
        out->ssl_enabled = flags[0];
        out->ssl_auto = flags[1];
        out->enabled = flags[2];
        out->security_headers = (enum site_headers)headers;
        int r = dup_str(m, at + 1, &out->domain);
        if (!r)
                r = dup_str(m, at + 2, &out->aliases);
        if (!r)
                r = dup_str(m, at + 4, &out->app_root);
        if (!r)
                r = dup_str(m, at + 6, &out->app_entry);
        if (!r)
                r = dup_str(m, at + 7, &out->git_repo);
        if (!r)
                r = dup_str(m, at + 8, &out->git_branch);
        if (!r)
                r = dup_str(m, at + 10, &out->ssl_cert_path);
        if (!r)
                r = dup_str(m, at + 11, &out->ssl_key_path);
        if (!r)
                r = dup_str(m, at + 14, &out->max_body_size);
        if (r)
                site_clear(out);
        return r;
}
