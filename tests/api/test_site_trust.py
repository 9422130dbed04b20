"""Sites and the trust boundary (issue 11) against a real nginx in a private
prefix: git credentials refused and never shown (not even from rows stored
before), app_root rules (no overlap with another site's, never an existing
non-empty directory), and the hardened vhosts nginx really serves: no
dot-files (.git of a cloned static site), security headers, no version, and
unknown names refused by the panel's default server."""
import http.client
import os
import shutil
import sqlite3

import pytest

from gitrepo import make_bare_repo
from site_env import start_env, stop_env

SECRET = "S3cr3tT0ken"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    e = start_env(tmp_path_factory.mktemp("trust"), own_default=False)
    e.panel.create_user(e.token, "trust_viewer", "pw-viewer-1", role="viewer")
    e.viewer = e.panel.login("trust_viewer", "pw-viewer-1")
    yield e
    stop_env(e)


def req(e, method, path, token=None, **kw):
    kw.setdefault("timeout", 120)
    return e.panel.request(method, path, token=token or e.token, **kw)


def rows(e, domain):
    return e.panel.query("SELECT id FROM sites WHERE domain = ?", domain)


def raw_get(e, host, path="/"):
    """(status, headers) through nginx, or None when it closed without an answer."""
    c = http.client.HTTPConnection("127.0.0.1", e.ng.http_port, timeout=5)
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return None
    finally:
        c.close()


# ---- secrets ----

@pytest.mark.parametrize("url", [f"https://deploy:{SECRET}@example.com/a/r.git",
                                 f"https://{SECRET}@github.com/a/r.git",
                                 f"https://x:{SECRET}@example.com:8443/r.git"])
def test_git_repo_with_credentials_refused(env, url):
    r = req(env, "POST", "/sites", json={"domain": "cred.test", "git_repo": url})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("git_repo")
    assert SECRET not in r.text
    assert rows(env, "cred.test") == []
    assert not os.path.exists(os.path.join(env.ng.webroot, "cred.test"))
    assert SECRET not in env.panel.read_log()


