/* Search, sort and paging of a list (CONTRACT.md §9 "Lists"), for every list
 * route: ?q=&sort=&order=asc|desc&page=&per_page= (1-200, default 50). A
 * list asked without any of them is answered whole, as the seed shows; a
 * paged answer carries X-Total-Count (the matches before paging).
 *
 * Use: build the whole JSON array, then
 *     list_reply(r, arr, (const char *const[]){"domain", "aliases", NULL}, NULL);
 * Lists that can grow without bound (the audit log) page in SQL instead and
 * use list_query_parse() + list_set_total() only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

#define LIST_PER_PAGE_DEFAULT 50
#define LIST_PER_PAGE_MAX     200
#define LIST_Q_MAX            200

struct list_query {
        const char *q;    /* NULL: no search */
        const char *sort; /* NULL: the list's own order */
        bool desc;
        long long page, per_page;
        bool paged; /* one of the parameters was given */
};

/* Read the parameters. sort must be one of sort_keys (NULL-terminated; NULL:
 * checked later against the records' fields). Replies 400 naming the
 * parameter and returns false when one is wrong. */
bool list_query_parse(struct http_req *r, const char *const *sort_keys, struct list_query *out);
/* Filter arr (objects) by q (case-insensitive substring of the q_fields:
 * strings, or arrays of strings), sort (stable; numbers by value, null last),
 * and cut the page when paged. Returns a new array (arr is not changed) and
 * the number of matches in *total; NULL on out of memory, or -EINVAL in *err
 * when sort names no field of the records. */
json_t *list_apply(json_t *arr, const struct list_query *lq, const char *const *q_fields,
                   size_t *total, int *err);
/* X-Total-Count: n */
void list_set_total(struct http_req *r, long long n);
/* Parse, apply and reply 200 (or 400); steals arr. */
void list_reply(struct http_req *r, json_t *arr, const char *const *q_fields,
                const char *const *sort_keys);
/* list_reply where the records carry fields only q looks at (hidden,
 * NULL-terminated): they are removed before the reply, so a seed record
 * keeps its shape while q also matches, say, the name of what it refers to. */
void list_reply_hiding(struct http_req *r, json_t *arr, const char *const *q_fields,
                       const char *const *sort_keys, const char *const *hidden);
