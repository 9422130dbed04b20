/* The closed set of operations the helper does: one row per op of
 * sys/helpmsg.h with the exact shape of its request ('s' string, 'i' int,
 * 'b' bytes). An op not listed here is refused (-EOPNOTSUPP) before
 * anything runs; a request of another shape too (-EINVAL). */
#include "helper/ops.h"

#include "base/util.h"
#include "sys/sitemsg.h"

static int op_ping(struct helper_call *c)
{
        (void)c;
        return 0;
}

const struct helper_op helper_ops[] = {
    {HOP_PING, "", op_ping},
    {HOP_USB_OPEN, "i", op_usb_open},
    {HOP_NGINX_APPLY, "b", op_nginx_apply},
    {HOP_NGINX_RELOAD, "i", op_nginx_reload},
    {HOP_UNIT_INSTALL_SITE, HM_SITE_SIG, op_unit_install_site},
    {HOP_UNIT_INSTALL_AUTARCH, "ii", op_unit_install_autarch},
    {HOP_UNIT_REMOVE, "s", op_unit_remove},
    {HOP_UNIT_CONTROL, "sii", op_unit_control},
    {HOP_CERT_INSTALL, "sss", op_cert_install},
    {HOP_FW_READ, "", op_fw_read},
    {HOP_FW_ADD, "sssss", op_fw_add},
    {HOP_FW_DELETE, "s", op_fw_delete},
    {HOP_FW_ENABLE, "ii", op_fw_enable},
    {HOP_FW_DISABLE, "", op_fw_disable},
    {HOP_USER_CREATE, "sss", op_user_create},
    {HOP_USER_DELETE, "s", op_user_delete},
    {HOP_SITE_USER_ADD, "is", op_site_user_add},
    {HOP_SITE_USER_DEL, "i", op_site_user_del},
    {HOP_TREE_PREPARE, "ss", op_tree_prepare},
    {HOP_TREE_CHOWN, "ss", op_tree_chown},
    {HOP_TREE_REMOVE, "si", op_tree_remove},
    {HOP_TREE_PLACEHOLDER, "ss", op_tree_placeholder},
    {HOP_DEPLOY_STEP, "sisss", op_deploy_step},
    {HOP_BACKUP_CREATE, "ssss", op_backup_create},
    {HOP_BACKUP_RESTORE, "ss", op_backup_restore},
    {HOP_AUTARCH_CONFIG_WRITE, "b", op_autarch_config_write},
    {HOP_AUTARCH_CONFIG_READ, "i", op_autarch_config_read},
    {HOP_AUTARCH_STEP, "ssi", op_autarch_step},
};
const size_t helper_nops = ARRAY_SIZE(helper_ops);
