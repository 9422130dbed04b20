#include "api/json.h"

#include <errno.h>
#include <string.h>

#include "base/util.h"

void api_reply_json(struct http_req *r, int status, json_t *j)
{
        char *s =
            j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(j);
        if (!s) {
                http_reply_error(r, 500, "could not encode response");
                return;
        }
        http_reply(r, status, "application/json", s, strlen(s));
}

void api_reply_status(struct http_req *r, int status, const char *s)
{
        api_reply_json(r, status, json_pack("{s:s}", "status", s));
}

int api_status_for_errno(int err)
{
        switch (err) {
        case -ENOENT:
                return 404;
        case -EEXIST:
        case -EBUSY:
                return 409;
        case -EINVAL:
        case -ERANGE:
        case -E2BIG:
                return 400;
        case -EPERM:
        case -EACCES:
                return 403;
        case -EAGAIN:
                return 503;
        case -ENOSYS:
        case -EOPNOTSUPP:
                return 501;
        default:
                return 500;
        }
}

void api_reply_errno(struct http_req *r, int err, const char *msg)
{
        http_reply_error(r, api_status_for_errno(err), msg ? msg : strerror(-err));
}

bool api_body_is_form(struct http_req *r)
{
        /* `curl -d '{...}'` sends a form content type: a body that is
         * clearly JSON is read as JSON. */
        return http_is_form(r) && !(r->body.len && r->body.data[0] == '{');
}

static bool set_from_string(const struct field *f, const char *v, void *out, char *err,
                            size_t errlen)
{
        char *base = out;
        size_t max = f->max_len ? f->max_len : 4096;
        switch (f->type) {
        case FIELD_STRING: {
                if (strlen(v) > max) {
                        snprintf(err, errlen, "%s is too long (at most %zu bytes)", f->name, max);
                        return false;
                }
                char *copy = strdup(v);
                if (!copy) {
                        snprintf(err, errlen, "out of memory");
                        return false;
                }
                char **slot = (char **)(void *)(base + f->offset);
                free(*slot);
                *slot = copy;
                return true;
        }
        case FIELD_INT: {
                long long n;
                if (parse_int64(v, -(1LL << 53), 1LL << 53, &n) < 0) {
                        snprintf(err, errlen, "%s must be an integer", f->name);
                        return false;
                }
                *(long long *)(void *)(base + f->offset) = n;
                return true;
        }
        case FIELD_BOOL:
                if (streq(v, "true") || streq(v, "1") || streq(v, "on") || streq(v, "yes"))
                        *(bool *)(base + f->offset) = true;
                else if (streq(v, "false") || streq(v, "0") || streq(v, "off") || streq(v, "no") ||
                         streq(v, ""))
                        *(bool *)(base + f->offset) = false;
                else {
                        snprintf(err, errlen, "%s must be true or false", f->name);
                        return false;
                }
                return true;
        }
        return false;
}

static bool set_from_json(const struct field *f, json_t *v, void *out, char *err, size_t errlen)
{
        char *base = out;
        switch (f->type) {
        case FIELD_STRING:
                if (!json_is_string(v)) {
                        snprintf(err, errlen, "%s must be a string", f->name);
                        return false;
                }
                if (memchr(json_string_value(v), '\0', json_string_length(v))) {
                        snprintf(err, errlen, "%s must not contain NUL bytes", f->name);
                        return false;
                }
                return set_from_string(f, json_string_value(v), out, err, errlen);
        case FIELD_INT:
                if (!json_is_integer(v)) {
                        snprintf(err, errlen, "%s must be an integer", f->name);
                        return false;
                }
                *(long long *)(void *)(base + f->offset) = (long long)json_integer_value(v);
                return true;
        case FIELD_BOOL:
                if (!json_is_boolean(v)) {
                        snprintf(err, errlen, "%s must be true or false", f->name);
                        return false;
                }
                *(bool *)(base + f->offset) = json_is_true(v);
                return true;
        }
        return false;
}

bool fields_decode(struct http_req *r, const struct field *fields, size_t n, void *out)
{
        char err[256] = "";
        char *base = out;
        _cleanup_json_ json_t *root = NULL;
        bool form = api_body_is_form(r);
        if (!form && r->body.len) {
                json_error_t je;
                root = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
                if (!root) {
                        /* not je.text: it quotes the body, possibly cut inside
                         * a UTF-8 sequence */
                        http_reply_errorf(r, 400, "invalid JSON body (line %d, column %d)", je.line,
                                          je.column);
                        return false;
                }
                if (!json_is_object(root)) {
                        http_reply_error(r, 400, "request body must be a JSON object");
                        return false;
                }
        }
        for (size_t i = 0; i < n; i++) {
                const struct field *f = &fields[i];
                bool ok = true, present = false;
                if (form) {
                        const char *v = http_form(r, f->name);
                        if (v) {
                                present = true;
                                ok = set_from_string(f, v, out, err, sizeof(err));
                        }
                } else if (root) {
                        json_t *v = json_object_get(root, f->name);
                        if (v && !json_is_null(v)) {
                                present = true;
                                ok = set_from_json(f, v, out, err, sizeof(err));
                        }
                }
                if (!ok) {
                        http_reply_error(r, 400, err);
                        return false;
                }
                *(bool *)(base + f->present_offset) = present;
                if (f->required && !present) {
                        http_reply_errorf(r, 400, "%s is required", f->name);
                        return false;
                }
        }
        return true;
}

void fields_free(const struct field *fields, size_t n, void *out)
{
        char *base = out;
        for (size_t i = 0; i < n; i++)
                if (fields[i].type == FIELD_STRING) {
                        char **slot = (char **)(void *)(base + fields[i].offset);
                        free(*slot);
                        *slot = NULL;
                }
}
