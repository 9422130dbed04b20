/* Static files of the web UI, embedded at build time (cmake/embed.cmake). */
#pragma once

#include <stddef.h>

struct asset {
        const char *path; /* "/css/style.css" */
        const unsigned char *data;
        size_t size;
};

extern const struct asset assets_table[];

/* Exact lookup; NULL when absent (directories are never listed). */
const struct asset *assets_find(const char *path);
/* Content-Type for a path by its extension. */
const char *assets_content_type(const char *path);
