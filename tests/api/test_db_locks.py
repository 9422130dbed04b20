"""The panel keeps SQLite's locks on its database while it runs.

They are POSIX record locks, which the kernel drops for the whole process when
the process closes any descriptor of the file, whoever opened it. Without the
shared lock on the "DMS" byte of setec.db-shm, the next other process to open
the database (these tests' sqlite3 connections, the CLI) takes itself for the
first one and truncates the -shm under the panel's mappings: the panel's next
write dies of SIGBUS. Without the SHARED lock on setec.db, the next other
process to close its last connection deletes the WAL the panel writes to.
Checked from /proc/locks after each common kind of operation."""
import os

from waiting import wait_for

# SQLite 3.40 os_unix.c: UNIX_SHM_DMS = (22 + SQLITE_SHM_NLOCK) * 4 + SQLITE_SHM_NLOCK;
# SHARED_FIRST = PENDING_BYTE (0x40000000) + 2, SHARED_SIZE = 510
DMS = (128, 128)
SHARED = (0x40000000 + 2, 0x40000000 + 2 + 510 - 1)


def held_read_locks(pid, path):
    """[(start, end)] of the READ locks pid holds on path, from /proc/locks."""
    st = os.stat(path)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    out = []
    with open("/proc/locks") as f:
        for line in f:
            # "1: POSIX  ADVISORY  READ 1234 08:01:5678 128 128"; waiters have "->"
            fields = line.split()
            if fields[1] == "->":
                continue
            kind, _, mode, lpid, ldev, start, end = fields[1:8]
            if kind == "POSIX" and mode == "READ" and int(lpid) == pid and ldev == dev:
                out.append((int(start), int(end) if end != "EOF" else end))
    return out


def assert_locks(p, after):
    db = os.path.join(p.data_dir, "setec.db")
    assert DMS in held_read_locks(p.proc.pid, db + "-shm"), \
        f"after {after}: the panel lost its lock on the DMS byte of setec.db-shm"
    assert SHARED in held_read_locks(p.proc.pid, db), \
        f"after {after}: the panel lost its SHARED lock on setec.db"


def test_locks_kept_through_common_operations(fresh_panel, tmp_path):
    www, sites = tmp_path / "www", tmp_path / "nginx" / "sites-available"
    os.makedirs(www)
    os.makedirs(sites)
    p = fresh_panel(extra={"nginx": {"webroot": str(www), "sites_available": str(sites)}})
    assert_locks(p, "start")
    assert p.query("SELECT COUNT(*) FROM manager_users") == [(1,)]
    assert_locks(p, "a read by another process")
    token = p.login()
    assert_locks(p, "a login")
    for _ in range(20):
        assert p.request("POST", "/logout").status_code == 200
    # the once-a-second housekeeping writes the tally of anonymous requests
    wait_for(lambda: p.query("SELECT 1 FROM audit_log WHERE action = 'anonymous requests'"),
             what="the summary row of the anonymous requests")
    assert_locks(p, "anonymous logouts and the housekeeping tick")
    for path in ("/sites", "/backups", "/api/jobs", "/api/audit", "/api/system/info",
                 "/api/monitor/services", "/api/logs/system?lines=5"):
        r = p.request("GET", path, token=token)
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert_locks(p, "GET " + path)
    # a call to the root helper
    r = p.request("POST", "/nginx/test", token=token)
    assert r.status_code == 200, r.text
    assert_locks(p, "POST /nginx/test")
    # an archive of the data dir, which holds the live database files
    r = p.request("POST", "/backups/full", token=token, timeout=60)
    assert r.status_code == 201, r.text
    assert_locks(p, "a full backup")
    assert p.request("POST", "/logout", token=token).status_code == 200
    assert_locks(p, "a logout")
