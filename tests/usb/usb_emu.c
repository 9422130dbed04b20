/* usb-emu: run a command against an emulated USB device (no kernel USB).
 *
 *   usb-emu DEVICE.umockdev -- COMMAND [ARG...]
 *
 * umockdev builds a sysfs/devfs testbed from DEVICE.umockdev and the command
 * runs with libumockdev-preload, so libusb (and anything reading /sys) sees
 * the device. Its device node gets our ioctl handler, which plays a small
 * device (the "Float Dongle" of tests/fixtures/usb):
 *   endpoint 0: GET_DESCRIPTOR (device, configuration, strings 0-3),
 *               GET_STATUS, SET_CONFIGURATION, SET_INTERFACE, vendor IN
 *               (wLength bytes 0, 1, 2, ...), vendor OUT (accepted);
 *               any other request stalls;
 *   bulk OUT 0x01: appends to a FIFO; bulk IN 0x81: takes from the FIFO,
 *               waiting while it is empty (the caller's timeout applies);
 *   interrupt IN 0x82: 8 bytes "INT" and a 5-digit counter.
 * SIGTERM and SIGINT are passed on to the command; usb-emu exits with its
 * status. Build: see tests/CMakeLists (needs libumockdev-dev). */
#include <errno.h>
#include <linux/usb/ch9.h>
#include <linux/usbdevice_fs.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <umockdev.h>
#include <unistd.h>

struct urb {
        UMockdevIoctlData *data; /* the client's struct usbdevfs_urb */
        guint8 answer[65536];
        int len, status;
};

static struct {
        guint8 desc[1024];
        gsize desc_len;
        char *strings[4];
        GQueue reapable, waiting;
        guint8 fifo[65536];
        size_t fifo_len;
        unsigned counter;
} dev;

static struct usbdevfs_urb *urb_of(struct urb *u)
{
        return (struct usbdevfs_urb *)u->data->data;
}

static int string_descriptor(unsigned idx, guint8 *out)
{
        if (idx == 0) { /* the language list: en-US */
                static const guint8 langs[] = {4, USB_DT_STRING, 0x09, 0x04};
                memcpy(out, langs, sizeof(langs));
                return sizeof(langs);
        }
        if (idx > 3 || !dev.strings[idx])
                return -1;
        int n = 2;
        for (const char *p = dev.strings[idx]; *p && n < 250; p++) {
                out[n++] = (guint8)*p; /* ASCII as UTF-16LE */
                out[n++] = 0;
        }
        out[0] = (guint8)n;
        out[1] = USB_DT_STRING;
        return n;
}

static void control(struct urb *u, const guint8 *setup)
{
        unsigned type = setup[0], req = setup[1];
        unsigned value = setup[2] | setup[3] << 8, length = setup[6] | setup[7] << 8;
        guint8 buf[1024];
        int n = -1;
        if (type == USB_DIR_IN && req == USB_REQ_GET_DESCRIPTOR) {
                switch (value >> 8) {
                case USB_DT_DEVICE:
                        n = 18;
                        memcpy(buf, dev.desc, 18);
                        break;
                case USB_DT_CONFIG:
                        n = (int)dev.desc_len - 18;
                        memcpy(buf, dev.desc + 18, (size_t)n);
                        break;
                case USB_DT_STRING:
                        n = string_descriptor(value & 0xff, buf);
                        break;
                }
        } else if (type == USB_DIR_IN && req == USB_REQ_GET_STATUS) {
                buf[0] = buf[1] = 0;
                n = 2;
        } else if ((type == 0x00 && req == USB_REQ_SET_CONFIGURATION) ||
                   (type == 0x01 && req == USB_REQ_SET_INTERFACE)) {
                n = 0;
        } else if (type == (USB_DIR_IN | USB_TYPE_VENDOR)) {
                n = length < sizeof(buf) ? (int)length : (int)sizeof(buf);
                for (int i = 0; i < n; i++)
                        buf[i] = (guint8)i;
        } else if (type == USB_TYPE_VENDOR) {
                u->len = (int)length;
                u->status = 0;
                return;
        }
        if (n < 0) {
                u->status = -EPIPE; /* stall */
                u->len = 0;
                return;
        }
        u->len = n < (int)length ? n : (int)length;
        memcpy(u->answer, buf, (size_t)u->len);
        u->status = 0;
}

