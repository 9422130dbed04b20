#include "core/qrsvg.h"

#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "base/dynlib.h"
#include "base/strbuf.h"
#include "base/util.h"

struct qr_fns {
        __typeof__(QRcode_encodeString) *QRcode_encodeString;
        __typeof__(QRcode_free) *QRcode_free;
};
static const char *const names[] = {"QRcode_encodeString", "QRcode_free"};
static const char *const sonames[] = {"libqrencode.so.4", NULL};
static struct qr_fns fns;
_Static_assert(sizeof(fns) == ARRAY_SIZE(names) * sizeof(void *), "one slot per name");
static struct dynlib_ref ref =
    DYNLIB_REF(sonames, names, ARRAY_SIZE(names), "QR codes", (void **)&fns);

#define QR_MAX_TEXT 1024

unsigned char *qr_matrix(const char *text, int *width)
{
        if (!text || !*text || strlen(text) > QR_MAX_TEXT) {
                errno = EINVAL;
                return NULL;
        }
        if (dynlib_hold(&ref) < 0) {
                errno = ELIBACC;
                return NULL;
        }
        unsigned char *out = NULL;
        QRcode *q = fns.QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (!q) {
                errno = errno ? errno : EINVAL;
                goto done;
        }
        size_t n = (size_t)q->width * (size_t)q->width;
        out = malloc(n);
        if (out) {
                for (size_t i = 0; i < n; i++)
                        out[i] = q->data[i] & 1;
                *width = q->width;
        } else {
                errno = ENOMEM;
        }
        fns.QRcode_free(q);
done:
        dynlib_release(&ref);
        return out;
}

char *qr_svg_of_matrix(const unsigned char *m, int width)
{
        if (!m || width <= 0 || width > 177) {
                errno = EINVAL;
                return NULL;
        }
        const int quiet = 4, size = width + 2 * quiet;
        struct strbuf b = STRBUF_INIT(1 << 20);
        int err = strbuf_printf(
            &b,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
            size, size, size, size);
        /* one subpath per horizontal run of dark modules */
        for (int y = 0; y < width; y++) {
                for (int x = 0; x < width;) {
                        if (!m[y * width + x]) {
                                x++;
                                continue;
                        }
                        int run = 1;
                        while (x + run < width && m[y * width + x + run])
                                run++;
                        err |=
                            strbuf_printf(&b, "M%d %dh%dv1h-%dz", x + quiet, y + quiet, run, run);
                        x += run;
                }
        }
        err |= strbuf_puts(&b, "\"/></svg>");
        if (err < 0) {
                strbuf_free(&b);
                errno = ENOMEM;
                return NULL;
        }
        return strbuf_steal(&b);
}

char *qr_svg(const char *text)
{
        int w = 0;
        unsigned char *m = qr_matrix(text, &w);
        if (!m)
                return NULL;
        char *svg = qr_svg_of_matrix(m, w);
        free(m);
        return svg;
}
