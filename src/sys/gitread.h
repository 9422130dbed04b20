/* Reading a git checkout's HEAD without running git: .git/HEAD, the loose
 * ref or packed-refs, and the commit object (a loose zlib object or a
 * non-delta entry of a pack found through its v2 .idx). For the AUTARCH
 * status, which must not spawn anything per request. */
#pragma once

#include <stddef.h>

#define GIT_HASH_HEX 40

/* The commit HEAD points at in <worktree>/.git: hash (41 bytes, hex) and the
 * first line of its message (subject, "" when the object cannot be read:
 * a delta in a pack, a foreign format). 0, -ENOENT (no .git / unborn
 * branch), -EINVAL (malformed) or another -errno. */
int git_read_head(const char *worktree, char hash[GIT_HASH_HEX + 1], char *subject,
                  size_t subjectlen);

/* Only the hash HEAD resolves to. Same returns as git_read_head. */
int git_head_hash(const char *worktree, char hash[GIT_HASH_HEX + 1]);
/* The subject of commit `hash` (loose or non-delta packed). 0, -ENOENT,
 * -ENOTSUP (a delta), -EINVAL or -errno. */
int git_object_subject(const char *worktree, const char *hash, char *subject, size_t subjectlen);

/* The subject of a raw commit object's body ("tree ...\n...\n\nsubject\n...")
 * of len bytes into out (control characters dropped, cut at a UTF-8 character
 * boundary). 0 or -EINVAL (no blank line after the headers). */
int git_commit_subject(const char *body, size_t len, char *out, size_t outlen);
