"""Backups: site and full archives, list, download with Range, verify,
restore, delete, retention, roles."""
import hashlib
import io
import os
import shutil
import re
import sqlite3
import tarfile

import pytest

from conftest import Panel, assert_no_sanitizer_report
from waiting import wait_for

NAME_RE = re.compile(r"^site-example\.com-\d{8}-\d{6}(-\d+)?\.tar\.gz$")


def panel_extra(tmp):
    www = os.path.join(tmp, "www")
    nginx = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(nginx, "sites-available"), exist_ok=True)
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(nginx, "nginx.conf"), "w") as f:
        f.write("events {}\n")
    with open(os.path.join(nginx, "sites-available", "example.com"), "w") as f:
        f.write("server { listen 80; }\n")
    return {"nginx": {"webroot": www,
                      "sites_available": os.path.join(nginx, "sites-available"),
                      "sites_enabled": os.path.join(nginx, "sites-enabled")}}


@pytest.fixture(scope="module")
def bpanel(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("bk"))
    p = Panel(tmp, extra=panel_extra(tmp)).start()
    yield p
    rc = p.stop()
    assert rc == 0, "panel did not exit cleanly:\n" + p.read_log()
    assert_no_sanitizer_report(p)


@pytest.fixture(scope="module")
def token(bpanel):
    return bpanel.login()


def webroot(p):
    return os.path.join(p.tmp, "www")


def add_site(p, domain, app_root):
    con = sqlite3.connect(os.path.join(p.data_dir, "setec.db"), timeout=10)
    try:
        cur = con.execute("INSERT INTO sites (domain, app_root) VALUES (?, ?)", (domain, app_root))
        con.commit()
        return cur.lastrowid
    finally:
        con.close()


def db_exec(p, sql, *args):
    con = sqlite3.connect(os.path.join(p.data_dir, "setec.db"), timeout=10)
    try:
        con.execute(sql, args)
        con.commit()
    finally:
        con.close()


def make_tree(root):
    os.makedirs(os.path.join(root, "static", "css"), exist_ok=True)
    os.makedirs(os.path.join(root, "empty"), exist_ok=True)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>hello</h1>\n")
    with open(os.path.join(root, "static", "css", "site.css"), "w") as f:
        f.write("body{}\n")
    with open(os.path.join(root, "file with spaces.txt"), "w") as f:
        f.write("spaces\n")
    with open(os.path.join(root, "data.bin"), "wb") as f:
        f.write(os.urandom(300_000))
    os.symlink("index.html", os.path.join(root, "link.html"))
    os.chmod(os.path.join(root, "index.html"), 0o640)


_site_counter = iter(range(100, 10_000))


def new_site(p, name=None):
    name = name or f"site{next(_site_counter)}"
    root = os.path.join(webroot(p), name)
    make_tree(root)
    return add_site(p, "example.com" if name == "site1" else f"{name}.example.com", root), root


def manifest_ok(tf):
    members = tf.getmembers()
    assert members[-1].name == "MANIFEST.sha256"
    manifest = tf.extractfile(members[-1]).read().decode()
    sums = {}
    for line in manifest.splitlines():
        h, name = line.split("  ", 1)
        sums[name] = h
    files = [m for m in members[:-1] if m.isfile()]
    assert sorted(sums) == sorted(m.name for m in files)
    for m in files:
        assert hashlib.sha256(tf.extractfile(m).read()).hexdigest() == sums[m.name], m.name
    return members


