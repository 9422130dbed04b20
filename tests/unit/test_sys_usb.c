/* The Float bridge's libusb is loaded on first use (sys/usb_dl.c): not
 * mapped before the first bridge, loaded then under the HTTP process's
 * seccomp filter, and when it cannot be loaded the bridge fails with
 * -ELIBACC and one log line naming it, and nothing crashes. A library loads
 * once per process, so each case runs in a forked child. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "in_child.h"
#include "sys/sandbox.h"
#include "sys/usb.h"

/* With hide_libusb set, libusb is missing for the code under test: every
 * dlopen of this binary and of the libraries linked into it comes here. */
static bool hide_libusb;

void *dlopen(const char *file, int mode)
{
        static void *(*real)(const char *, int);
        if (!real)
                *(void **)&real = dlsym(RTLD_NEXT, "dlopen");
        if (hide_libusb && file && strcmp(file, USB_LIBRARY) == 0)
                file = "/nonexistent/" USB_LIBRARY;
        return real(file, mode);
}

static bool is_loaded(const char *soname)
{
        void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
        if (h)
                dlclose(h); /* drop the reference RTLD_NOLOAD took */
        return h != NULL;
}

/* Runs fn in a child; its exit status is fn's result (0 = every expectation
 * held, n = the line that failed). */
/* USB_OPEN of a device no bus has: answered on the bridge thread */
static int opened_status = -1;
static int done_pipe[2];

static void open_done(struct usb_req *q)
{
        opened_status = q->status;
        usb_req_free(q);
        char c = 'x';
        (void)!write(done_pipe[1], &c, 1);
}

static int loaded_under_the_sandbox(void)
{
        EXPECT(!is_loaded(USB_LIBRARY)); /* nothing links it */
        EXPECT(sandbox_http_process() == 0);
        struct usb_bridge *b = NULL;
        EXPECT(usb_bridge_new(&b) == 0 && b);
        EXPECT(is_loaded(USB_LIBRARY));
        EXPECT(usb_bridge_open_count(b) == 0);
        /* a request through the loaded functions: device list, error name */
        EXPECT(pipe(done_pipe) == 0);
        struct usb_req *q = usb_req_new(USB_OPEN, 0xFE7F, &opened_status);
        EXPECT(q);
        q->done = open_done;
        usb_submit(b, q);
        char c;
        EXPECT(read(done_pipe[0], &c, 1) == 1);
        EXPECT(opened_status == USB_ST_NO_DEVICE);
        usb_bridge_free(b);
        /* a second bridge finds the library in place */
        EXPECT(usb_bridge_new(&b) == 0);
        usb_bridge_free(b);
        return 0;
}

static char logpath[] = "/tmp/test_sys_usb.XXXXXX";

static int cannot_load(void)
{
        hide_libusb = true;
        EXPECT(log_set_file(logpath) == 0);
        struct usb_bridge *b = NULL;
        EXPECT(usb_bridge_new(&b) == -ELIBACC);
        EXPECT(b == NULL);
        EXPECT(!is_loaded(USB_LIBRARY));
        /* tried once: the next Open fails the same, without a new line */
        EXPECT(usb_bridge_new(&b) == -ELIBACC);
        char *text = NULL;
        size_t len = 0;
        EXPECT(read_file(logpath, 1 << 20, &text, &len) == 0);
        const char *line = strstr(text, "error: float: cannot load " USB_LIBRARY ": /nonexistent/");
        EXPECT(line);
        EXPECT(strchr(line, '\n') == text + len - 1); /* the one line */
        free(text);
        return 0;
}

static void test_loaded_on_first_use_under_the_sandbox(void **state)
{
        (void)state;
        assert_int_equal(in_child(NULL, loaded_under_the_sandbox), 0);
}

static void test_cannot_load(void **state)
{
        (void)state;
        int fd = mkstemp(logpath);
        assert_true(fd >= 0);
        close(fd);
        int r = in_child(NULL, cannot_load);
        unlink(logpath);
        assert_int_equal(r, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_loaded_on_first_use_under_the_sandbox),
            cmocka_unit_test(test_cannot_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
