"""AUTARCH routes on a machine without systemd (the panel's bus address
points nowhere): status read from the files, the settings file (INI checked,
written atomically 0600), install failing cleanly at its first step,
"systemd" (before the autarch user, the clone and the repository's code,
which runs as that user only: nothing made, a retry runs again), the busy
subject, the asynchronous form, update/dns build on a machine where it is
not installed, unit control reporting each unit, and roles. The full
install (clone, venv, pip, npm as the autarch user), a broken requirements
file failing at "pip install", the units and the served web app and DNS
server are tests/system/test_autarch_container.py."""
import json
import os
import shutil
import socket
import stat
import time

import waiting

import pytest

from autarch_fixture import make_autarch_repo, settings_text
from conftest import Panel, assert_no_sanitizer_report

JOB_TIMEOUT = 300  # venv + pip on a slow machine


class Env:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    if os.system("/usr/bin/python3 -c 'import ensurepip' 2>/dev/null") != 0:
        pytest.skip("python3-venv is missing")
    d = tmp_path_factory.mktemp("autarch")
    git_root = d / "git"
    git_root.mkdir()
    bare, work = make_autarch_repo(str(git_root))
    e = Env()
    e.dir = str(d)
    e.bare, e.work = bare, work
    e.install_dir = str(d / "www" / "autarch")
    units = d / "units"
    units.mkdir()
    e.units = str(units)
    os.makedirs(d / "panel")
    p = Panel(d / "panel", extra={
        "autarch": {"install_dir": e.install_dir, "git_repo": bare, "git_branch": "main"},
        "git": {"local_root": str(git_root)},
        "systemd": {"unit_dir": str(units)},
        "nginx": {"webroot": str(d / "www")},
    }, env={"SETEC_SYSTEM_BUS": "unix:path=" + str(d / "no-bus")})
    p.start()
    e.panel = p
    e.token = p.login()
    yield e
    rc = p.stop()
    assert rc == 0, "panel did not exit cleanly:\n" + p.read_log()
    assert_no_sanitizer_report(p)


def req(e, method, path, token=None, **kw):
    kw.setdefault("timeout", JOB_TIMEOUT)
    return e.panel.request(method, path, token=token or e.token, **kw)


def wait_job(e, job_id):
    """GET /api/jobs/{id} (with steps and output) once the job has ended."""
    def ended():
        r = req(e, "GET", f"/api/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json() if r.json()["state"] not in ("queued", "running") else None
    return waiting.wait_for(ended, JOB_TIMEOUT, f"job {job_id} to end")


def step_states(job):
    return {s["name"]: s["state"] for s in job["steps"]}


def assert_nothing_left(e):
    assert not os.path.exists(os.path.join(e.install_dir, ".git"))
    assert not os.path.exists(e.install_dir)
    assert os.listdir(e.units) == []


def test_status_not_installed(env):
    r = req(env, "GET", "/autarch/status")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "installed": False, "install_dir": env.install_dir, "git_commit": "",
        "venv_ready": False, "pip_packages": 0,
        "web_running": False, "web_status": "unknown",
        "dns_running": False, "dns_status": "unknown",
    }
    # GET /autarch answers the same JSON, or the page for a browser
    r = req(env, "GET", "/autarch")
    assert r.status_code == 200 and r.json()["install_dir"] == env.install_dir
    r = req(env, "GET", "/autarch", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]


def test_needs_login(env):
    for method, path in (("GET", "/autarch/status"), ("POST", "/autarch/install"),
                         ("PUT", "/autarch/config"), ("POST", "/autarch/start")):
        r = env.panel.request(method, path)
        assert r.status_code == 401, (method, path, r.text)


def test_config_missing_and_not_installed(env):
    r = req(env, "GET", "/autarch/config")
    assert r.status_code == 404 and r.json() == {"error": "config not found"}
    r = req(env, "PUT", "/autarch/config", json={"config": "[web]\nport = 1\n"})
    assert r.status_code == 404 and "not installed" in r.json()["error"]
    assert not os.path.exists(env.install_dir)


def test_update_and_dns_build_need_an_install(env):
    for path in ("/autarch/update", "/autarch/dns/build"):
        r = req(env, "POST", path)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == f"AUTARCH is not installed at {env.install_dir}"


def test_control_reports_each_unit(env):
    for verb in ("start", "stop", "restart"):
        r = req(env, "POST", f"/autarch/{verb}")
        assert r.status_code == 500, r.text
        body = r.json()
        assert body["units"] == {"autarch-web": "unknown", "autarch-dns": "unknown"}
        assert body["error"].startswith("autarch-web: ")
        assert "; autarch-dns: " in body["error"]
        assert "system bus" in body["error"]


def test_install_fails_cleanly_at_systemd_then_again(env):
    """Without systemd the install stops at its first step: no user, no
    clone, no repository code ran."""
    for attempt in range(1):  # test_async_install_and_busy is the retry
        r = req(env, "POST", "/autarch/install")
        assert r.status_code == 500, r.text
        body = r.json()
        assert body["error"].startswith("systemd failed: no system bus reachable"), body
        assert isinstance(body["job_id"], int)
        assert_nothing_left(env)
        job = wait_job(env, body["job_id"])
        assert job["state"] == "failed" and job["kind"] == "autarch_install"
        assert job["subject"] == "autarch"
        assert step_states(job) == {
            "systemd": "failed", "user": "pending", "clone": "pending", "venv": "pending",
            "upgrade pip": "pending", "pip install": "pending", "npm install": "pending",
            "permissions": "pending", "units": "pending"}, job["steps"]
        assert "git clone" not in job["output"]


