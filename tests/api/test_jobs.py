"""The job engine through the API (CONTRACT §9): /api/jobs list, detail,
stream and cancel; 409 naming the running job on a busy subject; a cancelled
clone leaves nothing behind; a panel killed (-9) in the middle of a job marks
it failed at the next start and rolls the half-made site back; and while four
creates hang on a git remote that accepts connections and never answers,
POST /login and GET /nginx answer as usual.

The silent remote is a TCP listener made here: it accepts and never sends a
byte, so `git clone https://127.0.0.1:<port>/...` waits in its TLS handshake
until cancelled."""
import json
import os
import socket
import threading

import waiting

import pytest
import requests

from gitrepo import make_bare_repo
from nginx_prefix import skip_without_nginx
from site_env import start_env, stop_env


class SilentRemote:
    """Accepts TCP connections and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Semaphore(0)
        self.closed = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.release()

    def url(self, name):
        return f"https://127.0.0.1:{self.port}/{name}.git"

    def close(self):
        self.closed = True
        for c in self.conns:
            c.close()
        self.sock.close()


def make_env(d, workers=2):
    e = start_env(d, extra={"jobs": {"workers": workers}}, many_logins=True)
    e.remote = SilentRemote()
    return e


def close_env(e):
    e.remote.close()
    stop_env(e)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    skip_without_nginx()
    e = make_env(tmp_path_factory.mktemp("jobs"))
    yield e
    close_env(e)


def req(e, method, path, **kw):
    return e.panel.request(method, path, token=e.token, **kw)


def wait_for(cond, timeout=30, what="condition"):
    return waiting.wait_for(cond, timeout, what)


def job(e, jid):
    r = req(e, "GET", f"/api/jobs/{jid}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_state(e, jid, states, timeout=30):
    return wait_for(lambda: (lambda j: j if j["state"] in states else None)(job(e, jid)),
                    timeout, f"job {jid} in {states}")


def wait_step(e, jid, step, timeout=30):
    return wait_for(lambda: (lambda j: j if j["state"] == "running" and j["step"] == step
                             else None)(job(e, jid)), timeout, f"job {jid} at {step}")


def create_async(e, body):
    r = req(e, "POST", "/sites", json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    j = r.json()
    assert r.headers["Location"] == f"/api/jobs/{j['job_id']}"
    return j


def no_trace(e, domain):
    vhosts = [p for p in (os.path.join(e.ng.sites_available, domain),
                          os.path.join(e.ng.sites_enabled, domain)) if os.path.lexists(p)]
    return (e.panel.query("SELECT id FROM sites WHERE domain = ?", domain) == []
            and vhosts == []
            and not os.path.exists(os.path.join(e.ng.webroot, domain))
            and not os.path.exists(os.path.join(e.units, f"app-{domain}.service")))


def read_sse(resp, limit=400):
    events, ev, eid, data = [], "message", None, []
    for raw in resp.iter_lines(decode_unicode=True):
        if raw is None:
            continue
        if raw == "":
            if data:
                events.append((ev, eid, "\n".join(data)))
                if ev == "done":
                    break
            ev, eid, data = "message", None, []
            if len(events) >= limit:
                break
            continue
        if raw.startswith(":"):
            continue
        k, _, v = raw.partition(":")
        v = v[1:] if v.startswith(" ") else v
        if k == "event":
            ev = v
        elif k == "id":
            eid = v
        elif k == "data":
            data.append(v)
    return events


def stream(e, jid, last=None, timeout=30):
    h = {"Authorization": "Bearer " + e.token}
    if last is not None:
        h["Last-Event-ID"] = str(last)
    with requests.get(e.panel.url + f"/api/jobs/{jid}/stream", headers=h, verify=False,
                      stream=True, timeout=timeout) as s:
        assert s.status_code == 200, s.text
        assert s.headers["Content-Type"].startswith("text/event-stream")
        return read_sse(s)


# ---- list, detail, stream ----

def test_list_detail_stream_round_trip(env):
    e = env
    bare, _ = make_bare_repo(e.ng.git_root, "roundtrip", {"index.html": "round trip\n"}, e.dir)
    j = create_async(e, {"domain": "roundtrip.test", "git_repo": bare})
    sid, jid = j["id"], j["job_id"]
    assert j["deployment_id"] > 0 and j["status"] == "provisioning"
    events = stream(e, jid)
    assert events and events[-1][0] == "done", events
    done = json.loads(events[-1][2])
    assert done == {"state": "done", "error": None, "step": ""}, done
    steps = [json.loads(d) for ev, _, d in events if ev == "step"]
    assert {"name": "git clone", "state": "done"}.items() <= steps[-1].items() or \
        any(s["name"] == "git clone" and s["state"] == "done" for s in steps), steps
    out = "".join(d + "\n" for ev, _, d in events if ev == "output")
    assert "git clone" in out and "site created" in out
    ids = [int(i) for ev, i, _ in events if ev == "output"]
    assert ids == sorted(ids) and ids
    # resume after the first output event: only what followed
    rest = stream(e, jid, last=ids[0])
    assert rest[-1][0] == "done"
    assert len([x for x in rest if x[0] == "output"]) < len(ids) or len(ids) == 1
    # detail: steps with names and states, the output, times
    d = job(e, jid)
    assert d["kind"] == "site_create" and d["subject"] == f"site:{sid}"
    assert d["state"] == "done" and d["error"] is None
    assert d["created_at"].endswith("Z") and d["started_at"] and d["finished_at"]
    names = [s["name"] for s in d["steps"]]
    assert names[:5] == ["site row", "systemd", "site user", "app_root", "git clone"], names
    by = {s["name"]: s["state"] for s in d["steps"]}
    assert by["git clone"] == "done" and by["unit"] == "skipped" and by["nginx"] == "done"
    # a static site has no app: no systemd check, no site user
    assert by["systemd"] == "skipped" and by["site user"] == "skipped"
    assert "site created" in d["output"]
    # the list: filters, newest first, paging with X-Total-Count
    r = req(e, "GET", f"/api/jobs?kind=site_create&subject=site:{sid}")
    assert r.status_code == 200, r.text
    lst = r.json()
    assert [x["id"] for x in lst] == [jid]
    assert set(lst[0]) == {"id", "kind", "subject", "state", "step", "created_at",
                           "started_at", "finished_at", "error", "user"}
    assert lst[0]["user"] == "admin", lst[0]
    assert r.headers["X-Total-Count"] == "1"
    req(e, "POST", f"/sites/{sid}/deploy")  # a second job on the site
    r = req(e, "GET", f"/api/jobs?subject=site:{sid}&per_page=1")
    assert r.status_code == 200 and len(r.json()) == 1 and r.headers["X-Total-Count"] == "2"
    assert r.json()[0]["kind"] == "site_deploy" and r.json()[0]["id"] > jid
    r2 = req(e, "GET", f"/api/jobs?subject=site:{sid}&per_page=1&page=2")
    assert [x["id"] for x in r2.json()] == [jid]
    assert req(e, "GET", "/api/jobs?state=done&kind=site_deploy").json()[0]["state"] == "done"
    for bad in ("per_page=0", "per_page=201", "state=finished", "kind=cook", "sort=password",
                "order=up", "page=0"):
        r = req(e, "GET", "/api/jobs?" + bad)
        assert r.status_code == 400, (bad, r.text)
    assert req(e, "GET", "/api/jobs/999999").status_code == 404
    assert req(e, "GET", "/api/jobs/abc").status_code == 400
    # an ended job cannot be cancelled
    r = req(e, "DELETE", f"/api/jobs/{jid}")
    assert r.status_code == 409 and "ended" in r.json()["error"]
    # viewers read jobs but cannot cancel
    e.panel.create_user(e.token, "watcher", "watcher-pass-123", role="viewer")
    vt = e.panel.login("watcher", "watcher-pass-123")
    assert e.panel.request("GET", f"/api/jobs/{jid}", token=vt).status_code == 200
    assert e.panel.request("GET", "/api/jobs", token=vt).status_code == 200
    assert e.panel.request("DELETE", f"/api/jobs/{jid}", token=vt).status_code == 403
    assert req(e, "DELETE", f"/sites/{sid}").status_code == 200


# ---- busy subject, cancel ----

def test_busy_subject_409_and_cancelled_clone_leaves_nothing(env):
    e = env
    j = create_async(e, {"domain": "hung.test", "git_repo": e.remote.url("hung")})
    sid, jid, did = j["id"], j["job_id"], j["deployment_id"]
    wait_step(e, jid, "git clone")
    assert os.path.isdir(os.path.join(e.ng.webroot, "hung.test"))
    for method, path, body in (("POST", f"/sites/{sid}/deploy", None),
                               ("PUT", f"/sites/{sid}", {"aliases": "www.hung.test"}),
                               ("DELETE", f"/sites/{sid}", None)):
        r = req(e, method, path, json=body)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["job_id"] == jid
        assert f"busy: job {jid}" in r.json()["error"]
    # backups and certificates share the one lock registry
    r = req(e, "POST", f"/backups/site/{sid}")
    assert r.status_code == 409, r.text
    assert r.json()["job_id"] == jid
    # the admin cancels
    r = req(e, "DELETE", f"/api/jobs/{jid}")
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "cancelling"}
    d = wait_state(e, jid, ("cancelled",))
    assert d["error"] == "cancelled"
    by = {s["name"]: s["state"] for s in d["steps"]}
    assert by["git clone"] == "failed" and by["site row"] == "undone", by
    assert "rolling back" in d["output"]
    assert no_trace(e, "hung.test")
    assert req(e, "GET", f"/sites/{sid}").status_code == 404
    assert e.panel.query("SELECT status FROM deployments WHERE id = ?", did) == [("failed",)]
    assert e.panel.query("SELECT state FROM jobs WHERE id = ?", jid) == [("cancelled",)]
    assert req(e, "DELETE", f"/api/jobs/{jid}").status_code == 409


def test_synchronous_create_cancelled_answers_and_leaves_nothing(env):
    e = env
    got = {}

    def run():
        got["r"] = req(e, "POST", "/sites",
                       json={"domain": "sync-hung.test", "git_repo": e.remote.url("sync")},
                       timeout=120)

    t = threading.Thread(target=run)
    t.start()
    lst = wait_for(lambda: [x for x in req(e, "GET", "/api/jobs?kind=site_create&state=running")
                            .json() if x["step"] == "git clone"], what="a running clone")
    jid = lst[0]["id"]
    assert req(e, "DELETE", f"/api/jobs/{jid}").status_code == 202
    t.join(60)
    assert not t.is_alive()
    r = got["r"]
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "git clone failed: cancelled"
    assert r.json()["step"] == "git clone"
    assert no_trace(e, "sync-hung.test")


def test_panel_answers_while_four_creates_hang(env):
    e = env
    results = {}

    def run(i):
        results[i] = req(e, "POST", "/sites",
                         json={"domain": f"stall{i}.test", "git_repo": e.remote.url(f"s{i}")},
                         timeout=120)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    # two run (jobs.workers = 2), two wait their turn
    wait_for(lambda: len(req(e, "GET", "/api/jobs?kind=site_create&state=running").json()) == 2
             and len(req(e, "GET", "/api/jobs?kind=site_create&state=queued").json()) == 2,
             what="two running and two queued creates")
    r = e.panel.request("POST", "/login",
                        json={"username": "admin", "password": e.panel.password})
    assert r.status_code == 200, r.text
    assert r.json()["token"]
    r = req(e, "GET", "/nginx")
    assert r.status_code == 200, r.text
    assert isinstance(r.json(), dict)
    assert req(e, "GET", "/api/auth/status").status_code == 200
    assert req(e, "GET", "/sites").status_code == 200
    # cancel them all: every request gets its answer, nothing stays
    for x in req(e, "GET", "/api/jobs?kind=site_create").json():
        if x["state"] in ("queued", "running"):
            assert req(e, "DELETE", f"/api/jobs/{x['id']}").status_code in (202, 409)
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    for i in range(4):
        assert results[i].status_code == 409, results[i].text
        assert no_trace(e, f"stall{i}.test")


def test_job_survives_its_client_disconnecting(env):
    e = env
    with pytest.raises(requests.exceptions.ReadTimeout):
        req(e, "POST", "/sites", json={"domain": "gone.test", "git_repo": e.remote.url("gone")},
            timeout=2)
    jid = wait_for(lambda: [x["id"] for x in req(e, "GET", "/api/jobs?kind=site_create&state=running")
                            .json() if x["step"] == "git clone"], what="the clone running")[0]
    sid = int(job(e, jid)["subject"].split(":")[1])
    # the client is gone; the job goes on and can be followed and cancelled
    assert job(e, jid)["state"] == "running"
    assert req(e, "GET", f"/sites/{sid}").status_code == 200
    assert req(e, "DELETE", f"/api/jobs/{jid}").status_code == 202
    wait_state(e, jid, ("cancelled",))
    assert no_trace(e, "gone.test")


def test_backup_job_async_and_listed(env):
    e = env
    bare, _ = make_bare_repo(e.ng.git_root, "bk", {"index.html": "backup me\n"}, e.dir)
    r = req(e, "POST", "/sites", json={"domain": "bk.test", "git_repo": bare}, timeout=120)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = req(e, "POST", f"/backups/site/{sid}", headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    jid = r.json()["job_id"]
    assert r.headers["Location"] == f"/api/jobs/{jid}"
    d = wait_state(e, jid, ("done", "failed"))
    assert d["state"] == "done" and d["kind"] == "backup_create", d
    assert d["subject"] == f"site:{sid}"
    assert [s["name"] for s in d["steps"]] == ["snapshot", "archive", "record"]
    rows = e.panel.query("SELECT id FROM backups WHERE site_id = ?", sid)
    assert len(rows) == 1
    # synchronous: the seed's answer
    r = req(e, "POST", f"/backups/{rows[0][0]}/verify")
    assert r.status_code == 200 and r.json()["valid"] is True, r.text
    assert req(e, "GET", "/api/jobs?kind=backup_verify").json()[0]["state"] == "done"
    assert req(e, "DELETE", f"/sites/{sid}").status_code == 200


# ---- a crash in the middle of a job ----

def test_kill_9_mid_job_fails_it_at_restart_and_rolls_back(tmp_path):
    skip_without_nginx()
    e = make_env(tmp_path)
    try:
        j = create_async(e, {"domain": "crash.test", "git_repo": e.remote.url("crash")})
        sid, jid, did = j["id"], j["job_id"], j["deployment_id"]
        wait_step(e, jid, "git clone")
        assert os.path.isdir(os.path.join(e.ng.webroot, "crash.test"))
        e.panel.proc.kill()
        e.panel.proc.wait()
        e.panel.log.close()
        # the row says running: the job was cut off
        assert e.panel.query("SELECT state FROM jobs WHERE id = ?", jid) == [("running",)]
        e.panel.start()
        e.token = e.panel.login()
        d = job(e, jid)
        assert d["state"] == "failed", d
        assert d["error"] == "interrupted: the panel stopped during step git clone"
        assert d["finished_at"]
        # the half-made site is gone: no row, no app_root, no vhost
        assert no_trace(e, "crash.test")
        assert req(e, "GET", f"/sites/{sid}").status_code == 404
        assert e.panel.query("SELECT status FROM deployments WHERE id = ?", did) == \
            [("failed",)]
        assert e.panel.query("SELECT recover_pending FROM jobs WHERE id = ?", jid) == [(0,)]
        # and the domain can be created again
        bare, _ = make_bare_repo(e.ng.git_root, "crash", {"index.html": "again\n"}, e.dir)
        r = req(e, "POST", "/sites", json={"domain": "crash.test", "git_repo": bare},
                timeout=120)
        assert r.status_code == 201, r.text
    finally:
        close_env(e)
