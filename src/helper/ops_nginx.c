/* The helper's ops for vhosts (nginx transactions, reloads), systemd units, certificate files. */
#include "helper/ops.h"

#include <errno.h>

int op_nginx_apply(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_nginx_reload(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_unit_install_site(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_unit_install_autarch(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_unit_remove(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_unit_control(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_cert_install(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}