def test_async_install_and_busy(env, tmp_path):
    """A bus that accepts and never answers holds the "systemd" step for
    its 2 s limit: the subject is busy meanwhile."""
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(tmp_path / "silent-bus"))
    silent.listen(8)
    os.makedirs(tmp_path / "p")
    p = Panel(tmp_path / "p", extra={
        "autarch": {"install_dir": env.install_dir, "git_repo": env.bare, "git_branch": "main"},
        "git": {"local_root": os.path.dirname(env.bare)},
        "systemd": {"unit_dir": env.units},
    }, env={"SETEC_SYSTEM_BUS": "unix:path=" + str(tmp_path / "silent-bus")})
    p.start()
    try:
        e = Env()
        e.panel, e.token = p, p.login()
        r = req(e, "POST", "/autarch/install", headers={"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert r.json() == {"job_id": job_id}
        assert r.headers["Location"] == f"/api/jobs/{job_id}"
        r2 = req(e, "POST", "/autarch/install")
        assert r2.status_code == 409, r2.text
        assert r2.json()["job_id"] == job_id
        assert f"job {job_id}" in r2.json()["error"] and "busy" in r2.json()["error"]
        job = wait_job(e, job_id)
        assert job["state"] == "failed" and step_states(job)["systemd"] == "failed"
        assert_nothing_left(env)
    finally:
        assert p.stop() == 0
        silent.close()
        assert_no_sanitizer_report(p)


def make_fake_install(env):
    """A clone of the fixture at the install dir (what a finished install
    leaves, minus venv and units), for the file-only routes."""
    import subprocess
    subprocess.run(["git", "clone", "-q", env.bare, env.install_dir], check=True,
                   capture_output=True)


def test_already_installed_is_409(env):
    make_fake_install(env)
    try:
        r = req(env, "POST", "/autarch/install")
        assert r.status_code == 409
        assert r.json() == {"error": f"AUTARCH already installed at {env.install_dir}"}
        st = req(env, "GET", "/autarch/status").json()
        assert st["installed"] is True
        h = subprocess_out(["git", "-C", env.install_dir, "log", "-1", "--format=%h %s"])
        assert st["git_commit"] == h
        assert st["git_commit"].endswith(" AUTARCH fixture 1")
        assert st["venv_ready"] is False and st["pip_packages"] == 0
        # a venv with two distributions
        site = os.path.join(env.install_dir, "venv", "lib", "python3.11", "site-packages")
        os.makedirs(os.path.join(site, "a-1.0.dist-info"))
        os.makedirs(os.path.join(site, "b-2.0.dist-info"))
        os.makedirs(os.path.join(env.install_dir, "venv", "bin"))
        with open(os.path.join(env.install_dir, "venv", "bin", "python3"), "w") as f:
            f.write("")
        st = req(env, "GET", "/autarch/status").json()
        assert st["venv_ready"] is True and st["pip_packages"] == 2
    finally:
        shutil.rmtree(env.install_dir)


def subprocess_out(argv):
    import subprocess
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def test_config_roundtrip_and_errors(env):
    make_fake_install(env)
    path = os.path.join(env.install_dir, "autarch_settings.conf")
    try:
        r = req(env, "GET", "/autarch/config")
        assert r.status_code == 200 and r.json() == {"config": settings_text()}

        before = os.stat(path)
        bad = "[autarch]\nfirst_run = false\n\n[web\nport = 1\n"
        r = req(env, "PUT", "/autarch/config", json={"config": bad})
        assert r.status_code == 400, r.text
        assert r.json()["line"] == 4
        assert r.json()["error"].startswith("config: line 4: ")
        after = os.stat(path)
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
        for text, line in (("port = 1\n", 1), ("[a]\nk = 1\nk = 2\n", 3), ("[a]\nwords\n", 2)):
            r = req(env, "PUT", "/autarch/config", json={"config": text})
            assert r.status_code == 400 and r.json()["line"] == line, (text, r.text)
        r = req(env, "PUT", "/autarch/config", json={})
        assert r.status_code == 400 and "config" in r.json()["error"]
        r = req(env, "PUT", "/autarch/config", data="{not json",
                headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        with open(path) as f:
            assert f.read() == settings_text()

        good = "[autarch]\nfirst_run = true\n\n[web]\nhost = 127.0.0.1\nport = 8181\n"
        r = req(env, "PUT", "/autarch/config", json={"config": good})
        assert r.status_code == 200 and r.json() == {"status": "saved"}
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_ino != before.st_ino  # a new file renamed over the old one
        with open(path) as f:
            assert f.read() == good
        assert req(env, "GET", "/autarch/config").json() == {"config": good}
        leftovers = [n for n in os.listdir(env.install_dir) if n.startswith("autarch_settings.conf.")]
        assert leftovers == []
    finally:
        shutil.rmtree(env.install_dir)


def test_viewer_reads_only(env):
    name = "viewer-autarch"
    env.panel.create_user(env.token, name, "pw-" + name + "-12345", "viewer")
    tok = env.panel.login(name, "pw-" + name + "-12345")
    assert req(env, "GET", "/autarch/status", token=tok).status_code == 200
    for method, path in (("POST", "/autarch/install"), ("POST", "/autarch/update"),
                         ("POST", "/autarch/start"), ("POST", "/autarch/stop"),
                         ("POST", "/autarch/restart"), ("POST", "/autarch/dns/build"),
                         ("PUT", "/autarch/config")):
        kw = {"json": {"config": "[a]\n"}} if method == "PUT" else {}
        r = req(env, method, path, token=tok, **kw)
        assert r.status_code == 403, (method, path, r.text)
    assert not os.path.exists(env.install_dir)
