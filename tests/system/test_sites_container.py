"""Sites end to end with the real peers: the panel runs as root inside a
throw-away systemd container (container.py) with the container's real
nginx.service (/etc/nginx of the overlay, nginx.reload: systemd) and its
systemd. A python and a node site are created from local bare git
repositories under git.local_root (the apps of tests/fixtures/apps), fetched
through nginx by Host header, stopped/started/restarted (ActiveState seen in
GET /sites), their logs read and streamed, a new commit deployed and the
sites deleted again.

App code never runs as root: each app site has its own system user
(setec-s<id>) that owns the tree, runs the unit and runs every build step. A
node app's npm `preinstall` script, a `core.fsmonitor` planted in the
deployed tree's .git/config and a replaced venv/bin/pip each record the uid
they ran with: the site user's, never 0. Deleting the site removes the user."""
import os
import secrets
import shutil
import time

import pytest
import requests

from conftest import BIN, ROOT
from container import SYSTEM_CONFIG, Container, container_unavailable
from test_logs_journald import SSE, ContainerPanel

APPS = os.path.join(ROOT, "tests", "fixtures", "apps")
GIT_ROOT = "/srv/git"
LIVE_DEADLINE = 1.0  # seconds from "logged" to "seen on the stream"
PROVISION_TIMEOUT = 300  # venv + pip on a slow machine


@pytest.fixture(scope="module")
def ctr(tmp_path_factory):
    reason = container_unavailable()
    if reason:
        pytest.skip(reason)
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"no panel binary at {BIN}")
    for tool in ("/usr/sbin/nginx", "/usr/bin/git", "/usr/bin/node", "/usr/bin/npm"):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} is missing")
    if os.system("/usr/bin/python3 -c 'import ensurepip' 2>/dev/null") != 0:
        pytest.skip("python3-venv is missing")
    shared = str(tmp_path_factory.mktemp("sites-ctr"))
    bindir = os.path.dirname(os.path.realpath(BIN))
    with Container(binds=[shared], binds_ro=[bindir]) as c:
        c.shared = shared
        r = c.run(["systemctl", "is-active", "nginx.service"])
        if r.stdout.strip() != "active":
            c.run(["systemctl", "start", "nginx.service"])
        assert c.run(["systemctl", "is-active", "nginx.service"]).stdout.strip() == "active", \
            c.run(["journalctl", "-u", "nginx", "--no-pager"]).stdout
        yield c


def git(ctr, *args, cwd=None):
    argv = ["git", "-c", "user.name=Setec Test", "-c", "user.email=test@setec.test",
            "-c", "init.defaultBranch=main"]
    if cwd:
        argv += ["-C", cwd]
    r = ctr.run(argv + list(args))
    assert r.returncode == 0, f"git {args}: {r.stdout}{r.stderr}"
    return r.stdout


def make_repo(ctr, kind, name=None):
    """A bare repo /srv/git/app-<kind>.git holding the fixture app, and a
    work tree to push new commits from. Returns (bare path, work path)."""
    name = name or kind
    bare = f"{GIT_ROOT}/app-{name}.git"
    work = f"/root/work-{name}"
    os.makedirs(ctr.path(GIT_ROOT), exist_ok=True)
    git(ctr, "init", "-q", "--bare", "-b", "main", bare)
    shutil.copytree(os.path.join(APPS, kind), ctr.path(work))
    git(ctr, "init", "-q", "-b", "main", cwd=work)
    git(ctr, "add", "-A", cwd=work)
    git(ctr, "commit", "-q", "-m", "first", cwd=work)
    git(ctr, "remote", "add", "origin", bare, cwd=work)
    git(ctr, "push", "-q", "origin", "main", cwd=work)
    return bare, work


def push_version(ctr, work, version):
    with open(ctr.path(f"{work}/VERSION"), "w") as f:
        f.write(version + "\n")
    git(ctr, "commit", "-q", "-am", "version " + version, cwd=work)
    git(ctr, "push", "-q", "origin", "main", cwd=work)