def test_viewer_never_sees_a_stored_credential(env):
    """A row (and a deployment) stored before credentials were refused."""
    e = env
    r = req(e, "POST", "/sites", json={"domain": "old.test"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    url = f"https://deploy:{SECRET}@git.example.com/team/old.git"
    con = sqlite3.connect(os.path.join(e.panel.data_dir, "setec.db"), timeout=10)
    try:
        con.execute("UPDATE sites SET git_repo = ? WHERE id = ?", (url, sid))
        cur = con.execute("INSERT INTO deployments (site_id, action, status, output,"
                          " finished_at) VALUES (?, 'clone', 'failed', ?, CURRENT_TIMESTAMP)",
                          (sid, f"==> git clone {url} (branch main)\n"
                                f"fatal: unable to access '{url}/': 403\n"))
        did = cur.lastrowid
        con.commit()
    finally:
        con.close()
    for tok in (e.viewer, e.token):
        lst = req(e, "GET", "/sites", token=tok)
        assert lst.status_code == 200
        assert SECRET not in lst.text
        mine = [s for s in lst.json() if s["id"] == sid][0]
        assert mine["git_repo"] == "https://git.example.com/team/old.git"
        one = req(e, "GET", f"/sites/{sid}", token=tok)
        assert one.status_code == 200 and SECRET not in one.text
        assert "https://git.example.com/team/old.git" in one.text
        dep = req(e, "GET", f"/sites/{sid}/deployments/{did}", token=tok)
        assert dep.status_code == 200 and SECRET not in dep.text, dep.text
        assert "git clone https://git.example.com/team/old.git" in dep.text
        st = req(e, "GET", f"/sites/{sid}/deployments/{did}/stream", token=tok,
                 headers={"Accept": "text/event-stream"}, stream=True, timeout=10)
        body = b""
        for chunk in st.iter_content(4096):
            body += chunk
            if b"event: end" in body or len(body) > 65536:
                break
        st.close()
        assert SECRET.encode() not in body


# ---- app_root ----

def test_neighbouring_app_root_refused(env):
    e = env
    r = req(e, "POST", "/sites", json={"domain": "first.test"})
    assert r.status_code == 201, r.text
    root = os.path.join(e.ng.webroot, "first.test")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "precious.txt"), "w") as f:
        f.write("mine\n")
    before = sorted(os.listdir(root))
    for body in ({"domain": "second.test", "app_root": root},
                 {"domain": "second.test", "app_root": root + "/sub"},
                 {"domain": "second.test", "app_root": root, "app_type": "python",
                  "app_entry": "app.py"},
                 {"domain": "second.test", "app_root": root, "git_repo": "https://example.com/x.git"}):
        r = req(e, "POST", "/sites", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"].startswith("app_root"), r.text
        assert rows(e, "second.test") == []
    assert sorted(os.listdir(root)) == before
    with open(os.path.join(root, "precious.txt")) as f:
        assert f.read() == "mine\n"
    # around another site's root
    r = req(e, "POST", "/sites", json={"domain": "inner.test",
                                       "app_root": os.path.join(e.ng.webroot, "grp", "inner")})
    assert r.status_code == 201, r.text
    r = req(e, "POST", "/sites", json={"domain": "outer.test",
                                       "app_root": os.path.join(e.ng.webroot, "grp")})
    assert r.status_code == 400 and r.json()["error"].startswith("app_root"), r.text
    # a common prefix is not nesting
    r = req(e, "POST", "/sites", json={"domain": "first2.test", "app_root": root + "2"})
    assert r.status_code == 201, r.text
    # an update onto another site's root is refused too
    sid = r.json()["id"]
    r = req(e, "PUT", f"/sites/{sid}", json={"app_root": root})
    assert r.status_code == 400 and r.json()["error"].startswith("app_root"), r.text
    assert sorted(os.listdir(root)) == before


def test_existing_non_empty_directory_refused(env):
    """For any site the panel clones or builds into; a static site without a
    repository may serve an existing directory as it is (test_sites.py)."""
    e = env
    root = os.path.join(e.ng.webroot, "someone-else")
    os.makedirs(root)
    with open(os.path.join(root, ".env"), "w") as f:
        f.write("KEY=1\n")
    for body in ({"domain": "taker.test", "app_root": root, "app_type": "node",
                  "app_entry": "server.js"},
                 {"domain": "taker.test", "app_root": root, "app_type": "python",
                  "app_entry": "app.py"},
                 {"domain": "taker.test", "app_root": root,
                  "git_repo": os.path.join(e.ng.git_root, "none.git")}):
        r = req(e, "POST", "/sites", json=body)
        assert r.status_code == 400 and r.json()["error"].startswith("app_root"), r.text
        assert rows(e, "taker.test") == []
        assert os.listdir(root) == [".env"]


# ---- what nginx serves ----

def test_cloned_static_site_hides_dot_files_and_is_hardened(env):
    e = env
    bare, _ = make_bare_repo(e.ng.git_root, "dots", {"index.html": "<h1>dots</h1>\n",
                                                     ".env": "SECRET=1\n"}, e.dir)
    r = req(e, "POST", "/sites", json={"domain": "dots.test", "git_repo": bare})
    assert r.status_code == 201, r.text
    root = os.path.join(e.ng.webroot, "dots.test")
    assert os.path.isfile(os.path.join(root, ".git", "config"))
    assert e.ng.wait_serving("dots.test", "dots")
    st, hdrs = raw_get(e, "dots.test", "/")
    assert st == 200
    assert hdrs.get("x-content-type-options") == "nosniff"
    assert hdrs.get("x-frame-options") == "SAMEORIGIN"
    assert hdrs.get("referrer-policy") == "strict-origin-when-cross-origin"
    assert hdrs.get("server") == "nginx"  # no version
    for path in ("/.git/config", "/.git/HEAD", "/.env", "/sub/.htpasswd", "/.git/"):
        got = raw_get(e, "dots.test", path)
        assert got and got[0] == 404, (path, got)
    # /.well-known/ is not a dot-file
    wk = os.path.join(root, ".well-known")
    os.makedirs(wk)
    with open(os.path.join(wk, "security.txt"), "w") as f:
        f.write("Contact: mailto:x@example.com\n")
    got = raw_get(e, "dots.test", "/.well-known/security.txt")
    assert got and got[0] == 200, got
    # the vhost: both address families, body size, no client Connection
    with open(os.path.join(e.ng.sites_available, "dots.test")) as f:
        text = f.read()
    assert f"listen [::]:{e.ng.http_port};" in text
    assert "client_max_body_size 64m;" in text
    assert "$http_connection" not in text


def test_unknown_names_refused(env):
    e = env
    r = req(e, "POST", "/sites", json={"domain": "known.test"})
    assert r.status_code == 201, r.text
    assert raw_get(e, "unknown.test") is None  # 444: closed, no answer
    assert raw_get(e, "127.0.0.1") is None
    with open(os.path.join(e.ng.sites_available, "setec-defaults")) as f:
        text = f.read()
    assert "return 444;" in text and "ssl_reject_handshake on;" in text
    assert "map $http_upgrade $setec_connection_upgrade" in text
    # nginx -t passes on what the panel wrote
    out = e.ng.run("-t")
    assert out.returncode == 0, out.stderr
