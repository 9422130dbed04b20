/* libusb-1.0 for the Float Mode bridge (sys/usb.c), loaded on first use: an
 * HTTP process whose admins never open a device maps neither libusb nor the
 * libudev it pulls in. usb_bridge_new() calls usb_dl_load() before anything
 * else of libusb, so every other call in usb.c runs on a bridge that exists,
 * with the table filled. Include this after <libusb.h>: from here on every
 * libusb call in the file goes through the loaded library (the header's
 * inline helpers, libusb_fill_*_transfer and
 * libusb_control_transfer_get_data, call none). */
#pragma once

#include <libusb.h>
#include <stdbool.h>

#define LIBUSB_FUNCS(X)                                                                            \
        X(libusb_alloc_transfer)                                                                   \
        X(libusb_cancel_transfer)                                                                  \
        X(libusb_claim_interface)                                                                  \
        X(libusb_close)                                                                            \
        X(libusb_error_name)                                                                       \
        X(libusb_exit)                                                                             \
        X(libusb_free_config_descriptor)                                                           \
        X(libusb_free_device_list)                                                                 \
        X(libusb_free_transfer)                                                                    \
        X(libusb_get_active_config_descriptor)                                                     \
        X(libusb_get_bus_number)                                                                   \
        X(libusb_get_config_descriptor)                                                            \
        X(libusb_get_device)                                                                       \
        X(libusb_get_device_address)                                                               \
        X(libusb_get_device_list)                                                                  \
        X(libusb_handle_events_timeout_completed)                                                  \
        X(libusb_init)                                                                             \
        X(libusb_interrupt_event_handler)                                                          \
        X(libusb_open)                                                                             \
        X(libusb_release_interface)                                                                \
        X(libusb_set_auto_detach_kernel_driver)                                                    \
        X(libusb_submit_transfer)                                                                  \
        X(libusb_wrap_sys_device)

struct libusb_fns {
#define LIBUSB_FN_SLOT(n) __typeof__(n) *n;
        LIBUSB_FUNCS(LIBUSB_FN_SLOT)
#undef LIBUSB_FN_SLOT
};

/* Load the library on the first call (one attempt; a failure is logged once,
 * naming the library): whether usb_dl is filled. Any thread. */
bool usb_dl_load(void);

/* The loaded functions: filled once usb_dl_load() returned true, never
 * changed after. */
extern struct libusb_fns usb_dl;

#define libusb_alloc_transfer(...)         (usb_dl.libusb_alloc_transfer(__VA_ARGS__))
#define libusb_cancel_transfer(...)        (usb_dl.libusb_cancel_transfer(__VA_ARGS__))
#define libusb_claim_interface(...)        (usb_dl.libusb_claim_interface(__VA_ARGS__))
#define libusb_close(...)                  (usb_dl.libusb_close(__VA_ARGS__))
#define libusb_error_name(...)             (usb_dl.libusb_error_name(__VA_ARGS__))
#define libusb_exit(...)                   (usb_dl.libusb_exit(__VA_ARGS__))
#define libusb_free_config_descriptor(...) (usb_dl.libusb_free_config_descriptor(__VA_ARGS__))
#define libusb_free_device_list(...)       (usb_dl.libusb_free_device_list(__VA_ARGS__))
#define libusb_free_transfer(...)          (usb_dl.libusb_free_transfer(__VA_ARGS__))
#define libusb_get_active_config_descriptor(...)                                                   \
        (usb_dl.libusb_get_active_config_descriptor(__VA_ARGS__))
#define libusb_get_bus_number(...)        (usb_dl.libusb_get_bus_number(__VA_ARGS__))
#define libusb_get_config_descriptor(...) (usb_dl.libusb_get_config_descriptor(__VA_ARGS__))
#define libusb_get_device(...)            (usb_dl.libusb_get_device(__VA_ARGS__))
#define libusb_get_device_address(...)    (usb_dl.libusb_get_device_address(__VA_ARGS__))
#define libusb_get_device_list(...)       (usb_dl.libusb_get_device_list(__VA_ARGS__))
#define libusb_handle_events_timeout_completed(...)                                                \
        (usb_dl.libusb_handle_events_timeout_completed(__VA_ARGS__))
#define libusb_init(...)                    (usb_dl.libusb_init(__VA_ARGS__))
#define libusb_interrupt_event_handler(...) (usb_dl.libusb_interrupt_event_handler(__VA_ARGS__))
#define libusb_open(...)                    (usb_dl.libusb_open(__VA_ARGS__))
#define libusb_release_interface(...)       (usb_dl.libusb_release_interface(__VA_ARGS__))
#define libusb_set_auto_detach_kernel_driver(...)                                                  \
        (usb_dl.libusb_set_auto_detach_kernel_driver(__VA_ARGS__))
#define libusb_submit_transfer(...) (usb_dl.libusb_submit_transfer(__VA_ARGS__))
#define libusb_wrap_sys_device(...) (usb_dl.libusb_wrap_sys_device(__VA_ARGS__))
