/* Helpers for the api modules that start jobs (jobs/engine.h). */
#pragma once

#include <stdbool.h>

#include "http/server.h"
#include "jobs/engine.h"

/* 409 {"error":"<subject> is busy: job <id> is already running; try
 * again","job_id"} (CONTRACT §9); job 0 = a quick change that is no job. */
void api_reply_busy(struct http_req *r, const char *subject, long long job);
/* The reply for a failed job_start (busy 409, queue full 503, ...). */
void api_reply_job_start_error(struct http_req *r, int rc, const char *subject, long long busy);
/* The client asked for Prefer: respond-async. */
bool api_wants_async(struct http_req *r);

/* Start job kind k on subject with ctx. Asynchronous (async_body not NULL
 * and Prefer: respond-async): replies 202 with async_body plus "job_id",
 * Location: /api/jobs/{id} and Preference-Applied. Otherwise the request
 * waits suspended (http_defer) and `done` (called at the job's end with
 * arg r) must set the reply and call http_defer_done(r). Takes ctx and
 * async_body. On a start failure the reply is set (and a deferral
 * completed) here. true when the job started. */
bool api_start_job(struct http_req *r, const struct job_kind *k, const char *subject, void *ctx,
                   struct job_start_opts *o, job_end_fn done, json_t *async_body);
