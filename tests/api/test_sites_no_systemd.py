"""Python and node sites need systemd as PID 1 (their app runs as a unit).
On a machine without it (a container started without systemd, a chroot),
POST /sites for such a site fails at once: 503 with a message saying so,
and nothing is created, cloned or started: no site row, no deployment, no
app_root, no vhost, no job. A static site still works.

Every other API test sets SETEC_SYSTEM_BUS (which skips the check and lets
the job's systemd step decide); this one starts the panel without it, so it
only means something where /run/systemd/system does not exist."""
import os

import pytest

from site_env import start_env, stop_env

import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from gitrepo import make_bare_repo  # noqa: E402

GIT = any(os.access(os.path.join(d, "git"), os.X_OK)
          for d in os.environ.get("PATH", "").split(os.pathsep))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if os.path.exists("/run/systemd/system"):
        pytest.skip("systemd is PID 1 on this machine (/run/systemd/system exists): "
                    "the 'no systemd' refusal cannot be observed here")
    if not GIT:
        pytest.skip("git is not installed")
    # the point of this file: no explicit bus, so the panel looks for systemd
    e = start_env(tmp_path_factory.mktemp("nosystemd"), bus=True)
    yield e
    stop_env(e)


def req(e, method, path, **kw):
    return e.panel.request(method, path, token=e.token, **kw)


def counts(e):
    return {t: e.panel.query(f"SELECT COUNT(*) FROM {t}")[0][0]
            for t in ("sites", "deployments", "jobs")}


@pytest.mark.parametrize("app_type,entry", [("python", "app.py"), ("node", "server.js")])
def test_app_site_refused_at_once_without_systemd(env, app_type, entry):
    e = env
    domain = f"{app_type}-nosd.test"
    files = {entry: "print('hi')\n" if app_type == "python" else "console.log('hi')\n"}
    bare, _ = make_bare_repo(e.ng.git_root, domain, files, e.dir)
    app_root = os.path.join(e.ng.webroot, domain)
    before = counts(e)
    r = req(e, "POST", "/sites", json={"domain": domain, "app_type": app_type,
                                       "app_entry": entry, "git_repo": bare,
                                       "app_root": app_root})
    assert r.status_code == 503, r.text
    assert r.json()["error"] == (f"{app_type} apps need systemd running as PID 1, and this "
                                 "machine has none (static sites work without it)"), r.text
    # nothing was made: no row, no deployment, no job, no tree, no vhost, no unit
    assert counts(e) == before
    assert e.panel.query("SELECT COUNT(*) FROM sites WHERE domain = ?", domain) == [(0,)]
    assert not os.path.exists(app_root)
    assert not [f for f in os.listdir(e.ng.sites_available) if domain in f]
    assert os.listdir(e.units) == []
    r = req(e, "GET", "/api/jobs")
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    assert items == [], items
    # with Prefer: respond-async too: the refusal comes before any job
    r = req(e, "POST", "/sites", headers={"Prefer": "respond-async"},
            json={"domain": domain, "app_type": app_type, "app_entry": entry,
                  "git_repo": bare, "app_root": app_root})
    assert r.status_code == 503, r.text
    assert counts(e) == before


def test_static_site_still_works_without_systemd(env):
    e = env
    domain = "static-nosd.test"
    bare, _ = make_bare_repo(e.ng.git_root, domain, {"index.html": "<h1>no systemd</h1>\n"},
                             e.dir)
    r = req(e, "POST", "/sites", json={"domain": domain, "git_repo": bare})
    assert r.status_code == 201, r.text
    assert e.ng.wait_serving(domain, "no systemd")
