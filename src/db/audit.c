/* audit_log writer. */
#include "db/audit.h"

#include <errno.h>

#include "base/log.h"
#include "db/db-internal.h"

int audit_add(struct db *db, const char *username, const char *ip, const char *action,
              const char *detail)
{
        sqlite3 *sql = db_conn(db);
        if (!sql)
                return -EIO;
        _cleanup_stmt_ sqlite3_stmt *s =
            db_prepare(sql, "INSERT INTO audit_log (username, ip, action, detail, created_at)"
                            " VALUES (?, ?, ?, ?, " DB_NOW_SQL ")");
        if (!s)
                return -EIO;
        sqlite3_bind_text(s, 1, username ? username : "", -1, SQLITE_STATIC);
        if (ip)
                sqlite3_bind_text(s, 2, ip, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, action ? action : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, detail ? detail : "", -1, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        return rc == SQLITE_DONE ? 0 : db_step_error(sql, rc, "write audit row");
}
