/* AUTARCH install, update and DNS build as lists of named steps (run +
 * undo), the shape of the job engine's kinds (jobs/engine.h): each step
 * runs on a job thread with the job for its output; a failing step says why
 * (autarch_job_error) and the undos of the steps that ran put the machine
 * back, so a retry starts clean (no <dir>/.git is left by a failed install).
 *
 * Every program runs through sys/exec with a time limit per step, "--"
 * before data, no prompts: git clone -c core.fileMode=false, python3 -m
 * venv, pip --no-input --disable-pip-version-check --retries 1 --timeout 15,
 * npm install (when package.json exists), go build with GOCACHE under the
 * install dir. The install creates the system user `autarch`, gives it the
 * tree (settings file 0600) and the data directories of the reference, and
 * installs the autarch-web and autarch-dns units (daemon-reload, not
 * started). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

struct job;

/* The steps' shared state: one per job, made by autarch_ctx_new. */
struct autarch_ctx {
        char *dir, *repo, *branch;
        int web_port;
        bool upgrade_pip;
        /* what the install made, for its undos */
        bool dir_existed, parent_made, user_made, units_made;
        /* update / dns build */
        char old_head[41];
        bool web_was_running, dns_was_running;
        char *unit_dir;
        char error[1024];   /* "<step> failed: ..." of the failing step */
        const char *failed; /* its name */
        const char *cur;    /* the step running */
};

struct autarch_step {
        const char *name;
        int (*run)(struct job *j, void *ctx); /* 0, AUTARCH_SKIP or -errno */
        void (*undo)(struct job *j, void *ctx);
};

#define AUTARCH_SKIP 1

struct autarch_kind {
        const char *name; /* autarch_install, autarch_update, autarch_dns_build */
        const struct autarch_step *steps;
        size_t nsteps;
};

extern const struct autarch_kind autarch_install_kind, autarch_update_kind, autarch_dns_build_kind;

/* A context from the configuration (autarch.* and systemd.unit_dir); NULL
 * on ENOMEM. */
struct autarch_ctx *autarch_ctx_new(const struct config *cfg);
void autarch_ctx_free(void *ctx);

/* Run k's steps in order on the calling thread with j for output; on a
 * failure the undos of every step that ran (the failed one included) run in
 * reverse. 0, or -errno with c->error and c->failed set. (The job engine
 * does the same when the kind runs there.) */
int autarch_run(const struct autarch_kind *k, struct autarch_ctx *c, struct job *j);
