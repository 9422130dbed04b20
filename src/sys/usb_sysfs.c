/* USB devices from sysfs and their nodes (sys/usb.h): what needs no
 * libusb, apart from the bridge (usb.c), so that the root helper, which
 * opens a node for the HTTP process (HOP_USB_OPEN), does not link libusb. */
#include "sys/usb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "core/config.h"

/* ================= enumeration (sysfs) ================= */

/* One attribute of a device directory, trailing newline removed. */
static int read_attr(const char *dir, const char *name, char *out, size_t outlen)
{
        char path[1024];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                return -ENAMETOOLONG;
        _cleanup_free_ char *v = NULL;
        size_t len = 0;
        int r = read_file(path, 4096, &v, &len);
        if (r < 0)
                return r;
        while (len && (v[len - 1] == '\n' || v[len - 1] == ' '))
                v[--len] = '\0';
        snprintf(out, outlen, "%s", v);
        return 0;
}

static int attr_num(const char *dir, const char *name, int base, long max, long *out)
{
        char v[32];
        int r = read_attr(dir, name, v, sizeof(v));
        if (r < 0)
                return r;
        char *end;
        errno = 0;
        long n = strtol(v, &end, base);
        if (errno || end == v || *end || n < 0 || n > max)
                return -EINVAL;
        *out = n;
        return 0;
}

/* Strings from sysfs are the device's: keep printable UTF-8-ish text only
 * (bytes below 0x20 become '?'), bounded by the field. */
static void clean_string(char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        *s = '?';
}

static int cmp_info(const void *a, const void *b)
{
        const struct usb_dev_info *x = a, *y = b;
        return (int)x->id - (int)y->id;
}

int usb_enumerate(const char *sysfs_root, struct usb_dev_info **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        char base[1024];
        if ((size_t)snprintf(base, sizeof(base), "%s/bus/usb/devices", sysfs_root) >= sizeof(base))
                return -ENAMETOOLONG;
        DIR *d = opendir(base);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct usb_dev_info *list = NULL;
        size_t len = 0, cap = 0;
        int rc = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                /* interfaces are "1-2:1.0"; devices have no colon */
                if (e->d_name[0] == '.' || strchr(e->d_name, ':'))
                        continue;
                char dir[1400];
                snprintf(dir, sizeof(dir), "%s/%s", base, e->d_name);
                long bus, dev, vid, pid, cls = 0, sub = 0;
                if (attr_num(dir, "busnum", 10, 255, &bus) < 0 ||
                    attr_num(dir, "devnum", 10, 255, &dev) < 0 ||
                    attr_num(dir, "idVendor", 16, 0xFFFF, &vid) < 0 ||
                    attr_num(dir, "idProduct", 16, 0xFFFF, &pid) < 0)
                        continue;
                attr_num(dir, "bDeviceClass", 16, 0xFF, &cls);
                attr_num(dir, "bDeviceSubClass", 16, 0xFF, &sub);
                if (len == cap) {
                        size_t nc = cap ? cap * 2 : 8;
                        struct usb_dev_info *nl = realloc(list, nc * sizeof(*nl));
                        if (!nl) {
                                rc = -ENOMEM;
                                break;
                        }
                        list = nl;
                        cap = nc;
                }
                struct usb_dev_info *i = &list[len++];
                *i = (struct usb_dev_info){.id = (uint16_t)(bus << 8 | dev),
                                           .vendor = (uint16_t)vid,
                                           .product = (uint16_t)pid,
                                           .cls = (uint8_t)cls,
                                           .sub_cls = (uint8_t)sub};
                read_attr(dir, "manufacturer", i->manufacturer, sizeof(i->manufacturer));
                read_attr(dir, "product", i->product_name, sizeof(i->product_name));
                read_attr(dir, "serial", i->serial, sizeof(i->serial));
                clean_string(i->manufacturer);
                clean_string(i->product_name);
                clean_string(i->serial);
        }
        closedir(d);
        if (rc < 0) {
                free(list);
                return rc;
        }
        if (len)
                qsort(list, len, sizeof(*list), cmp_info);
        *out = list;
        *n = len;
        return 0;
}

/* ================= the node ================= */

bool usb_device_allowed(const struct config_strlist *allowed, const struct usb_dev_info *d)
{
        if (!allowed->n)
                return true;
        char id[10];
        snprintf(id, sizeof(id), "%04x:%04x", d->vendor, d->product);
        for (size_t i = 0; i < allowed->n; i++)
                if (strcasecmp(allowed->items[i], id) == 0)
                        return true;
        return false;
}

#define USB_DEVICE_MAJOR 189 /* Linux: usb_device nodes */

int usb_open_node(const char *sysfs_root, const struct config_strlist *allowed, uint16_t id)
{
        unsigned bus = id >> 8, dev = id & 0xFF;
        if (bus < 1 || dev < 1 || dev > 127)
                return -EINVAL;
        struct usb_dev_info *list = NULL;
        size_t n = 0;
        int r = usb_enumerate(sysfs_root, &list, &n);
        if (r < 0)
                return r;
        const struct usb_dev_info *d = NULL;
        for (size_t i = 0; i < n; i++)
                if (list[i].id == id)
                        d = &list[i];
        r = !d ? -ENOENT : !usb_device_allowed(allowed, d) ? -EPERM : 0;
        free(list);
        if (r < 0)
                return r;
        char path[32];
        snprintf(path, sizeof(path), "/dev/bus/usb/%03u/%03u", bus, dev);
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != USB_DEVICE_MAJOR) {
                close(fd);
                return -ENODEV;
        }
        return fd;
}
