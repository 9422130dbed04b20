/* The helper's ops for ufw rules and state, system accounts, per-site users. */
#include "helper/ops.h"

#include <errno.h>

int op_fw_read(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_fw_add(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_fw_delete(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_fw_enable(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_fw_disable(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_user_create(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_user_delete(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_site_user_add(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_site_user_del(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}