@pytest.fixture(scope="module")
def inside(ctr):
    """(panel, token): the panel as root inside the container, this thread's
    sockets in the container's network for the whole module."""
    with ctr.netns():
        tmp = os.path.join(ctr.shared, "panel")
        os.makedirs(tmp, exist_ok=True)
        p = ContainerPanel(ctr, tmp, extra={**SYSTEM_CONFIG, "git": {"local_root": GIT_ROOT}})
        # the snippets the vhosts include, written as on a real install
        r = ctr.run(["env", f"SETEC_ADMIN_PASSWORD={p.password}", BIN, "-c", p.config, "setup"])
        assert r.returncode == 0, r.stdout + r.stderr
        p.start()
        try:
            yield p, p.login()
        finally:
            rc = p.stop()
            log = p.read_log()
            assert rc == 0, log
            assert "Sanitizer" not in log and "runtime error:" not in log, log


def via_nginx(domain, path="/", timeout=5):
    return requests.get(f"http://127.0.0.1{path}", headers={"Host": domain}, timeout=timeout)


def not_served(domain, text):
    """True when nginx no longer serves text for domain: the default server
    refuses a name without a vhost (return 444 closes the connection) or
    answers something else."""
    try:
        return text not in via_nginx(domain).text
    except requests.exceptions.ConnectionError:
        return True


