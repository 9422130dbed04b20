/* Getting an app's code and dependencies in place: git clone/pull, python
 * venv + pip, npm. Every program runs through sys/exec with "--" before user
 * data and a timeout; output is passed to `out` as it arrives (for the
 * deployment log) and kept in the deployment record by the caller. */
#pragma once

#include <stddef.h>

#include "core/config.h"

typedef void (*deploy_output_fn)(void *ctx, const char *data, size_t len);

/* git clone --branch B --progress -- REPO DEST (DEST must not exist or be empty). */
int deploy_git_clone(const char *repo, const char *branch, const char *dest, deploy_output_fn out,
                     void *ctx);
/* git -C DIR pull --ff-only */
int deploy_git_pull(const char *dir, deploy_output_fn out, void *ctx);
/* python3 -m venv DIR/venv (if missing), DIR/venv/bin/pip install -r
 * DIR/requirements.txt (if present). */
int deploy_python(const char *dir, deploy_output_fn out, void *ctx);
/* npm ci when package-lock.json exists, else npm install (if package.json exists). */
int deploy_node(const char *dir, deploy_output_fn out, void *ctx);
/* A free TCP port in [lo, hi] not in used[0..n) and not bound on 127.0.0.1. 0 = none. */
int deploy_pick_port(int lo, int hi, const int *used, size_t n);