def create_site_backup(p, token, site_id):
    r = p.request("POST", f"/backups/site/{site_id}", token=token, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def test_site_backup_contents_and_list(bpanel, token):
    site_id, root = new_site(bpanel, "site1")
    b = create_site_backup(bpanel, token, site_id)
    assert set(b) >= {"id", "path", "size"}
    assert b["site_id"] == site_id and b["type"] == "site"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", b["created_at"])
    assert os.path.dirname(b["path"]) == os.path.join(bpanel.data_dir, "backups")
    assert NAME_RE.match(os.path.basename(b["path"])), b["path"]
    assert b["size"] == os.path.getsize(b["path"])
    assert not [f for f in os.listdir(os.path.dirname(b["path"])) if f.endswith(".partial")]
    # the archive is only readable by the panel's user
    assert os.stat(b["path"]).st_mode & 0o077 == 0

    with tarfile.open(b["path"], "r:gz") as tf:
        members = manifest_ok(tf)
        by_name = {m.name: m for m in members}
        assert "site1" in by_name and by_name["site1"].isdir()
        assert by_name["site1/empty"].isdir()
        assert by_name["site1/file with spaces.txt"].isfile()
        assert by_name["site1/link.html"].issym()
        assert by_name["site1/link.html"].linkname == "index.html"
        assert by_name["site1/index.html"].mode & 0o777 == 0o640
        assert by_name["site1/index.html"].mtime == int(os.stat(os.path.join(root, "index.html")).st_mtime)
        assert tf.extractfile(by_name["site1/data.bin"]).read() == open(os.path.join(root, "data.bin"), "rb").read()

    r = bpanel.request("GET", "/backups", token=token)
    assert r.status_code == 200
    rows = r.json()
    assert isinstance(rows, list)
    row = next(x for x in rows if x["id"] == b["id"])
    assert row == {k: b[k] for k in ("id", "site_id", "type", "path", "size", "created_at")}


def test_full_backup(bpanel, token):
    site_id, root = new_site(bpanel)
    create_site_backup(bpanel, token, site_id)  # something in the backups dir
    r = bpanel.request("POST", "/backups/full", token=token, timeout=60)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["type"] == "full" and b["site_id"] is None
    assert re.match(r"^full-system-\d{8}-\d{6}(-\d+)?\.tar\.gz$", os.path.basename(b["path"]))
    data = bpanel.data_dir.lstrip("/")
    with tarfile.open(b["path"], "r:gz") as tf:
        members = manifest_ok(tf)
        names = [m.name for m in members]
        assert root.lstrip("/") + "/index.html" in names
        assert os.path.join(bpanel.tmp, "nginx", "nginx.conf").lstrip("/") in names
        assert os.path.join(bpanel.tmp, "nginx", "sites-available", "example.com").lstrip("/") in names
        assert data + "/.jwt_key" in names
        # never the backups dir, never the live WAL files; the DB is a snapshot
        assert not [n for n in names if n.startswith(data + "/backups")]
        assert not [n for n in names if n.endswith(("-wal", "-shm"))]
        assert names.count(data + "/setec.db") == 1
        snap = tf.extractfile(data + "/setec.db").read()
    path = os.path.join(bpanel.tmp, "snap.db")
    with open(path, "wb") as f:
        f.write(snap)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT username FROM manager_users").fetchall() == [("admin",)]
        assert con.execute("SELECT count(*) FROM sites WHERE id = ?", (site_id,)).fetchone()[0] == 1
    finally:
        con.close()
    # no snapshot left behind
    assert not [f for f in os.listdir(os.path.dirname(b["path"])) if not f.endswith(".tar.gz")]

    r = bpanel.request("POST", f"/backups/{b['id']}/restore", token=token)
    assert r.status_code == 400
    assert r.json() == {"error": "only site backups can be restored"}


def test_download_full_and_ranges(bpanel, token):
    site_id, _ = new_site(bpanel)
    b = create_site_backup(bpanel, token, site_id)
    content = open(b["path"], "rb").read()
    size = len(content)
    r = bpanel.request("GET", f"/backups/{b['id']}/download", token=token)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == f'attachment; filename="{os.path.basename(b["path"])}"'
    assert r.headers["Content-Length"] == str(size)
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Type"] == "application/gzip"
    assert r.content == content

    cases = [("bytes=0-99", 0, 100), ("bytes=100-", 100, size - 100),
             ("bytes=-50", size - 50, 50), (f"bytes=10-{size + 500}", 10, size - 10)]
    for spec, off, length in cases:
        r = bpanel.request("GET", f"/backups/{b['id']}/download", token=token,
                           headers={"Range": spec})
        assert r.status_code == 206, spec
        assert r.headers["Content-Range"] == f"bytes {off}-{off + length - 1}/{size}", spec
        assert r.headers["Content-Length"] == str(length)
        assert r.content == content[off:off + length], spec

    r = bpanel.request("GET", f"/backups/{b['id']}/download", token=token,
                       headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{size}"
    # several ranges: the whole file (allowed by RFC 9110)
    r = bpanel.request("GET", f"/backups/{b['id']}/download", token=token,
                       headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200 and r.content == content


def test_verify_ok_and_corrupted(bpanel, token):
    site_id, _ = new_site(bpanel)
    b = create_site_backup(bpanel, token, site_id)
    r = bpanel.request("POST", f"/backups/{b['id']}/verify", token=token)
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["valid"] is True and v["id"] == b["id"]
    assert v["files"] == 4 and "error" not in v

    # flip one byte in the middle of the compressed stream
    with open(b["path"], "r+b") as f:
        size = os.path.getsize(b["path"])
        f.seek(size // 2)
        c = f.read(1)
        f.seek(size // 2)
        f.write(bytes([c[0] ^ 0xFF]))
    r = bpanel.request("POST", f"/backups/{b['id']}/verify", token=token)
    assert r.status_code == 200
    v = r.json()
    assert v["valid"] is False and v["error"], v
    # and a corrupted archive is never restored
    r = bpanel.request("POST", f"/backups/{b['id']}/restore", token=token)
    assert r.status_code == 422, r.text

    os.unlink(b["path"])
    v = bpanel.request("POST", f"/backups/{b['id']}/verify", token=token).json()
    assert v["valid"] is False and v["error"] == "archive file is missing"


def test_restore_brings_back_deleted_files(bpanel, token):
    site_id, root = new_site(bpanel)
    if os.geteuid() == 0:  # owners come back too (only root can set them)
        os.chown(os.path.join(root, "static", "css", "site.css"), 1234, 2345)
    b = create_site_backup(bpanel, token, site_id)
    os.unlink(os.path.join(root, "index.html"))
    os.unlink(os.path.join(root, "static", "css", "site.css"))
    with open(os.path.join(root, "file with spaces.txt"), "w") as f:
        f.write("changed\n")
    with open(os.path.join(root, "new.txt"), "w") as f:
        f.write("added after the backup\n")
    r = bpanel.request("POST", f"/backups/{b['id']}/restore", token=token, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "restored", "path": root, "files": 4}
    assert open(os.path.join(root, "index.html")).read() == "<h1>hello</h1>\n"
    assert os.stat(os.path.join(root, "index.html")).st_mode & 0o777 == 0o640
    assert open(os.path.join(root, "static", "css", "site.css")).read() == "body{}\n"
    if os.geteuid() == 0:
        st = os.stat(os.path.join(root, "static", "css", "site.css"))
        assert (st.st_uid, st.st_gid) == (1234, 2345)
    assert open(os.path.join(root, "file with spaces.txt")).read() == "spaces\n"
    assert not os.path.exists(os.path.join(root, "new.txt"))
    assert os.readlink(os.path.join(root, "link.html")) == "index.html"
    assert os.path.isdir(os.path.join(root, "empty"))
    leftovers = [f for f in os.listdir(webroot(bpanel)) if ".restore-" in f or ".old-" in f]
    assert leftovers == []


def test_restore_refuses_escaping_archive(bpanel, token):
    site_id, root = new_site(bpanel)
    outside = os.path.join(bpanel.tmp, "evil")
    # in backups.dir: the root helper restores nothing from elsewhere
    evil = os.path.join(bpanel.data_dir, "backups", "evil.tar.gz")
    os.makedirs(os.path.dirname(evil), exist_ok=True)
    with tarfile.open(evil, "w:gz") as tf:
        for name, data in [("site/ok.txt", b"ok"), ("site/../../evil", b"x")]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("MANIFEST.sha256")
        m = b"".join(hashlib.sha256(d).hexdigest().encode() + b"  " + n.encode() + b"\n"
                     for n, d in [("site/ok.txt", b"ok"), ("site/../../evil", b"x")])
        ti.size = len(m)
        tf.addfile(ti, io.BytesIO(m))
    db_exec(bpanel, "INSERT INTO backups (site_id, backup_type, file_path, size_bytes)"
            " VALUES (?, 'site', ?, 1)", site_id, evil)
    bid = bpanel.query("SELECT max(id) FROM backups")[0][0]
    r = bpanel.request("POST", f"/backups/{bid}/restore", token=token)
    assert r.status_code == 422, r.text
    assert "unsafe path" in r.json()["error"]
    assert not os.path.exists(outside)
    assert not os.path.exists(os.path.join(webroot(bpanel), "evil"))
    # the live tree is untouched
    assert os.path.exists(os.path.join(root, "index.html"))
    assert [f for f in os.listdir(webroot(bpanel)) if ".restore-" in f] == []
    # an archive outside backups.dir is refused before it is read
    elsewhere = os.path.join(bpanel.tmp, "elsewhere.tar.gz")
    shutil.copy(evil, elsewhere)
    db_exec(bpanel, "UPDATE backups SET file_path = ? WHERE id = ?", elsewhere, bid)
    r = bpanel.request("POST", f"/backups/{bid}/restore", token=token)
    assert r.status_code == 422, r.text
    assert "not an archive in backups.dir" in r.json()["error"]
    assert os.path.exists(os.path.join(root, "index.html"))
    os.unlink(evil)


def test_delete(bpanel, token):
    site_id, _ = new_site(bpanel)
    b = create_site_backup(bpanel, token, site_id)
    r = bpanel.request("DELETE", f"/backups/{b['id']}", token=token)
    assert r.status_code == 200
    assert r.json() == {"status": "deleted"}
    assert not os.path.exists(b["path"])
    assert b["id"] not in [x["id"] for x in bpanel.request("GET", "/backups", token=token).json()]
    r = bpanel.request("DELETE", f"/backups/{b['id']}", token=token)
    assert r.status_code == 404
    assert r.json() == {"error": "backup not found"}


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/backups/999999"),
    ("GET", "/backups/999999/download"),
    ("POST", "/backups/999999/verify"),
    ("POST", "/backups/999999/restore"),
])
def test_unknown_ids(bpanel, token, method, path):
    r = bpanel.request(method, path, token=token)
    assert r.status_code == 404
    assert r.json() == {"error": "backup not found"}
    r = bpanel.request(method, path.replace("999999", "abc"), token=token)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid id"}


def test_site_errors(bpanel, token):
    r = bpanel.request("POST", "/backups/site/424242", token=token)
    assert r.status_code == 404
    assert r.json() == {"error": "site not found"}
    r = bpanel.request("POST", "/backups/site/0", token=token)
    assert r.status_code == 400
    # an app_root outside nginx.webroot is neither archived nor restored
    sid = add_site(bpanel, "outside.example.com", bpanel.data_dir)
    r = bpanel.request("POST", f"/backups/site/{sid}", token=token)
    assert r.status_code == 409
    assert "nginx.webroot" in r.json()["error"]
    sid = add_site(bpanel, "gone.example.com", os.path.join(webroot(bpanel), "gone"))
    r = bpanel.request("POST", f"/backups/site/{sid}", token=token)
    assert r.status_code == 409


def test_viewer_is_read_only(bpanel, token):
    site_id, _ = new_site(bpanel)
    b = create_site_backup(bpanel, token, site_id)
    bpanel.create_user(token, "bkviewer", "viewer-pass-1", role="viewer")
    vt = bpanel.login("bkviewer", "viewer-pass-1")
    r = bpanel.request("GET", "/backups", token=vt)
    assert r.status_code == 200 and any(x["id"] == b["id"] for x in r.json())
    n = len(os.listdir(os.path.dirname(b["path"])))
    for method, path in [("POST", f"/backups/site/{site_id}"), ("POST", "/backups/full"),
                         ("DELETE", f"/backups/{b['id']}"),
                         ("GET", f"/backups/{b['id']}/download"),
                         ("POST", f"/backups/{b['id']}/verify"),
                         ("POST", f"/backups/{b['id']}/restore")]:
        r = bpanel.request(method, path, token=vt)
        assert r.status_code == 403, (method, path, r.status_code)
    assert os.path.exists(b["path"])
    assert len(os.listdir(os.path.dirname(b["path"]))) == n
    assert bpanel.request("GET", "/backups", headers={}).status_code == 401


def test_page_served(bpanel, token):
    r = bpanel.request("GET", "/backups", token=token, headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "text/html" in r.headers["Content-Type"]


def test_retention_max_count(fresh_panel, tmp_path):
    tmp = str(tmp_path / "ret")
    os.makedirs(tmp)
    extra = panel_extra(tmp)
    extra["backups"] = {"max_count": 2}
    p = fresh_panel(extra=extra)
    p.tmp = tmp  # webroot() looks here
    tok = p.login()
    site_id, _ = new_site(p)
    made = [create_site_backup(p, tok, site_id) for _ in range(3)]
    rows = p.request("GET", "/backups", token=tok).json()
    assert [x["id"] for x in rows] == [made[2]["id"], made[1]["id"]]
    assert not os.path.exists(made[0]["path"])
    assert os.path.exists(made[1]["path"]) and os.path.exists(made[2]["path"])
    assert p.query("SELECT count(*) FROM backups")[0][0] == 2


def test_retention_max_age(fresh_panel, tmp_path):
    tmp = str(tmp_path / "age")
    os.makedirs(tmp)
    extra = panel_extra(tmp)
    extra["backups"] = {"max_age_days": 7, "max_count": 0}
    p = fresh_panel(extra=extra)
    p.tmp = tmp
    tok = p.login()
    site_id, _ = new_site(p)
    first = create_site_backup(p, tok, site_id)
    db_exec(p, "UPDATE backups SET created_at = '2020-01-01T00:00:00Z' WHERE id = ?", first["id"])
    second = create_site_backup(p, tok, site_id)
    rows = p.request("GET", "/backups", token=tok).json()
    assert [x["id"] for x in rows] == [second["id"]]
    assert not os.path.exists(first["path"])


def site_backups(p, tok, site_id):
    r = p.request("GET", "/backups", token=tok)
    assert r.status_code == 200, r.text
    return [b for b in r.json() if b["site_id"] == site_id]


def test_backup_schedule_with_retention(bpanel, token):
    """A backup schedule (issue 15): a cron_jobs row of job_type backup for a
    site, checked field by field; run now it starts a backup job as the
    scheduler, and its `keep` leaves only the newest backups of that site."""
    p, tok = bpanel, token
    root = os.path.join(webroot(p), "sched.example")
    make_tree(root)
    sid = add_site(p, "sched.example", root)
    bad = [({"job_type": "ssl_renew", "schedule": "0 3 * * *", "site_id": sid}, "job_type"),
           ({"job_type": "backup", "schedule": "0 25 * * *", "site_id": sid}, "schedule"),
           ({"job_type": "backup", "schedule": "", "site_id": sid}, "schedule"),
           ({"job_type": "backup", "schedule": "0 3 * * *", "site_id": 99999}, "site_id"),
           ({"job_type": "backup", "schedule": "0 3 * * *", "site_id": -1}, "site_id"),
           ({"job_type": "backup", "schedule": "0 3 * * *", "site_id": sid, "keep": -1}, "keep"),
           ({"job_type": "backup", "schedule": "0 3 * * *", "site_id": sid, "keep": 5000}, "keep")]
    for body, field in bad:
        r = p.request("POST", "/api/scheduler/jobs", token=tok, json=body)
        assert r.status_code == 400 and r.json()["error"].startswith(field), (body, r.text)
    assert p.query("SELECT COUNT(*) FROM cron_jobs WHERE job_type = 'backup'") == [(0,)]
    r = p.request("POST", "/api/scheduler/jobs", token=tok,
                  json={"job_type": "backup", "schedule": "30 2 * * *", "site_id": sid, "keep": 1})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["job_type"] == "backup" and job["site_id"] == sid and job["keep"] == 1
    assert job["enabled"] is True and job["next_run"].endswith(":30:00Z"), job
    assert p.query("SELECT site_id, schedule, keep FROM cron_jobs WHERE id = ?", job["id"]) == \
        [(sid, "30 2 * * *", 1)]
    before = {b["id"] for b in site_backups(p, tok, sid)}
    # run it twice: each run starts a backup job; keep 1 leaves the newest
    made = []
    for _ in range(2):
        r = p.request("POST", f"/api/scheduler/jobs/{job['id']}/run", token=tok)
        assert r.status_code == 200 and r.json()["ok"] is True, r.text
        new = wait_for(lambda: [b for b in site_backups(p, tok, sid)
                                if b["id"] not in before and b["id"] not in made],
                       timeout=60, what="the scheduled backup")
        made.append(new[0]["id"])
        # its job ran as the scheduler and is over before the next run
        wait_for(lambda: not [j for j in p.request("GET", "/api/jobs", token=tok).json()
                              if j["subject"] == f"site:{sid}" and j["state"] in
                              ("queued", "running")], timeout=60, what="the backup job's end")
    left = site_backups(p, tok, sid)
    assert [b["id"] for b in left] == [made[-1]], left
    users = [j["user"] for j in p.request("GET", "/api/jobs", token=tok).json()
             if j["subject"] == f"site:{sid}" and j["kind"] == "backup_create"]
    assert users == ["scheduler", "scheduler"], users
    # change it: disabled, no own retention; then delete it
    r = p.request("PUT", f"/api/scheduler/jobs/{job['id']}", token=tok,
                  json={"enabled": False, "keep": 0, "schedule": "0 4 * * 0"})
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["enabled"] is False and j["keep"] is None and j["schedule"] == "0 4 * * 0"
    assert j["next_run"] is None
    r = p.request("PUT", f"/api/scheduler/jobs/{job['id']}", token=tok, json={"site_id": sid + 1})
    assert r.status_code == 400, r.text
    viewer = p.request("DELETE", f"/api/scheduler/jobs/{job['id']}")
    assert viewer.status_code in (401, 403)
    r = p.request("DELETE", f"/api/scheduler/jobs/{job['id']}", token=tok)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}, r.text
    assert p.query("SELECT COUNT(*) FROM cron_jobs WHERE id = ?", job["id"]) == [(0,)]
    ssl = [x for x in p.request("GET", "/api/scheduler/jobs", token=tok).json()
           if x["job_type"] == "ssl_renew"][0]
    r = p.request("DELETE", f"/api/scheduler/jobs/{ssl['id']}", token=tok)
    assert r.status_code == 409, r.text


def test_list_search_sort_page(fresh_panel, tmp_path):
    """GET /backups takes ?q=&sort=&order=&page=&per_page= (CONTRACT §9): q
    matches the file and the site's current domain (a renamed site's old
    archives too), the records keep the seed's shape."""
    tmp = str(tmp_path / "list")
    os.makedirs(tmp)
    p = fresh_panel(extra=panel_extra(tmp))
    p.tmp = tmp
    tok = p.login()
    shop, _ = new_site(p, "shop")
    blog, _ = new_site(p, "blog")
    made = [create_site_backup(p, tok, shop), create_site_backup(p, tok, blog),
            create_site_backup(p, tok, shop)]
    r = p.request("POST", "/backups/full", token=tok, timeout=120)
    assert r.status_code == 201, r.text
    full = r.json()

    def get(qs):
        r = p.request("GET", "/backups?" + qs, token=tok)
        assert r.status_code == 200, (qs, r.text)
        return r

    r = get("q=shop.example")
    assert sorted(b["id"] for b in r.json()) == sorted([made[0]["id"], made[2]["id"]])
    assert r.headers["X-Total-Count"] == "2"
    for b in r.json():
        assert set(b) == {"id", "site_id", "type", "path", "size", "created_at"}, b
    assert [b["id"] for b in get("q=FULL").json()] == [full["id"]]
    # the site's domain now, not only the name the file was given
    db_exec(p, "UPDATE sites SET domain = 'renamed.example.org' WHERE id = ?", blog)
    assert [b["id"] for b in get("q=renamed.example").json()] == [made[1]["id"]]

    r = get("sort=size&order=desc&per_page=2")
    assert r.headers["X-Total-Count"] == "4"
    sizes = [b["size"] for b in p.request("GET", "/backups", token=tok).json()]
    assert [b["size"] for b in r.json()] == sorted(sizes, reverse=True)[:2]
    ids = [b["id"] for b in get("sort=created_at&order=asc&per_page=3&page=2").json()]
    assert len(ids) == 1
    assert get("q=nothing-like-this").json() == []

    for qs, field in (("sort=domain", "sort"), ("sort=nope", "sort"), ("per_page=0", "per_page"),
                      ("per_page=201", "per_page"), ("page=0", "page"), ("order=up", "order")):
        r = p.request("GET", "/backups?" + qs, token=tok)
        assert r.status_code == 400 and field in r.json()["error"], (qs, r.text)
