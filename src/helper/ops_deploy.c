/* The helper's ops for app trees, deploy steps (streamed output), backups, AUTARCH. */
#include "helper/ops.h"

#include <errno.h>

int op_tree_prepare(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_tree_chown(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_tree_remove(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_deploy_step(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_backup_create(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_backup_restore(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_autarch_config_write(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}

int op_autarch_step(struct helper_call *c)
{
        (void)c;
        return -EOPNOTSUPP; /* TODO */
}
