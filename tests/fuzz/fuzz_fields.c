/* Request bodies decoded through a field table (api/json.h). The table has
 * every field kind fields_decode supports (a string with a length limit, one
 * with the default limit, a required one, an integer, a boolean). Any body
 * either decodes to exactly the values the JSON holds, within the table's
 * limits, or is answered 400 with a message naming the first field at fault
 * (or saying the body is no JSON object). The input is the JSON body: a form
 * body needs the server's request internals (http/server.c) and is not
 * exercised here. */
#include <jansson.h>
#include <string.h>

#include "api/json.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fuzz.h"

struct body {
        char *note;
        bool has_note;
        long long count;
        bool has_count;
        char *name;
        bool has_name;
        bool enabled;
        bool has_enabled;
        char *tag;
        bool has_tag;
};

#define NAME_MAX_LEN 16
#define TAG_MAX_LEN  1
#define DEFAULT_MAX  4096 /* max_len 0 */

static const struct field fields[] = {
    FIELD(struct body, FIELD_STRING, note, false, 0),
    FIELD(struct body, FIELD_INT, count, false, 0),
    FIELD(struct body, FIELD_STRING, name, true, NAME_MAX_LEN),
    FIELD(struct body, FIELD_BOOL, enabled, false, 0),
    FIELD(struct body, FIELD_STRING, tag, false, TAG_MAX_LEN),
};

/* What fields_decode must do with this body: NULL when it decodes, else the
 * start of the error message (a field name followed by a space, or one of
 * the body-level messages). */
static const char *expected_error(json_t *root, bool loaded, bool empty)
{
        if (!empty && !loaded)
                return "invalid JSON body";
        if (!empty && !json_is_object(root))
                return "request body must be a JSON object";
        for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
                const struct field *f = &fields[i];
                json_t *v = root ? json_object_get(root, f->name) : NULL;
                if (!v || json_is_null(v)) {
                        if (f->required)
                                return f->name;
                        continue;
                }
                size_t max = f->max_len ? f->max_len : DEFAULT_MAX;
                bool ok = false;
                switch (f->type) {
                case FIELD_STRING:
                        ok = json_is_string(v) &&
                             strlen(json_string_value(v)) == json_string_length(v) &&
                             json_string_length(v) <= max;
                        break;
                case FIELD_INT:
                        ok = json_is_integer(v);
                        break;
                case FIELD_BOOL:
                        ok = json_is_boolean(v);
                        break;
                }
                if (!ok)
                        return f->name;
        }
        return NULL;
}

static void check_decoded(json_t *root, const struct body *b)
{
        for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
                const struct field *f = &fields[i];
                json_t *v = root ? json_object_get(root, f->name) : NULL;
                bool given = v && !json_is_null(v);
                const char *base = (const char *)b;
                CHECK(*(const bool *)(base + f->present_offset) == given);
                CHECK(given || !f->required);
                switch (f->type) {
                case FIELD_STRING: {
                        const char *s = *(char *const *)(base + f->offset);
                        size_t max = f->max_len ? f->max_len : DEFAULT_MAX;
                        if (!given) {
                                CHECK(!s);
                                break;
                        }
                        CHECK(s && strlen(s) <= max && streq(s, json_string_value(v)));
                        break;
                }
                case FIELD_INT: {
                        long long n = *(const long long *)(base + f->offset);
                        CHECK(given ? n == json_integer_value(v) : n == 0);
                        break;
                }
                case FIELD_BOOL: {
                        bool t = *(const bool *)(base + f->offset);
                        CHECK(given ? t == json_is_true(v) : !t);
                        break;
                }
                }
        }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        struct http_req r = {.resp_fd = -1, .body = STRBUF_INIT(1 << 20)};
        CHECK(strbuf_append(&r.body, data, size) == 0);

        json_error_t je;
        json_t *root =
            size ? json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je) : NULL;
        const char *want = expected_error(root, root != NULL, size == 0);

        struct body b = {0};
        bool ok = fields_decode(&r, fields, ARRAY_SIZE(fields), &b);
        if (ok) {
                CHECK(!want);
                CHECK(!r.responded);
                check_decoded(root, &b);
        } else {
                CHECK(want);
                /* a JSON {"error": ...} body, whatever bytes the request held */
                CHECK(r.responded && r.status == 400 && r.resp_body);
                json_t *reply = json_loadb(r.resp_body, r.resp_len, 0, NULL);
                const char *msg = json_string_value(json_object_get(reply, "error"));
                CHECK(msg);
                /* "<field> is required", "<field> must be ...", or about the body */
                CHECK(startswith(msg, want) && (strchr(want, ' ') || msg[strlen(want)] == ' '));
                json_decref(reply);
        }
        fields_free(fields, ARRAY_SIZE(fields), &b);
        CHECK(!b.note && !b.name && !b.tag);
        json_decref(root);
        free(r.resp_body);
        strbuf_free(&r.body);
        return 0;
}
