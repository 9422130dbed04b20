/* Static files of the web UI, embedded at build time (cmake/embed.cmake). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct asset {
        const char *path; /* "/css/style.css" */
        const unsigned char *data;
        size_t size;
        const unsigned char *gz; /* gzip of data made at build time, or NULL */
        size_t gz_size;
        const char *etag; /* "\"<16 hex of SHA-256>\"" of data */
};

extern const struct asset assets_table[];

/* Exact lookup; NULL when absent (directories are never listed). */
const struct asset *assets_find(const char *path);
/* Content-Type for a path by its extension. */
const char *assets_content_type(const char *path);
/* Does an If-None-Match value name etag (or "*")? */
bool assets_etag_matches(const char *if_none_match, const char *etag);
