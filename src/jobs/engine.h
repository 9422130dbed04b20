/* The job engine: every long operation of the panel (site create, deploy,
 * update, delete; certificate issue and renew; backup create, verify,
 * restore; AUTARCH install, update, DNS build) is a job.
 *
 * A job has a kind (struct job_kind: a name and its named steps, each with an
 * optional undo), a subject ("site:<id>", "domain:<name>", "backup:<id>",
 * "autarch"), a state (queued, running, done, failed, cancelled), live
 * output, start/end times and a result (error text and the failed step).
 *
 * One lock registry (jobs/locks.h) keyed by subject: job_start on a subject
 * another job holds fails with -EBUSY and names the holder, which the api
 * layer answers with 409. Jobs run on the engine's own pool (config
 * `jobs.workers`, default 2), never on the HTTP request workers, at a lower
 * CPU priority (nice 10, inherited by the programs they start), and do not
 * depend on the client that started them.
 *
 * Steps run in order on a job thread. A step returns 0 (done), JOB_SKIP (not
 * applicable to this job: recorded as "skipped", no undo) or < 0 (failed:
 * call job_fail() first to say why, else strerror is used). When a step
 * fails or the job is cancelled, the undo of every step that ran (the
 * failed one included, so undos must cope with half-done work) runs in
 * reverse order, then the job ends failed or cancelled.
 *
 * Output: job_output() only appends to memory (it is the on_output callback
 * of sys/exec, so it never touches the database); live readers follow it
 * through job_subscribe(). The engine writes the job row (state, steps,
 * output, data) at each step boundary and, while a step runs, at most once a
 * second from its own flusher thread.
 *
 * Cancel (job_cancel): a queued job ends at once (kind->abandon runs); a
 * running job's current program gets SIGTERM, then SIGKILL after a grace
 * (sys/exec watches the job thread's cancel fd), its steps' undos run and
 * it ends cancelled.
 *
 * Crash recovery: jobs_engine_start() marks jobs left queued/running by a
 * previous process failed ("interrupted: the panel stopped during step X");
 * jobs_recover() then lets a kind repair its subject from the job's data.
 *
 * Thread-safe. Every function not marked otherwise may be called from any
 * thread. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"

struct config;
struct db;
struct job;
struct job_sub;

#define JOB_SKIP         1
#define JOB_OUTPUT_KEEP  (1024 * 1024) /* bytes of output kept in memory and in the row */
#define JOB_LINGER_S     300           /* an ended job stays in memory this long */
#define JOB_FLUSH_S      1             /* at most one row write a second while a step runs */
#define JOB_CANCEL_GRACE 2             /* seconds between SIGTERM and SIGKILL */

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED };

struct job_step {
        const char *name; /* shown in the API and the UI: "git clone" */
        /* Runs on the job thread. ctx is the one given to job_start. */
        int (*run)(struct job *j, void *ctx);
        /* May be NULL. Runs when this step (or a later one) failed or the
         * job was cancelled. Must not fail the job; report with job_printf. */
        void (*undo)(struct job *j, void *ctx);
};

struct job_kind {
        const char *name; /* "site_create" ... (CONTRACT §9) */
        const struct job_step *steps;
        size_t nsteps;
        /* May be NULL: the job ends before any step ran (job_start failed
         * after it took ctx, cancelled while queued, the engine stopping):
         * undo what the starter did. j may not have a row (id 0). */
        void (*abandon)(struct job *j, void *ctx);
        /* May be NULL: after a crash, repair the subject of a job of this
         * kind that was interrupted. data is what the job stored with
         * job_set_data (the object, never NULL); failed_step the step that
         * was running (may be ""). Runs in jobs_recover, before any new job. */
        void (*recover)(const struct config *cfg, struct db *db, const char *subject, json_t *data,
                        const char *failed_step);
        /* May be NULL: frees ctx once the job has ended and every end
         * callback has run. */
        void (*free_ctx)(void *ctx);
};

/* Called once when the job has ended (any state), on the thread that ended
 * it, with the job's ctx (still valid during the call). */
typedef void (*job_end_fn)(struct job *j, void *ctx, void *arg);

struct job_start_opts {
        const char *user;        /* who started it (username), may be NULL */
        long long deployment_id; /* > 0: also mirror output and end into this deployments row */
        long long site_id;       /* the site of that deployment (for its stream) */
        /* May be NULL: called at the end (registered before the job can run,
         * so it always sees ctx). Never called when job_start fails. This is
         * how a request waits without a thread: http_defer(r) in the
         * handler, then on_end sets the reply and calls http_defer_done(r). */
        job_end_fn on_end;
        void *on_end_arg;
};

