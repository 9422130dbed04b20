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
#include "jobs/engine.h"

/* The steps' shared state: one per job, made by autarch_ctx_new. */
struct autarch_ctx {
        const struct config *cfg; /* the process's, for the steps (sys/autarch autarch_step) */
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

/* Kinds of the job engine (subject "autarch"); ctx: struct autarch_ctx,
 * freed by the engine. */
extern const struct job_kind autarch_install_kind, autarch_update_kind, autarch_dns_build_kind;

#define AUTARCH_SUBJECT "autarch"

/* A context from the configuration (autarch.* and systemd.unit_dir); NULL
 * on ENOMEM. */
struct autarch_ctx *autarch_ctx_new(const struct config *cfg);
void autarch_ctx_free(void *ctx);
