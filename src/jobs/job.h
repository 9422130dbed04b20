/* Tracked jobs: long operations (clone, venv, npm, deploy) that report into a
 * `deployments` row and can be followed live.
 *
 * A job is the row plus an in-memory window of its output (the last
 * JOB_OUTPUT_KEEP bytes; what falls out of it is summarised as a count) and
 * a list of subscribers, each with an eventfd that becomes readable when new
 * output arrives or the job ends, so an SSE stream can watch it without a
 * thread. The row gets the output every JOB_FLUSH_S seconds while running
 * and in full at the end. Finished jobs stay findable for JOB_LINGER_S
 * seconds (a client that connects late still gets the whole output and the
 * end), then only the row remains. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"

struct db;
struct job;
struct job_sub;

#define JOB_OUTPUT_KEEP (1024 * 1024)
#define JOB_FLUSH_S     2
#define JOB_LINGER_S    300

/* Insert the row (status "running") and register the job. The caller owns
 * one reference (job_unref). action: "clone", "create", "deploy". 0 or -errno. */
int job_new(struct db *db, long long site_id, const char *action, struct job **out);
long long job_id(const struct job *j);
long long job_site_id(const struct job *j);

/* Append output (a deploy_output_fn: ctx is the job). Wakes subscribers. */
void job_output(void *job, const char *data, size_t len);
void job_printf(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* End the job: summary (may be NULL) is appended as a last line, the row gets
 * status success/failed, finished_at and the output. Subscribers are woken.
 * Only the first call counts. 0 or -errno (row update failed; the job still
 * ends). */
int job_finish(struct job *j, bool ok, const char *summary);
/* The summary job_finish was given (malloc'd copy; NULL when none or
 * still running). */
char *job_summary(struct job *j);
/* true when finished; *ok (may be NULL) gets the outcome. */
bool job_done(struct job *j, bool *ok);
/* The last max bytes of output (trimmed of surrounding whitespace, starting
 * at a line boundary when one is near), malloc'd; NULL on ENOMEM. */
char *job_tail(struct job *j, size_t max);

/* A registered job by id (a new reference), or NULL once dropped. */
struct job *job_find(long long id);
struct job *job_ref(struct job *j);
void job_unref(struct job *j);

/* Follow a job from byte offset `from` of its output (0 = the start). 0 or -errno. */
int job_subscribe(struct job *j, size_t from, struct job_sub **out);
/* Readable when there is something new; owned by the subscription (dup it to
 * hand it away). */
int job_sub_fd(struct job_sub *s);
/* Acknowledge the fd and append up to max bytes of new output to out.
 * *skipped gets how many bytes between the subscriber's offset and the
 * oldest byte still kept were lost; *offset the offset after what was read;
 * *done is set once everything has been read and the job has ended (then
 * *ok is its outcome). 0 or -errno. */
int job_sub_read(struct job_sub *s, struct strbuf *out, size_t max, size_t *skipped, size_t *offset,
                 bool *done, bool *ok);
void job_sub_free(struct job_sub *s);

/* Drop finished jobs older than linger_s seconds now (normally done
 * lazily with JOB_LINGER_S). For tests and shutdown. */
void jobs_reap(unsigned linger_s);
