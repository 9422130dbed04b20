/* The bridge's baseline (issue 13): the same bulk echo bench/float.py runs
 * through the panel, made directly with libusb against the emulated device.
 *
 *   usb-emu tests/fixtures/usb/float-dongle.umockdev -- usb-direct ROUNDS SIZE
 *
 * Opens 1209:0001, claims interface 0, then ROUNDS times: bulk OUT of SIZE
 * bytes to 0x01, bulk IN of SIZE bytes from 0x81, checking the echo. Prints
 * MB/s (both directions together) and ms per echo. */
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        int rounds = argc > 1 ? atoi(argv[1]) : 300;
        int size = argc > 2 ? atoi(argv[2]) : 16384;
        if (rounds <= 0 || size <= 0 || size > 65536) {
                fprintf(stderr, "usage: usb-direct ROUNDS SIZE (SIZE <= 65536)\n");
                return 2;
        }
        libusb_context *ctx = NULL;
        if (libusb_init(&ctx) < 0)
                return 1;
        libusb_device_handle *h = libusb_open_device_with_vid_pid(ctx, 0x1209, 0x0001);
        if (!h || libusb_claim_interface(h, 0) < 0) {
                fprintf(stderr, "cannot open and claim 1209:0001\n");
                return 1;
        }
        unsigned char *out = malloc((size_t)size), *in = malloc((size_t)size);
        if (!out || !in)
                return 1;
        for (int i = 0; i < size; i++)
                out[i] = (unsigned char)i;
        double t0 = now();
        for (int r = 0; r < rounds; r++) {
                int n = 0;
                if (libusb_bulk_transfer(h, 0x01, out, size, &n, 1000) < 0 || n != size ||
                    libusb_bulk_transfer(h, 0x81, in, size, &n, 1000) < 0 || n != size ||
                    memcmp(in, out, (size_t)size) != 0) {
                        fprintf(stderr, "echo %d failed\n", r);
                        return 1;
                }
        }
        double dt = now() - t0;
        printf("bulk echo directly with libusb: %d x (%d B OUT + IN) in %.2f s = %.1f MB/s, "
               "%.2f ms per echo\n",
               rounds, size, dt, 2.0 * rounds * size / 1e6 / dt, dt / rounds * 1e3);
        libusb_release_interface(h, 0);
        libusb_close(h);
        libusb_exit(ctx);
        free(out);
        free(in);
        return 0;
}
