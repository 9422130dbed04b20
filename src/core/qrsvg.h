/* A QR code (libqrencode, loaded only while one is made) drawn as SVG by us:
 * 2FA enrolment shows the otpauth:// URI this way, nothing leaves the panel. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The module matrix of text (error correction M, 8-bit mode): *width x *width
 * bytes, 1 for a dark module. malloc'd, NULL on error (errno set: ELIBACC when
 * libqrencode cannot be loaded, EINVAL, ENOMEM). */
unsigned char *qr_matrix(const char *text, int *width);
/* SVG of the matrix with a 4-module quiet zone, one <path>; malloc'd or NULL. */
char *qr_svg_of_matrix(const unsigned char *m, int width);
/* Both in one: malloc'd SVG document, or NULL (errno as qr_matrix). */
char *qr_svg(const char *text);