/* Hand FIFO bytes to waiting bulk IN requests. */
static void serve_waiting(void)
{
        while (dev.fifo_len && !g_queue_is_empty(&dev.waiting)) {
                struct urb *u = g_queue_pop_head(&dev.waiting);
                size_t want = (size_t)urb_of(u)->buffer_length;
                size_t n = MIN(MIN(want, dev.fifo_len), sizeof(u->answer));
                memcpy(u->answer, dev.fifo, n);
                memmove(dev.fifo, dev.fifo + n, dev.fifo_len - n);
                dev.fifo_len -= n;
                u->len = (int)n;
                g_queue_push_tail(&dev.reapable, u);
        }
}

static void submit(UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
        UMockdevIoctlData *d =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)d->data;
        g_autoptr(UMockdevIoctlData) buf = umockdev_ioctl_data_resolve(
            d, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length, NULL);
        struct urb *u = g_new0(struct urb, 1);
        u->data = d;
        if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
                control(u, buf->data);
                g_queue_push_tail(&dev.reapable, u);
        } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == 0x01) {
                size_t n = MIN((size_t)urb->buffer_length, sizeof(dev.fifo) - dev.fifo_len);
                memcpy(dev.fifo + dev.fifo_len, buf->data, n);
                dev.fifo_len += n;
                u->len = (int)n;
                g_queue_push_tail(&dev.reapable, u);
                serve_waiting();
        } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == 0x81) {
                g_queue_push_tail(&dev.waiting, u);
                serve_waiting();
        } else if (urb->type == USBDEVFS_URB_TYPE_INTERRUPT && urb->endpoint == 0x82) {
                char tmp[16];
                snprintf(tmp, sizeof(tmp), "INT%05u", dev.counter++ % 100000);
                u->len = MIN(8, urb->buffer_length);
                memcpy(u->answer, tmp, (size_t)u->len);
                g_queue_push_tail(&dev.reapable, u);
        } else {
                umockdev_ioctl_data_unref(d);
                g_free(u);
                umockdev_ioctl_client_complete(c, -1, EINVAL);
                return;
        }
        umockdev_ioctl_client_complete(c, 0, 0);
}

static void reap(UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
        struct urb *u = g_queue_pop_head(&dev.reapable);
        if (!u) {
                umockdev_ioctl_client_complete(c, -1, EAGAIN);
                return;
        }
        struct usbdevfs_urb *urb = urb_of(u);
        bool in = (urb->endpoint & USB_DIR_IN) || (urb->type == USBDEVFS_URB_TYPE_CONTROL &&
                                                   (((guint8 *)urb->buffer)[0] & USB_DIR_IN));
        if (in && u->len)
                memcpy((guint8 *)urb->buffer + (urb->type == USBDEVFS_URB_TYPE_CONTROL ? 8 : 0),
                       u->answer, (size_t)u->len);
        urb->actual_length = u->len;
        urb->status = u->status;
        g_autoptr(UMockdevIoctlData) out =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
        umockdev_ioctl_data_set_ptr(out, 0, u->data);
        umockdev_ioctl_client_complete(c, 0, 0);
        umockdev_ioctl_data_unref(u->data);
        g_free(u);
}

static void discard(UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
        gulong addr = *(gulong *)arg->data;
        for (GList *l = dev.waiting.head; l; l = l->next) {
                struct urb *u = l->data;
                if (u->data->client_addr == addr) {
                        g_queue_delete_link(&dev.waiting, l);
                        u->status = -ENOENT;
                        u->len = 0;
                        g_queue_push_tail(&dev.reapable, u);
                        umockdev_ioctl_client_complete(c, 0, 0);
                        return;
                }
        }
        umockdev_ioctl_client_complete(c, -1, EINVAL);
}

