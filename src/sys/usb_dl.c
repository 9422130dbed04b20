#include "sys/usb_dl.h"

#include "base/dynlib.h"
#include "base/util.h"
#include "sys/usb.h"

static const char *const names[] = {
#define LIBUSB_FN_NAME(n) #n,
    LIBUSB_FUNCS(LIBUSB_FN_NAME)
#undef LIBUSB_FN_NAME
};

static const char *const sonames[] = {USB_LIBRARY, NULL};
struct libusb_fns usb_dl;
/* the table is filled as an array of pointers, one per name */
_Static_assert(sizeof(usb_dl) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_lazy lib =
    DYNLIB_LAZY(sonames, names, ARRAY_SIZE(names), "float", (void **)&usb_dl);

bool usb_dl_load(void)
{
        return dynlib_lazy_get(&lib);
}
