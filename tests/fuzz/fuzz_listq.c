/* Search, sort and paging of a list (api/listq.h list_apply) over records
 * and parameters from outside: the input is "q\nsort\norder\npage\nJSON
 * array". Invariants: no crash; an unknown sort key is -EINVAL, never a
 * partial answer; the matches never exceed the records, a page never
 * exceeds per_page, and without q every record matches; the input array is
 * left as it was. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/listq.h"
#include "fuzz.h"

static char *line(const char **p, const char *end)
{
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        if (!nl)
                return NULL;
        char *s = strndup(*p, (size_t)(nl - *p));
        *p = nl + 1;
        return s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size;
        char *q = line(&p, end), *sort = line(&p, end), *order = line(&p, end),
             *page = line(&p, end);
        if (!q || !sort || !order || !page)
                goto out;
        json_t *arr = json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY, NULL);
        if (!json_is_array(arr)) {
                json_decref(arr);
                goto out;
        }
        char *before = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
        struct list_query lq = {.q = *q ? q : NULL,
                                .sort = *sort ? sort : NULL,
                                .desc = strcmp(order, "desc") == 0,
                                .page = 1 + (long long)(strlen(page) % 5),
                                .per_page = 1 + (long long)(strlen(page) % 7),
                                .paged = *page != 0};
        size_t total = 0;
        int err = 0;
        json_t *res =
            list_apply(arr, &lq, (const char *const[]){"domain", "tags", NULL}, &total, &err);
        if (res) {
                CHECK(json_is_array(res));
                CHECK(total <= json_array_size(arr));
                CHECK(json_array_size(res) <= total);
                if (lq.paged)
                        CHECK(json_array_size(res) <= (size_t)lq.per_page);
                if (!lq.q)
                        CHECK(total == json_array_size(arr));
                json_decref(res);
        } else {
                CHECK(err == -EINVAL || err == -ENOMEM || err == 0);
        }
        char *after = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
        CHECK(before && after && strcmp(before, after) == 0);
        free(before);
        free(after);
        json_decref(arr);
out:
        free(q);
        free(sort);
        free(order);
        free(page);
        return 0;
}
