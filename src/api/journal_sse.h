/* A unit's journal as a Server-Sent Events stream: used by the live tail of
 * /api/logs/stream and by each site's /sites/{id}/logs/stream. */
#pragma once

#include "http/server.h"

/* Answer r with the journal of `unit` (NULL: keepalives only, for sites
 * without a service): one event per entry, id = the journal cursor. A client
 * that sends Last-Event-ID resumes right after that entry; otherwise the
 * stream starts with the last `backlog` entries. 400 for a malformed
 * cursor, 503 (Retry-After) when too many streams are open. */
void api_journal_sse(struct http_req *r, const char *unit, unsigned backlog);
