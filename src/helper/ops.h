/* The helper's operations, one function per op of sys/helpmsg.h, grouped
 * by the sys/ module they drive (ops_<group>.c). Each checks every value
 * again with the sys/ and core/ rules and the helper's own config before it
 * acts, sets c->subject for the log line and returns 0 or -errno (a message
 * in c->msg). */
#pragma once

#include "helper/helper.h"

/* ops_usb.c: Float Mode's device nodes */
int op_usb_open(struct helper_call *c);

/* ops_nginx.c: vhosts, nginx, units, certificate files */
int op_nginx_apply(struct helper_call *c);
int op_nginx_reload(struct helper_call *c);
int op_unit_install_site(struct helper_call *c);
int op_unit_install_autarch(struct helper_call *c);
int op_unit_remove(struct helper_call *c);
int op_unit_control(struct helper_call *c);
int op_cert_install(struct helper_call *c);

/* ops_accounts.c: ufw, system accounts, site users */
int op_fw_read(struct helper_call *c);
int op_fw_add(struct helper_call *c);
int op_fw_delete(struct helper_call *c);
int op_fw_enable(struct helper_call *c);
int op_fw_disable(struct helper_call *c);
int op_user_create(struct helper_call *c);
int op_user_delete(struct helper_call *c);
int op_site_user_add(struct helper_call *c);
int op_site_user_del(struct helper_call *c);

/* ops_deploy.c: app trees, deploy steps, backups, AUTARCH */
int op_tree_prepare(struct helper_call *c);
int op_tree_chown(struct helper_call *c);
int op_tree_remove(struct helper_call *c);
int op_tree_placeholder(struct helper_call *c);
int op_deploy_step(struct helper_call *c);
int op_backup_create(struct helper_call *c);
int op_backup_restore(struct helper_call *c);
int op_autarch_config_write(struct helper_call *c);
int op_autarch_config_read(struct helper_call *c);
int op_autarch_step(struct helper_call *c);