/* ---- engine life cycle (the api layer's jobs module calls these) ---- */

/* Mark jobs left queued/running by an earlier process failed, then start
 * `workers` job threads and the flusher. 0 or -errno. */
int jobs_engine_start(struct db *db, unsigned workers);
/* Let a kind repair what interrupted jobs of its kind left behind (call once
 * per kind, at start-up, after jobs_engine_start). */
void jobs_recover(const struct config *cfg, struct db *db, const struct job_kind *k);
/* Cancel every job, wait for them to end, stop the threads. */
void jobs_engine_stop(void);

/* ---- starting and ending ---- */

/* Lock `subject`, insert the job row (queued) and queue the job. On success
 * *out (may be NULL) gets a reference (job_unref). The engine owns ctx from
 * the call on, whatever the result (kind->free_ctx runs; on failure before
 * the job exists, at once).
 * -EBUSY: another job holds the subject; *busy_id (may be NULL) gets its id.
 * -EAGAIN: too many jobs waiting. -ESHUTDOWN: the engine is not running. */
int job_start(const struct job_kind *k, const char *subject, void *ctx,
              const struct job_start_opts *o, struct job **out, long long *busy_id);

/* Another end watcher. When the job has ended already, fn runs at once on
 * the calling thread with ctx NULL. 0 or -ENOMEM. */
int job_on_end(struct job *j, job_end_fn fn, void *arg);

/* Ask a job to stop. 0, -EALREADY when it has ended already. */
int job_cancel(struct job *j);

/* ---- inside steps (job thread) ---- */

/* Append output (the signature of sys/exec's on_output and deploy_output_fn:
 * pass the job as ctx). Memory only; wakes live readers. */
void job_output(void *job, const char *data, size_t len);
void job_printf(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The reason of the failing step, kept as the job's error as written
 * (without it the error is "<step> failed: <strerror>"). */
void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Recovery data kept in the row (json object; the value is stolen). */
void job_set_data(struct job *j, const char *key, json_t *value);
/* true once job_cancel was called. */
bool job_cancelled(struct job *j);

/* ---- reading ---- */

struct job *job_find(long long id);
/* The live job mirrored into deployments row `deployment_id`, or NULL. */
struct job *job_find_deployment(long long deployment_id);
struct job *job_ref(struct job *j);
void job_unref(struct job *j);

long long job_id(const struct job *j);
long long job_site_id(const struct job *j);
const char *job_subject(const struct job *j);
const char *job_kind_name(const struct job *j);
enum job_state job_state_of(struct job *j);
const char *job_state_name(enum job_state st);
/* true when ended; *ok (may be NULL) is true for done. */
bool job_done(struct job *j, bool *ok);
/* The error of an ended job ("<step> failed: ...", malloc'd, NULL when
 * none) and the name of the step that failed (malloc'd, NULL when none). */
char *job_summary(struct job *j);
char *job_failed_step(struct job *j);
/* The last max bytes of output (trimmed, starting at a line), malloc'd. */
char *job_tail(struct job *j, size_t max);
/* The job as the API shows it: {"id","kind","subject","state","step",
 * "created_at","started_at","finished_at","error"}, plus "steps" and
 * "output" when full. New reference. */
json_t *job_json(struct job *j, bool full);

/* Follow a job's output from byte offset `from`. The fd (owned by the
 * subscription) becomes readable on new output, a step change or the end. */
int job_subscribe(struct job *j, size_t from, struct job_sub **out);
int job_sub_fd(struct job_sub *s);
/* Acknowledge the fd and append up to max bytes of new output to out.
 * *skipped: bytes lost between the reader and the oldest kept byte;
 * *offset: the offset after what was read; *done: everything read and the
 * job ended (*ok: it ended done). */
int job_sub_read(struct job_sub *s, struct strbuf *out, size_t max, size_t *skipped, size_t *offset,
                 bool *done, bool *ok);
/* Step changes since the last call: the number of steps whose state changed
 * is returned and their json ({"name","state",...}) appended to arr. */
size_t job_sub_steps(struct job_sub *s, json_t *arr);
void job_sub_free(struct job_sub *s);

/* Drop ended jobs older than linger_s from memory (rows stay). */
void jobs_reap(unsigned linger_s);
