/* JSON at the API edge: replies from jansson values and request bodies
 * decoded into typed structs through field tables (JSON or form bodies). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

/* jansson >= 2.14 provides json_decrefp */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* Steals the reference to j. */
void api_reply_json(struct http_req *r, int status, json_t *j);
/* {"status": s} */
void api_reply_status(struct http_req *r, int status, const char *s);
/* Map a -errno from lower layers to a status and reply with msg. */
void api_reply_errno(struct http_req *r, int err, const char *msg);
/* errno -> HTTP status (errors.c): -ENOENT 404, -EEXIST 409, -EINVAL 400, ... */
int api_status_for_errno(int err);

/* The body is an HTML form (so the answer is a 303 to the page). */
bool api_body_is_form(struct http_req *r);

enum field_type { FIELD_STRING, FIELD_INT, FIELD_BOOL };

struct field {
        const char *name;
        enum field_type type;
        size_t offset;         /* of char * / long long / bool in the target struct */
        size_t present_offset; /* of a bool set when the field was given */
        bool required;
        size_t max_len; /* strings: bytes (0 = 4096) */
};

#define FIELD(st, type, name, req, maxlen)                                                         \
        {                                                                                          \
#name, type, offsetof(st, name), offsetof(st, has_##name), req, maxlen             \
        }

/* Decode the body (JSON object, or x-www-form-urlencoded) into out. Unknown
 * fields are ignored. On error replies 400 naming the field and returns false.
 * Strings in out are malloc'd: release with fields_free. */
bool fields_decode(struct http_req *r, const struct field *fields, size_t n, void *out);
void fields_free(const struct field *fields, size_t n, void *out);