static gboolean on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *c, gpointer unused)
{
        (void)base;
        (void)unused;
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
        switch (umockdev_ioctl_client_get_request(c)) {
        case USBDEVFS_GET_CAPABILITIES: {
                g_autoptr(UMockdevIoctlData) d =
                    umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
                *(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION |
                                      USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                      USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
                umockdev_ioctl_client_complete(c, 0, 0);
                return TRUE;
        }
        case USBDEVFS_CLAIMINTERFACE:
        case USBDEVFS_RELEASEINTERFACE:
        case USBDEVFS_SETINTERFACE:
        case USBDEVFS_SETCONFIGURATION:
        case USBDEVFS_CLEAR_HALT:
        case USBDEVFS_RESET:
        case USBDEVFS_RESETEP:
        case USBDEVFS_DISCONNECT_CLAIM:
        case USBDEVFS_IOCTL: /* connect/disconnect a kernel driver: there is none */
                umockdev_ioctl_client_complete(c, 0, 0);
                return TRUE;
        case USBDEVFS_GETDRIVER:
                umockdev_ioctl_client_complete(c, -1, ENODATA);
                return TRUE;
        case USBDEVFS_SUBMITURB:
                submit(c, arg);
                return TRUE;
        case USBDEVFS_REAPURB:
        case USBDEVFS_REAPURBNDELAY:
                reap(c, arg);
                return TRUE;
        case USBDEVFS_DISCARDURB:
                discard(c, arg);
                return TRUE;
        default:
                fprintf(stderr, "usb-emu: unhandled ioctl 0x%lx\n",
                        umockdev_ioctl_client_get_request(c));
                umockdev_ioctl_client_complete(c, -1, ENOTTY);
                return TRUE;
        }
}

static char *read_attr(UMockdevTestbed *tb, const char *sysdev, const char *name)
{
        char *v = NULL;
        g_autofree char *p =
            g_strconcat(umockdev_testbed_get_root_dir(tb), sysdev, "/", name, NULL);
        if (g_file_get_contents(p, &v, NULL, NULL))
                g_strchomp(v);
        return v;
}

static pid_t child;

static void forward(int sig)
{
        if (child > 0)
                kill(child, sig);
}

int main(int argc, char **argv)
{
        if (argc < 4 || strcmp(argv[2], "--") != 0) {
                fprintf(stderr, "usage: %s DEVICE.umockdev -- COMMAND [ARG...]\n", argv[0]);
                return 2;
        }
        GError *err = NULL;
        UMockdevTestbed *tb = umockdev_testbed_new();
        if (!umockdev_testbed_add_from_file(tb, argv[1], &err)) {
                fprintf(stderr, "usb-emu: %s\n", err->message);
                return 1;
        }
        /* the device is the file's first "P:" record */
        g_autofree char *text = NULL;
        g_file_get_contents(argv[1], &text, NULL, NULL);
        const char *p = text ? strstr(text, "P: ") : NULL;
        char syspath[512];
        if (!p || sscanf(p + 3, "%511s", syspath) != 1) {
                fprintf(stderr, "usb-emu: no device in %s\n", argv[1]);
                return 1;
        }
        g_autofree char *sysdev = g_strconcat("/sys", syspath, NULL);
        g_autofree char *dpath =
            g_strconcat(umockdev_testbed_get_root_dir(tb), sysdev, "/descriptors", NULL);
        g_autofree char *raw = NULL;
        gsize rawlen = 0;
        if (!g_file_get_contents(dpath, &raw, &rawlen, NULL) || rawlen < 18) {
                fprintf(stderr, "usb-emu: no descriptors for %s\n", sysdev);
                return 1;
        }
        dev.desc_len = MIN(rawlen, sizeof(dev.desc));
        memcpy(dev.desc, raw, dev.desc_len);
        dev.strings[1] = read_attr(tb, sysdev, "manufacturer");
        dev.strings[2] = read_attr(tb, sysdev, "product");
        dev.strings[3] = read_attr(tb, sysdev, "serial");
        g_autofree char *bus = read_attr(tb, sysdev, "busnum");
        g_autofree char *num = read_attr(tb, sysdev, "devnum");
        char node[64];
        snprintf(node, sizeof(node), "/dev/bus/usb/%03d/%03d", bus ? atoi(bus) : 0,
                 num ? atoi(num) : 0);
        UMockdevIoctlBase *handler = umockdev_ioctl_base_new();
        g_signal_connect(handler, "handle-ioctl", G_CALLBACK(on_ioctl), NULL);
        if (!umockdev_testbed_attach_ioctl(tb, node, handler, &err)) {
                fprintf(stderr, "usb-emu: %s\n", err->message);
                return 1;
        }
        const char *old = g_getenv("LD_PRELOAD");
        g_autofree char *preload = old && *old ? g_strconcat(old, ":libumockdev-preload.so.0", NULL)
                                               : g_strdup("libumockdev-preload.so.0");
        g_setenv("LD_PRELOAD", preload, TRUE);
        struct sigaction sa = {.sa_handler = forward};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        child = fork();
        if (child == 0) {
                execvp(argv[3], argv + 3);
                perror("usb-emu: exec");
                _exit(127);
        }
        int st = 0;
        while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                ;
        g_object_unref(handler);
        g_object_unref(tb); /* removes the testbed */
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
