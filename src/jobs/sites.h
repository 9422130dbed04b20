/* Site jobs: create (provisioning), deploy, update and delete as job kinds
 * of the engine (jobs/engine.h), subject "site:<id>", with their steps and
 * undo steps.
 *
 * create: site row (undo: delete it), app_root (undo: remove what this job
 *   made or filled), git clone, dependencies (pip/npm), systemd, app user,
 *   unit (install, enable, start; undo: remove the unit), nginx (a failed
 *   transaction restores its own files).
 * deploy: git pull, dependencies, systemd, app user, restart.
 * update: site row (undo: restore the old row), unit (undo: back to the old
 *   unit), nginx.
 * delete: nginx (undo: put the vhost back), unit, site row.
 *
 * Each job's ctx is a struct site_job; its `out` says how a failure is
 * answered (the seed's "<step> failed: ..." text, the step and an HTTP
 * status). After a crash, an interrupted create is rolled back (unit, vhost,
 * row, the app_root it made). */
#pragma once

#include <stdbool.h>

#include "core/config.h"
#include "core/site.h"
#include "jobs/engine.h"

struct db;

#define SITE_PORT_LO 8000
#define SITE_PORT_HI 8999

struct site_outcome {
        const char *step; /* the failed step, NULL on success */
        char *error;      /* "<step> failed: ..." */
        int status;       /* HTTP status for the failure */
};

struct site_job {
        const struct config *cfg;
        struct db *db;
        struct site site; /* the site (create, deploy, delete) or its new state (update) */
        struct site old;  /* update: the row before */
        unsigned mask;    /* update: the columns given */
        struct site_outcome out;
        /* what ran, for the undo steps */
        bool made_root, filled_root, unit_tried, row_updated, units_changed, vhost_dropped;
        const char *user;
        long long deployment_id; /* the seed's deployments row (create, deploy), else 0 */
};

extern const struct job_kind site_create_kind, site_deploy_kind, site_update_kind, site_delete_kind;

/* A zeroed ctx for cfg and db; NULL on ENOMEM. */
struct site_job *site_job_new(const struct config *cfg, struct db *db);
void site_job_free(void *ctx);
/* "site:<id>" into out (>= 32 bytes). */
void site_subject(long long id, char *out, size_t len);

/* Insert the row of a new site: the domain must be free and app sites get
 * their port checked or picked (SITE_PORT_LO-HI), all under one lock with
 * the update step's checks. 0 (s->id set) or -errno with *status (HTTP) and
 * *err (malloc'd) saying why. */
int site_reserve(struct db *db, struct site *s, int *status, char **err);
/* Remove a unit for good; when systemd cannot be reached the file still
 * goes. 0 or -errno. */
int site_remove_unit(const struct config *cfg, const char *unit);
/* start/stop/restart the unit of s (not a job: quick). 0, or -1 with out set. */
int site_unit_op(const struct site *s, int op, const char *what, struct site_outcome *out);
void site_outcome_clear(struct site_outcome *o);