def wait_content(domain, want, timeout=15, path="/"):
    """The body served for domain once it contains want (the app may still
    be binding its port right after a start)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            r = via_nginx(domain, path)
            last = f"{r.status_code} {r.text!r}"
            if r.status_code == 200 and want in r.text:
                return r.text
        except requests.RequestException as e:
            last = repr(e)
        assert time.monotonic() < deadline, f"{domain}{path}: never got {want!r}, last: {last}"
        time.sleep(0.1)


def unit_prop(ctr, unit, prop):
    r = ctr.run(["systemctl", "show", "-p", prop, "--value", unit])
    return r.stdout.strip()


def listed(p, tok, site_id):
    r = p.request("GET", "/sites", token=tok)
    assert r.status_code == 200, r.text
    sites = [s for s in r.json() if s["id"] == site_id]
    assert len(sites) == 1, r.json()
    return sites[0]


def detail(p, tok, site_id):
    r = p.request("GET", f"/sites/{site_id}", token=tok)
    assert r.status_code == 200, r.text
    return r.json()


def wait_deployments_done(p, tok, site_id, timeout=PROVISION_TIMEOUT):
    """The site's deployments once none is still running (provisioning and
    deploys may be tracked jobs that outlive the request)."""
    deadline = time.monotonic() + timeout
    while True:
        deps = detail(p, tok, site_id).get("Deployments") or []
        if deps and all(d.get("status") not in ("running", "pending", "queued") for d in deps):
            return deps
        assert time.monotonic() < deadline, deps
        time.sleep(0.2)


def create_site(p, tok, body):
    r = p.request("POST", "/sites", token=tok, json=body, timeout=PROVISION_TIMEOUT)
    assert r.status_code in (201, 202), r.text
    site_id = r.json()["id"]
    deps = wait_deployments_done(p, tok, site_id)
    assert any(d["status"] == "success" for d in deps), deps
    return site_id


def uid_of(ctr, user):
    r = ctr.run(["id", "-u", user])
    return r.stdout.strip() if r.returncode == 0 else None


def uid_file(ctr, path):
    """The uid a planted program wrote to path (None when it never ran)."""
    try:
        with open(ctr.path(path)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def plant(ctr, path, out):
    """An executable at path (in the container) writing its uid to out."""
    with open(ctr.path(path), "w") as f:
        f.write(f"#!/bin/sh\nid -u > {out}\nexit 0\n")
    os.chmod(ctr.path(path), 0o755)


def control(p, tok, site_id, action, expect):
    r = p.request("POST", f"/sites/{site_id}/{action}", token=tok, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": expect}, r.text


def exercise(ctr, p, tok, kind, entry, banner):
    domain = f"{kind}-{secrets.token_hex(2)}.setec.test"
    unit = f"app-{domain}.service"
    bare, work = make_repo(ctr, kind)
    if kind == "node":
        # the repository's own install script: runs as whoever runs npm
        pkg = ctr.path(f"{work}/package.json")
        with open(pkg) as f:
            text = f.read()
        with open(pkg, "w") as f:
            f.write(text.replace('"main"', '"scripts": {"preinstall": "id -u > preinstall-uid"},\n'
                                 '  "main"', 1))
        git(ctr, "commit", "-q", "-am", "preinstall", cwd=work)
        git(ctr, "push", "-q", "origin", "main", cwd=work)

    site_id = create_site(p, tok, {"domain": domain, "app_type": kind, "app_entry": entry,
                                   "git_repo": bare, "git_branch": "main"})
    site = detail(p, tok, site_id)["Site"]
    assert site["domain"] == domain
    assert site["app_root"] == f"/var/www/{domain}"
    port = site["app_port"]
    assert 1024 <= port <= 65535, site

    # provisioning really happened: the clone, dependencies, the unit
    root = site["app_root"]
    assert os.path.isfile(ctr.path(f"{root}/VERSION"))
    if kind == "python":
        assert os.path.exists(ctr.path(f"{root}/venv/bin/python3"))
    else:
        assert os.path.isfile(ctr.path(f"{root}/package-lock.json"))
    with open(ctr.path(f"/etc/systemd/system/{unit}")) as f:
        text = f.read()
    assert f'Environment="PORT={port}"' in text or f"Environment=PORT={port}" in text, text
    user = f"setec-s{site_id}"
    uid = uid_of(ctr, user)
    assert uid and uid != "0", user
    assert f"User={user}\n" in text and "NoNewPrivileges=yes" in text, text
    assert unit_prop(ctr, unit, "UnitFileState") == "enabled"
    # the site user owns the whole tree (made by it: clone, venv, npm)
    for rel in ("", "/VERSION", "/.git/config",
                "/venv/bin/python3" if kind == "python" else "/package-lock.json"):
        st = os.lstat(ctr.path(root + rel))
        assert str(st.st_uid) == uid, (rel, st.st_uid, uid)
    if kind == "node":
        assert uid_file(ctr, f"{root}/preinstall-uid") == uid

    # served through nginx by name, by the app running as the site user
    body = wait_content(domain, f"{banner} v1")
    assert f"uid={uid}" in body, body
    main_pid = unit_prop(ctr, unit, "MainPID")
    r = ctr.run(["stat", "-c", "%u", f"/proc/{main_pid}"])
    assert r.stdout.strip() == uid, (main_pid, r.stdout, r.stderr)
    assert unit_prop(ctr, unit, "ActiveState") == "active"
    s = listed(p, tok, site_id)
    assert s["status"] == "active" and s["running"] is True, s

    # stop / start / restart over sd-bus, seen in the real ActiveState
    control(p, tok, site_id, "stop", "stopped")
    assert unit_prop(ctr, unit, "ActiveState") == "inactive"
    s = listed(p, tok, site_id)
    assert s["status"] == "inactive" and s["running"] is False, s
    assert via_nginx(domain).status_code == 502

    control(p, tok, site_id, "start", "started")
    assert unit_prop(ctr, unit, "ActiveState") == "active"
    s = listed(p, tok, site_id)
    assert s["status"] == "active" and s["running"] is True, s
    wait_content(domain, f"{banner} v1")

    pid = unit_prop(ctr, unit, "MainPID")
    control(p, tok, site_id, "restart", "restarted")
    assert unit_prop(ctr, unit, "ActiveState") == "active"
    assert unit_prop(ctr, unit, "MainPID") not in ("0", pid)
    wait_content(domain, f"{banner} v1")

    # logs: the app's request lines, from the journal
    mark = "/logs-" + secrets.token_hex(4)
    wait_content(domain, mark, path=mark)
    deadline = time.monotonic() + 5
    while True:
        r = p.request("GET", f"/sites/{site_id}/logs", token=tok)
        assert r.status_code == 200, r.text
        if f"request {mark}" in r.json()["logs"]:
            break
        assert time.monotonic() < deadline, r.json()["logs"]
        time.sleep(0.1)

    # the stream: a new request's line arrives within a second
    stream = SSE(p, f"/sites/{site_id}/logs/stream", tok)
    try:
        assert stream.status == 200
        list(stream.events(0.3))  # whatever backlog the stream starts with
        mark = "/live-" + secrets.token_hex(4)
        t0 = time.monotonic()
        assert mark in via_nginx(domain, mark).text
        ev = stream.wait_for(lambda d: f"request {mark}" in d, 5)
        elapsed = time.monotonic() - t0
        assert ev, "the request's log line never arrived on the stream"
        assert elapsed < LIVE_DEADLINE, elapsed
        assert ev["id"], ev
    finally:
        stream.close()

    # a hostile tree: a core.fsmonitor planted in .git/config and (python)
    # a replaced venv/bin/pip. On the next deploy both run as the site user.
    plant(ctr, "/usr/local/bin/setec-fsmonitor-probe", f"{root}/fsmonitor-uid")
    with open(ctr.path(f"{root}/.git/config"), "a") as f:
        f.write("[core]\n\tfsmonitor = /usr/local/bin/setec-fsmonitor-probe\n")
    if kind == "python":
        os.unlink(ctr.path(f"{root}/venv/bin/pip"))
        plant(ctr, f"{root}/venv/bin/pip", f"{root}/pip-uid")
        gid = ctr.run(["id", "-g", user]).stdout.strip()
        os.chown(ctr.path(f"{root}/venv/bin/pip"), int(uid), int(gid))

    # deploy a new commit: pulled, restarted, new content
    push_version(ctr, work, "v2")
    r = p.request("POST", f"/sites/{site_id}/deploy", token=tok, timeout=PROVISION_TIMEOUT)
    assert r.status_code in (200, 202), r.text
    deps = wait_deployments_done(p, tok, site_id)
    assert deps[0]["status"] == "success", deps
    wait_content(domain, f"{banner} v2")
    assert unit_prop(ctr, unit, "ActiveState") == "active"
    assert uid_file(ctr, f"{root}/fsmonitor-uid") == uid  # ran, and not as root
    if kind == "python":
        assert uid_file(ctr, f"{root}/pip-uid") == uid

    # delete: unit stopped and gone, vhost disabled, files kept
    r = p.request("DELETE", f"/sites/{site_id}", token=tok, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "deleted"}
    assert not os.path.exists(ctr.path(f"/etc/systemd/system/{unit}"))
    assert unit_prop(ctr, unit, "LoadState") == "not-found"
    assert not os.path.lexists(ctr.path(f"/etc/nginx/sites-enabled/{domain}"))
    assert not_served(domain, f"{banner} v")
    assert os.path.isfile(ctr.path(f"{root}/VERSION"))
    assert p.request("GET", f"/sites/{site_id}", token=tok).status_code == 404
    # its user is gone; the kept files went back to root
    assert uid_of(ctr, user) is None
    assert ctr.run(["getent", "group", user]).returncode != 0
    assert os.lstat(ctr.path(f"{root}/VERSION")).st_uid == 0
    assert ctr.run(["/usr/sbin/nginx", "-t"]).returncode == 0


def test_python_site(ctr, inside):
    p, tok = inside
    exercise(ctr, p, tok, "python", "app.py", "python-app")


def test_node_site(ctr, inside):
    p, tok = inside
    exercise(ctr, p, tok, "node", "server.js", "node-app")


def test_app_site_turned_static_gives_the_tree_to_the_http_user(ctr, inside):
    """A python site changed to static: its unit and its user go; the tree,
    built from a repository, now belongs to the HTTP process's user
    (`setec`), which runs a static site's git (never root: git refuses a
    tree its runner does not own), and a deploy still works as that user."""
    p, tok = inside
    domain = f"retype-{secrets.token_hex(2)}.setec.test"
    bare, work = make_repo(ctr, "python", "retype")
    site_id = create_site(p, tok, {"domain": domain, "app_type": "python", "app_entry": "app.py",
                                   "git_repo": bare, "git_branch": "main"})
    user = f"setec-s{site_id}"
    root = detail(p, tok, site_id)["Site"]["app_root"]
    assert uid_of(ctr, user) not in (None, "0")
    r = p.request("PUT", f"/sites/{site_id}", token=tok, json={"app_type": "static"}, timeout=120)
    assert r.status_code == 200, r.text
    assert uid_of(ctr, user) is None
    setec = int(uid_of(ctr, "setec"))
    assert setec != 0
    assert os.lstat(ctr.path(f"{root}/VERSION")).st_uid == setec
    assert os.lstat(ctr.path(f"{root}/.git/config")).st_uid == setec
    push_version(ctr, work, "static-v2")
    r = p.request("POST", f"/sites/{site_id}/deploy", token=tok, timeout=PROVISION_TIMEOUT)
    assert r.status_code in (200, 202), r.text
    deps = wait_deployments_done(p, tok, site_id)
    assert deps[0]["status"] == "success", deps
    with open(ctr.path(f"{root}/VERSION")) as f:
        assert f.read() == "static-v2\n"
    # the pull ran as setec: what it wrote is setec's
    assert os.lstat(ctr.path(f"{root}/VERSION")).st_uid == setec
    r = p.request("DELETE", f"/sites/{site_id}", token=tok, timeout=60)
    assert r.status_code == 200, r.text
