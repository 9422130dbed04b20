/* The server's USB devices for Float Mode.
 *
 * Enumeration reads sysfs (<root>/bus/usb/devices): no device is opened to
 * list it. A device's id is (busnum << 8) | devnum: it stays the same while
 * the device stays plugged in.
 *
 * Transfers go through libusb's asynchronous API on one thread (the "usb
 * bridge"): requests are queued from any thread, run there, and each one's
 * `done` callback runs there when it finishes, so a slow device never blocks
 * the caller or another device. A device is open for at most one owner (an
 * opaque pointer: a WebSocket connection); usb_release_owner() cancels what
 * the owner has in flight and closes everything it opened. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usb_dev_info {
        uint16_t id, vendor, product;
        uint8_t cls, sub_cls;
        char manufacturer[128], product_name[128], serial[128];
};

/* Every device under sysfs_root, by id. 0 or -errno (-ENOENT: no USB in
 * sysfs is an empty list, not an error). */
int usb_enumerate(const char *sysfs_root, struct usb_dev_info **out, size_t *n);

struct config_strlist;
/* float.allowed_devices: "VVVV:PPPP" entries (any case); an empty list
 * allows every device. */
bool usb_device_allowed(const struct config_strlist *allowed, const struct usb_dev_info *d);

/* The device node (/dev/bus/usb/BBB/DDD) of id, opened read-write, for the
 * root helper: only when the device is listed under sysfs_root and allowed.
 * The fd (CLOEXEC), or -EINVAL (bad id), -ENOENT (no such device), -EPERM
 * (not allowed), -ENODEV (the node is no character device), -errno. When
 * libusb may not open a device itself (the HTTP process runs unprivileged)
 * the bridge asks the helper for this descriptor and wraps it
 * (libusb_wrap_sys_device). */
int usb_open_node(const char *sysfs_root, const struct config_strlist *allowed, uint16_t id);

/* Statuses of the Float protocol (CONTRACT §7). */
enum usb_status {
        USB_ST_OK = 0,
        USB_ST_STALL = 1,
        USB_ST_TIMEOUT = 2,
        USB_ST_NO_DEVICE = 3,
        USB_ST_IO = 4,
        USB_ST_OVERFLOW = 5,
        USB_ST_ACCESS = 6,
        USB_ST_CLOSED = 7,
        USB_ST_BUSY = 8,
        USB_ST_NOT_OPEN = 0x100, /* not a wire status: the device is not open for this owner */
};

enum usb_op { USB_OPEN, USB_CLOSE, USB_CONTROL, USB_OUT, USB_IN, USB_INTERRUPT };

#define USB_MAX_TRANSFER 65536u

struct usb_req {
        enum usb_op op;
        uint16_t dev;
        uint8_t endpoint;
        uint8_t setup[8]; /* USB_CONTROL: bmRequestType, bRequest, wValue, wIndex, wLength (LE) */
        uint32_t timeout_ms;
        uint32_t length; /* USB_IN / USB_INTERRUPT: bytes wanted */
        uint8_t *data;   /* OUT data (malloc'd, owned by the request) */
        size_t data_len;
        void *owner;
        /* results */
        int status;    /* enum usb_status */
        uint8_t *in;   /* IN data (malloc'd, owned by the request) */
        size_t in_len; /* bytes of IN data; for OUT the bytes sent */
        /* Runs on the bridge thread when the request is over; must not block;
         * frees the request with usb_req_free(). */
        void (*done)(struct usb_req *q);
        void *ctx;
        /* the bridge's */
        struct usb_req *next;
        void *transfer, *bridge;
};

struct usb_req *usb_req_new(enum usb_op op, uint16_t dev, void *owner);
void usb_req_free(struct usb_req *q);

/* The library the bridge loads on first use (sys/usb_dl.h). */
#define USB_LIBRARY "libusb-1.0.so.0"

struct usb_bridge;
/* Start the bridge thread: load libusb (the first time), libusb_init.
 * -errno; -ELIBACC when USB_LIBRARY cannot be loaded (logged once). */
int usb_bridge_new(struct usb_bridge **out);
/* Close every device and stop the thread. */
void usb_bridge_free(struct usb_bridge *b);
/* Any thread: queue q; its done runs on the bridge thread (also on failure). */
void usb_submit(struct usb_bridge *b, struct usb_req *q);
/* Any thread: cancel what owner has in flight (those finish with
 * USB_ST_CLOSED) and close every device it opened. */
void usb_release_owner(struct usb_bridge *b, void *owner);
/* Devices open right now (for tests and the page). */
unsigned usb_bridge_open_count(struct usb_bridge *b);
