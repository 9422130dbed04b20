/* The lock registry: one holder per subject ("site:7", "domain:example.com",
 * "backup:3", "autarch"). Every job takes its subject's lock before it is
 * queued and gives it back when it ends, so two jobs never change the same
 * thing at once; the refusal names the holder (the api layer answers 409
 * "... busy: job <id> ..."). Quick changes that are not jobs (start/stop of
 * a unit) may take a lock for their duration with holder 0. Thread-safe. */
#pragma once

/* Take subject for holder (a job id; 0 for a short non-job change). 0;
 * -EBUSY when held (*held_by, may be NULL, gets the holder); -EINVAL for an
 * empty subject; -ENOMEM. */
int locks_acquire(const char *subject, long long holder, long long *held_by);
/* Give subject back if holder holds it. 0 or -ENOENT. */
int locks_release(const char *subject, long long holder);
/* Hand subject from holder `from` to `to` without letting it go. 0 or
 * -ENOENT when from does not hold it. */
int locks_transfer(const char *subject, long long from, long long to);
/* The holder of subject: -1 when free, else the holder id
 * (0 for a non-job change). */
long long locks_holder(const char *subject);
/* Number of subjects held (for tests). */
unsigned locks_count(void);
