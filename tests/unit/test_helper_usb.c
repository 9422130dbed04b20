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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "core/config.h"
#include "helper/helper.h"
#include "sys/helpmsg.h"

static struct config cfg;
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
static int call(int64_t id, int *fd, char *msg, size_t msglen)
{
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_USB_OPEN);
        hm_add_int(&hb, id);
        assert_int_equal(hm_send(sv[0], &hb, -1), 0);
        hm_builder_free(&hb);
        assert_int_equal(helper_serve_call(&cfg, sv[1]), 0);
        unsigned char buf[HM_MAX];
        size_t n = 0;
        assert_int_equal(hm_recv(sv[0], buf, sizeof(buf), &n, fd), 0);
        struct hm_msg m;
        assert_int_equal(hm_parse(buf, n, &m), 0);
        int rc = (int)hm_int(&m, 0, 1);
        snprintf(msg, msglen, "%s", hm_str(&m, 1));
        hm_msg_clear(&m);
        close(sv[0]);
        close(sv[1]);
        return rc;
}

static void test_refusals(void **state)
{
        (void)state;
        char msg[256];
        int fd = -1;
        /* Float Mode off: nothing is looked at */
        cfg.float_.enabled = false;
        assert_int_equal(call(0x0105, &fd, msg, sizeof(msg)), -EPERM);
        assert_string_equal(msg, "Float Mode is disabled");
        assert_int_equal(fd, -1);
        cfg.float_.enabled = true;
        /* ids that name no device */
        int64_t bad[] = {-1, 0x10000, 0x0100, 0x0005, 0x0180};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(call(bad[i], &fd, msg, sizeof(msg)), -EINVAL);
                assert_int_equal(fd, -1);
        }
        /* not listed in sysfs */
        assert_int_equal(call(0x0107, &fd, msg, sizeof(msg)), -ENOENT);
        assert_string_equal(msg, "no such device");
        /* listed, not allowed */
        char *allow[] = {"dead:beef"};
        cfg.float_.allowed_devices.items = allow;
        cfg.float_.allowed_devices.n = 1;
        assert_int_equal(call(0xC805, &fd, msg, sizeof(msg)), -EPERM);
        assert_string_equal(msg, "device not in float.allowed_devices");
        assert_int_equal(fd, -1);
        /* allowed (any case), but this machine has no node 200/005 */
        char *allow2[] = {"1D6B:0104"};
        cfg.float_.allowed_devices.items = allow2;
        assert_int_equal(call(0xC805, &fd, msg, sizeof(msg)), -ENOENT);
        assert_int_equal(fd, -1);
        cfg.float_.allowed_devices.n = 0;
        cfg.float_.allowed_devices.items = NULL;
        /* the wrong shape */
        int sv[2];
        assert_int_equal(hm_socketpair(sv), 0);
        struct hm_builder hb = {.b = STRBUF_INIT(HM_MAX)};
        hm_begin(&hb, HM_REQUEST, HOP_USB_OPEN);
        hm_add_str(&hb, "/dev/sda");
        assert_int_equal(hm_send(sv[0], &hb, -1), 0);
        hm_builder_free(&hb);
        assert_int_equal(helper_serve_call(&cfg, sv[1]), 0);
        unsigned char buf[4096];
        size_t n = 0;
        assert_int_equal(hm_recv(sv[0], buf, sizeof(buf), &n, &fd), 0);
        assert_int_equal(fd, -1);
        struct hm_msg m;
        assert_int_equal(hm_parse(buf, n, &m), 0);
        assert_int_equal(hm_int(&m, 0, 0), -EINVAL);
        hm_msg_clear(&m);
        close(sv[0]);
        close(sv[1]);
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
