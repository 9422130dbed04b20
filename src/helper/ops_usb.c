/* The helper's op for Float Mode: the node of a USB device opened for the
 * unprivileged HTTP process, which libusb may not open itself. */
#include "helper/ops.h"

#include <errno.h>

#include "sys/usb.h"

int op_usb_open(struct helper_call *c)
{
        int64_t id = hm_int(c->req, 0, -1);
        if (id < 0 || id > 0xFFFF) {
                helper_msgf(c, "bad device id");
                return -EINVAL;
        }
        strbuf_printf(&c->subject, "%03u/%03u", (unsigned)(id >> 8), (unsigned)(id & 0xFF));
        if (!c->cfg->float_.enabled) {
                helper_msgf(c, "Float Mode is disabled");
                return -EPERM;
        }
        const char *sysfs = c->cfg->float_.sysfs_root ? c->cfg->float_.sysfs_root : "/sys";
        int fd = usb_open_node(sysfs, &c->cfg->float_.allowed_devices, (uint16_t)id);
        if (fd < 0) {
                helper_msgf(c, "%s",
                            fd == -EPERM    ? "device not in float.allowed_devices"
                            : fd == -ENOENT ? "no such device"
                                            : "cannot open the device node");
                return fd;
        }
        c->fd_out = fd;
        return 0;
}
