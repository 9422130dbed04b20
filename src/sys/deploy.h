/* Getting an app's code and dependencies in place: git clone/pull, python
 * venv + pip, npm. Every program runs through sys/exec with "--" before user
 * data and a timeout; output is passed to `out` as it arrives (for the
 * deployment log) and kept in the deployment record by the caller. */
#pragma once

#include <stddef.h>

#include "core/config.h"

typedef void (*deploy_output_fn)(void *ctx, const char *data, size_t len);

/* Who a step runs as, and what reaches its environment. App code (a
 * repository's hooks, a planted core.fsmonitor, setup.py, npm scripts, the
 * venv's pip) only ever runs as `user`: every step of a python/node site
 * must name the site's user. NULL user = as the panel itself (root): only for
 * static sites, whose tree root owns. No step ever overrides git's
 * safe.directory for the tree it builds: git refuses a tree that is not the
 * runner's own. */
struct deploy_as {
        /* The site the step is for. In the HTTP process only this goes to the
         * root helper (HOP_DEPLOY_STEP) with the step's dir, repo and branch:
         * the helper derives user (the site user of this id when it exists,
         * else a static site's root), ca_bundle (its git.ca_bundle) and
         * local_source (a repo path inside its git.local_root) itself, and
         * takes dirs inside its nginx.webroot only. */
        long long site_id;
        const char *user;      /* the site's system user (sys/accounts), or NULL */
        const char *ca_bundle; /* git.ca_bundle: GIT_SSL_CAINFO for git; NULL/"" = none */
        /* The site's git_repo when it is a local path (inside git.local_root,
         * validated by the caller): root's repository that the site user may
         * read. git would refuse it as another user's ("dubious ownership");
         * trusting it lets only root's files run as the site user, never the
         * reverse. NULL otherwise. */
        const char *local_source;
};

/* git clone --branch B --progress -- REPO DEST (DEST must not exist or be empty). */
int deploy_git_clone(const struct deploy_as *as, const char *repo, const char *branch,
                     const char *dest, deploy_output_fn out, void *ctx);
/* git -C DIR pull --ff-only */
int deploy_git_pull(const struct deploy_as *as, const char *dir, deploy_output_fn out, void *ctx);
/* python3 -m venv DIR/venv (if missing), DIR/venv/bin/pip install -r
 * DIR/requirements.txt (if present). */
int deploy_python(const struct deploy_as *as, const char *dir, deploy_output_fn out, void *ctx);
/* npm ci when package-lock.json exists, else npm install (if package.json exists). */
int deploy_node(const struct deploy_as *as, const char *dir, deploy_output_fn out, void *ctx);
/* A free TCP port in [lo, hi] not in used[0..n) and not bound on 127.0.0.1. 0 = none. */
int deploy_pick_port(int lo, int hi, const int *used, size_t n);
