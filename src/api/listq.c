#include "api/listq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/json.h"
#include "base/util.h"

static bool one_of(const char *s, const char *const *keys)
{
        for (size_t i = 0; keys && keys[i]; i++)
                if (streq(s, keys[i]))
                        return true;
        return false;
}

bool list_query_parse(struct http_req *r, const char *const *sort_keys, struct list_query *out)
{
        *out = (struct list_query){.page = 1, .per_page = LIST_PER_PAGE_DEFAULT};
        const char *q = http_query(r, "q"), *sort = http_query(r, "sort"),
                   *order = http_query(r, "order"), *page = http_query(r, "page"),
                   *pp = http_query(r, "per_page");
        out->paged = q || sort || order || page || pp;
        if (q && strlen(q) > LIST_Q_MAX) {
                http_reply_errorf(r, 400, "q: at most %d characters", LIST_Q_MAX);
                return false;
        }
        out->q = q && *q ? q : NULL;
        if (sort && *sort) {
                if (sort_keys && !one_of(sort, sort_keys)) {
                        http_reply_errorf(r, 400, "sort: unknown field '%.64s'", sort);
                        return false;
                }
                out->sort = sort;
        }
        if (order && *order) {
                if (!streq(order, "asc") && !streq(order, "desc")) {
                        http_reply_error(r, 400, "order must be asc or desc");
                        return false;
                }
                out->desc = streq(order, "desc");
        }
        if (page && parse_int64(page, 1, 1000000000, &out->page) < 0) {
                http_reply_error(r, 400, "page must be a whole number from 1");
                return false;
        }
        if (pp && parse_int64(pp, 1, LIST_PER_PAGE_MAX, &out->per_page) < 0) {
                http_reply_errorf(r, 400, "per_page must be between 1 and %d", LIST_PER_PAGE_MAX);
                return false;
        }
        return true;
}

static bool matches(json_t *o, const char *q, const char *const *fields)
{
        for (size_t i = 0; fields && fields[i]; i++) {
                json_t *v = json_object_get(o, fields[i]);
                if (json_is_string(v) && strcasestr(json_string_value(v), q))
                        return true;
                if (json_is_array(v)) {
                        size_t k;
                        json_t *e;
                        json_array_foreach(v, k,
                                           e) if (json_is_string(e) &&
                                                  strcasestr(json_string_value(e), q)) return true;
                }
        }
        return false;
}

struct sort_item {
        json_t *o;
        size_t idx;
};

/* qsort gets no context argument: the key and direction of the running sort
 * are per thread */
static _Thread_local const char *sort_key;
static _Thread_local bool sort_desc;

static int rank(json_t *v)
{
        if (!v || json_is_null(v))
                return 3;
        if (json_is_number(v) || json_is_boolean(v))
                return 0;
        if (json_is_string(v))
                return 1;
        return 2;
}

static double num(json_t *v)
{
        return json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : json_number_value(v);
}

static int cmp_items(const void *x, const void *y)
{
        const struct sort_item *a = x, *b = y;
        json_t *va = json_object_get(a->o, sort_key), *vb = json_object_get(b->o, sort_key);
        int ra = rank(va), rb = rank(vb), c = 0;
        if (ra != rb) {
                /* null (and missing) stay last whatever the order */
                if (ra == 3 || rb == 3)
                        return ra == 3 ? 1 : -1;
                c = ra < rb ? -1 : 1;
        } else if (ra == 0) {
                double da = num(va), db = num(vb);
                c = da < db ? -1 : da > db ? 1 : 0;
        } else if (ra == 1) {
                c = strcasecmp(json_string_value(va), json_string_value(vb));
                if (c == 0)
                        c = strcmp(json_string_value(va), json_string_value(vb));
        }
        if (ra == 3 && rb == 3)
                c = 0;
        if (sort_desc)
                c = -c;
        if (c == 0) /* stable */
                c = a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
        return c;
}

json_t *list_apply(json_t *arr, const struct list_query *lq, const char *const *q_fields,
                   size_t *total, int *err)
{
        *err = 0;
        size_t n = json_array_size(arr), k = 0;
        struct sort_item *items = calloc(n ? n : 1, sizeof(*items));
        if (!items)
                return NULL;
        if (lq->sort && n) {
                /* a field of the records: the first one names them all */
                bool known = false;
                for (size_t i = 0; i < n && !known; i++)
                        known = json_object_get(json_array_get(arr, i), lq->sort) != NULL;
                if (!known) {
                        free(items);
                        *err = -EINVAL;
                        return NULL;
                }
        }
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_array_get(arr, i);
                if (lq->q && !matches(o, lq->q, q_fields))
                        continue;
                items[k++] = (struct sort_item){o, i};
        }
        if (lq->sort && k > 1) {
                sort_key = lq->sort;
                sort_desc = lq->desc;
                qsort(items, k, sizeof(*items), cmp_items);
        } else if (!lq->sort && lq->desc) {
                for (size_t i = 0; i < k / 2; i++) {
                        struct sort_item t = items[i];
                        items[i] = items[k - 1 - i];
                        items[k - 1 - i] = t;
                }
        }
        *total = k;
        size_t from = 0, to = k;
        if (lq->paged) {
                unsigned long long f =
                    (unsigned long long)(lq->page - 1) * (unsigned long long)lq->per_page;
                from = f < k ? (size_t)f : k;
                to = from + (size_t)lq->per_page < k ? from + (size_t)lq->per_page : k;
        }
        json_t *out = json_array();
        for (size_t i = from; out && i < to; i++)
                if (json_array_append(out, items[i].o) < 0) {
                        json_decref(out);
                        out = NULL;
                }
        free(items);
        return out;
}

void list_set_total(struct http_req *r, long long n)
{
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", n);
        http_add_header(r, "X-Total-Count", buf);
}

static void drop_fields(json_t *arr, const char *const *fields)
{
        for (size_t i = 0; fields && i < json_array_size(arr); i++)
                for (size_t k = 0; fields[k]; k++)
                        json_object_del(json_array_get(arr, i), fields[k]);
}

void list_reply_hiding(struct http_req *r, json_t *arr, const char *const *q_fields,
                       const char *const *sort_keys, const char *const *hidden)
{
        struct list_query lq;
        if (!list_query_parse(r, sort_keys, &lq)) {
                json_decref(arr);
                return;
        }
        if (!lq.paged) {
                drop_fields(arr, hidden);
                api_reply_json(r, 200, arr);
                return;
        }
        size_t total = 0;
        int err = 0;
        json_t *page = list_apply(arr, &lq, q_fields, &total, &err);
        json_decref(arr);
        if (err == -EINVAL) {
                http_reply_errorf(r, 400, "sort: unknown field '%.64s'", lq.sort);
                return;
        }
        if (!page) {
                http_reply_error(r, 500, "out of memory");
                return;
        }
        drop_fields(page, hidden);
        list_set_total(r, (long long)total);
        api_reply_json(r, 200, page);
}

void list_reply(struct http_req *r, json_t *arr, const char *const *q_fields,
                const char *const *sort_keys)
{
        list_reply_hiding(r, arr, q_fields, sort_keys, NULL);
}
