#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/listq.h"

static json_t *sample(void)
{
        return json_pack("[{s:i,s:s,s:[s]},{s:i,s:s,s:[s]},{s:i,s:s,s:[]},{s:i,s:n,s:[]}]", "id", 3,
                         "name", "beta.test", "tags", "x", "id", 1, "name", "Alpha.test", "tags",
                         "shop", "id", 2, "name", "gamma.example", "tags", "id", 4, "name", "tags");
}

static const char *const qf[] = {"name", "tags", NULL};

static void ids(json_t *arr, const int *want, size_t n)
{
        assert_int_equal(json_array_size(arr), n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, i), "id")),
                                 want[i]);
}

static void test_whole_list_unpaged(void **state)
{
        (void)state;
        json_t *a = sample();
        struct list_query lq = {.page = 1, .per_page = 50};
        size_t total;
        int err;
        json_t *out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){3, 1, 2, 4}, 4);
        assert_int_equal(total, 4);
        json_decref(out);
        json_decref(a);
}

static void test_search_case_insensitive_and_arrays(void **state)
{
        (void)state;
        json_t *a = sample();
        struct list_query lq = {.q = "TEST", .page = 1, .per_page = 50, .paged = true};
        size_t total;
        int err;
        json_t *out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){3, 1}, 2);
        json_decref(out);
        lq.q = "shop"; /* an element of an array field */
        out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){1}, 1);
        json_decref(out);
        json_decref(a);
}

static void test_sort_nulls_last_and_paging(void **state)
{
        (void)state;
        json_t *a = sample();
        struct list_query lq = {.sort = "name", .page = 1, .per_page = 2, .paged = true};
        size_t total;
        int err;
        json_t *out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){1, 3}, 2);
        assert_int_equal(total, 4);
        json_decref(out);
        lq.page = 2;
        out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){2, 4}, 2); /* null name last */
        json_decref(out);
        lq.desc = true;
        lq.page = 1;
        out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){2, 3}, 2); /* null still last */
        json_decref(out);
        lq.sort = "id";
        lq.desc = false;
        lq.per_page = 50;
        out = list_apply(a, &lq, qf, &total, &err);
        ids(out, (const int[]){1, 2, 3, 4}, 4);
        json_decref(out);
        lq.page = 9;
        out = list_apply(a, &lq, qf, &total, &err);
        assert_int_equal(json_array_size(out), 0);
        assert_int_equal(total, 4);
        json_decref(out);
        json_decref(a);
}

static void test_unknown_sort_key(void **state)
{
        (void)state;
        json_t *a = sample();
        struct list_query lq = {.sort = "password", .page = 1, .per_page = 5, .paged = true};
        size_t total;
        int err = 0;
        assert_null(list_apply(a, &lq, qf, &total, &err));
        assert_int_equal(err, -EINVAL);
        json_decref(a);
        /* an empty list has no fields to check against */
        json_t *e = json_array();
        json_t *out = list_apply(e, &lq, qf, &total, &err);
        assert_non_null(out);
        assert_int_equal(err, 0);
        json_decref(out);
        json_decref(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_whole_list_unpaged),
            cmocka_unit_test(test_search_case_insensitive_and_arrays),
            cmocka_unit_test(test_sort_nulls_last_and_paging),
            cmocka_unit_test(test_unknown_sort_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
