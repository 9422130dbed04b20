/* The helper's usb_open op: a device node is opened only for a device that
 * sysfs lists, with Float Mode on and the device allowed; every refusal
 * passes no descriptor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpmsg.h"

static struct config cfg;
#include "helper_ops.h"

static char root[] = "/tmp/setec-helper-usb-XXXXXX";

static void put(const char *dev, const char *name, const char *value)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/bus/usb/devices/%s", root, dev);
        assert_int_equal(mkdir_p(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/bus/usb/devices/%s/%s", root, dev, name);
        assert_int_equal(write_file_atomic(p, value, strlen(value), 0644), 0);
}

/* rc of a usb_open call for id; *fd the descriptor that came (-1). */
static int usb_open(int64_t id, int *fd, char *msg, size_t msglen)
{
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_USB_OPEN);
        hm_add_int(&hb, id);
        return serve_built(&hb, msg, msglen, fd);
}

static void test_refusals(void **state)
{
        (void)state;
        char msg[256];
        int fd = -1;
        /* Float Mode off: nothing is looked at */
        cfg.float_.enabled = false;
        assert_int_equal(usb_open(0x0105, &fd, msg, sizeof(msg)), -EPERM);
        assert_string_equal(msg, "Float Mode is disabled");
        assert_int_equal(fd, -1);
        cfg.float_.enabled = true;
        /* ids that name no device */
        int64_t bad[] = {-1, 0x10000, 0x0100, 0x0005, 0x0180};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(usb_open(bad[i], &fd, msg, sizeof(msg)), -EINVAL);
                assert_int_equal(fd, -1);
        }
        /* not listed in sysfs */
        assert_int_equal(usb_open(0x0107, &fd, msg, sizeof(msg)), -ENOENT);
        assert_string_equal(msg, "no such device");
        /* listed, not allowed */
        char *allow[] = {"dead:beef"};
        cfg.float_.allowed_devices.items = allow;
        cfg.float_.allowed_devices.n = 1;
        assert_int_equal(usb_open(0xC805, &fd, msg, sizeof(msg)), -EPERM);
        assert_string_equal(msg, "device not in float.allowed_devices");
        assert_int_equal(fd, -1);
        /* allowed (any case), but this machine has no node 200/005 */
        char *allow2[] = {"1D6B:0104"};
        cfg.float_.allowed_devices.items = allow2;
        assert_int_equal(usb_open(0xC805, &fd, msg, sizeof(msg)), -ENOENT);
        assert_int_equal(fd, -1);
        cfg.float_.allowed_devices.n = 0;
        cfg.float_.allowed_devices.items = NULL;
        /* the wrong shape */
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_USB_OPEN);
        hm_add_str(&hb, "/dev/sda");
        assert_int_equal(serve_built(&hb, msg, sizeof(msg), &fd), -EINVAL);
        assert_int_equal(fd, -1);
}

static int setup(void **state)
{
        (void)state;
        assert_non_null(mkdtemp(root));
        put("200-1", "busnum", "200\n");
        put("200-1", "devnum", "5\n");
        put("200-1", "idVendor", "1d6b\n");
        put("200-1", "idProduct", "0104\n");
        int r = config_defaults(&cfg);
        free(cfg.float_.sysfs_root);
        cfg.float_.sysfs_root = strdup(root);
        return r;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
