"""System users (seed: Users > System Users) against the real host, read-only:
the list, and every refusal that must happen before anything is executed.
No test here may create or delete an account on the host: the ones that do
are in tests/system/test_sysusers_overlay.py (overlay /etc in a mount
namespace). The host's account files are compared before and after."""
import hashlib

import pytest

PANEL_MANY_LOGINS = True

ACCOUNT_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow")


def digests():
    out = {}
    for p in ACCOUNT_FILES:
        try:
            with open(p, "rb") as f:
                out[p] = hashlib.sha256(f.read()).hexdigest()
        except OSError as e:  # not root: shadow unreadable, still comparable
            out[p] = repr(e)
    return out


@pytest.fixture(scope="module", autouse=True)
def host_accounts_unchanged():
    before = digests()
    yield
    assert digests() == before, "the host's account files changed"


def assert_error(r, status, contains=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    if contains:
        assert contains in body["error"], body
    return body["error"]


def host_regular_users():
    out = []
    with open("/etc/passwd") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            p = line.split(":")
            if len(p) != 7 or not p[2].isdigit():
                continue
            if 1000 <= int(p[2]) <= 65533:
                out.append({"username": p[0], "uid": p[2], "home_dir": p[5], "shell": p[6]})
    return out


def test_list_shape_matches_passwd(panel, admin_token):
    r = panel.request("GET", "/users", token=admin_token)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    lst = r.json()
    assert isinstance(lst, list)
    for u in lst:
        assert set(u) == {"username", "uid", "home_dir", "shell"}
        assert all(isinstance(v, str) for v in u.values()), u
        assert u["uid"].isdigit() and 1000 <= int(u["uid"]) <= 65533
    names = [u["username"] for u in lst]
    assert "root" not in names and "nobody" not in names and "daemon" not in names
    assert lst == host_regular_users()


def test_list_viewer_and_page(panel, admin_token):
    panel.create_user(admin_token, "su_viewer", "pw-su-viewer", "viewer")
    vt = panel.login("su_viewer", "pw-su-viewer")
    r = panel.request("GET", "/users", token=vt)
    assert r.status_code == 200 and isinstance(r.json(), list)
    r = panel.request("GET", "/users", token=admin_token, headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"not yet" not in r.content.lower()


def test_unauthenticated(panel):
    assert_error(panel.request("GET", "/users"), 401)
    assert_error(panel.request("POST", "/users", json={"username": "x", "password": "y"}), 401)
    assert_error(panel.request("DELETE", "/users/x"), 401)


def test_viewer_forbidden(panel, admin_token):
    panel.create_user(admin_token, "su_viewer2", "pw-su-viewer2", "viewer")
    vt = panel.login("su_viewer2", "pw-su-viewer2")
    assert_error(panel.request("POST", "/users", token=vt,
                               json={"username": "su_evil", "password": "pw"}), 403)
    assert_error(panel.request("DELETE", "/users/root", token=vt), 403)
    assert_error(panel.request("DELETE", "/users/su_nobody_here", token=vt), 403)


HOSTILE_CREATE = [
    ({}, "username"),
    ({"password": "pw"}, "username"),
    ({"username": "su_x"}, "password"),
    ({"username": "", "password": "pw"}, "username"),
    ({"username": "su_x", "password": ""}, "password"),
    ({"username": "-o", "password": "pw"}, "username"),
    ({"username": "--badname", "password": "pw"}, "username"),
    ({"username": "a:b", "password": "pw"}, "username"),
    ({"username": "x\nroot", "password": "pw"}, "username"),
    ({"username": "../x", "password": "pw"}, "username"),
    ({"username": "Root", "password": "pw"}, "username"),
    ({"username": "a" * 33, "password": "pw"}, "username"),
    ({"username": "a" * 5000, "password": "pw"}, "username"),
    ({"username": "su_x", "password": "a:b"}, "password"),
    ({"username": "su_x", "password": "x\nroot:owned"}, "password"),
    ({"username": "su_x", "password": "x\rroot"}, "password"),
    ({"username": "su_x", "password": "p" * 512}, "password"),
    ({"username": "su_x", "password": "p" * 1025}, "password"),
    ({"username": "su_x", "password": "pw", "shell": "/bin/nonexistent-shell"}, "shell"),
    ({"username": "su_x", "password": "pw", "shell": "bash"}, "shell"),
    ({"username": "su_x", "password": "pw", "shell": "-o"}, "shell"),
    ({"username": "su_x", "password": "pw", "shell": "/bin/sh\n/bin/evil"}, "shell"),
    ({"username": "su_x", "password": "pw", "shell": "/etc/passwd"}, "shell"),
    ({"username": 5, "password": "pw"}, "username"),
    ({"username": "su_x", "password": ["pw"]}, "password"),
    ({"username": "su_x", "password": "pw", "shell": True}, "shell"),
]


@pytest.mark.parametrize("body,field", HOSTILE_CREATE,
                         ids=[repr(b)[:60] for b, _ in HOSTILE_CREATE])
def test_create_refused(panel, admin_token, body, field):
    err = assert_error(panel.request("POST", "/users", token=admin_token, json=body), 400)
    assert field in err, err
    assert "su_x" not in [u["username"] for u in host_regular_users()]


def test_create_nul_refused(panel, admin_token):
    # jansson refuses \u0000 inside strings: the body is rejected as a whole
    r = panel.request("POST", "/users", token=admin_token,
                      data=b'{"username":"su_x","password":"a\\u0000b"}',
                      headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_create_form_refused(panel, admin_token):
    r = panel.request("POST", "/users", token=admin_token,
                      data={"username": "su_x", "password": "x\nroot:owned"})
    assert_error(r, 400, "password")


def test_create_existing_is_409(panel, admin_token):
    # root exists: refused by the lookup before useradd could run
    err = assert_error(panel.request("POST", "/users", token=admin_token,
                                     json={"username": "root", "password": "pw"}), 409)
    assert "root" in err


def test_delete_protected(panel, admin_token):
    assert_error(panel.request("DELETE", "/users/root", token=admin_token), 403)
    assert_error(panel.request("DELETE", "/users/autarch", token=admin_token), 403)
    # a service account (UID < 1000) is protected although not named
    assert_error(panel.request("DELETE", "/users/daemon", token=admin_token), 403)
    assert_error(panel.request("DELETE", "/users/nobody", token=admin_token), 403)


def test_delete_unknown_404(panel, admin_token):
    err = assert_error(panel.request("DELETE", "/users/su_no_such_user", token=admin_token), 404)
    assert "su_no_such_user" in err


@pytest.mark.parametrize("name", ["-o", "a:b", "Root", "x%0Aroot", "..x", "a" * 40, "%2Fetc"])
def test_delete_bad_name_400(panel, admin_token, name):
    r = panel.request("DELETE", "/users/" + name, token=admin_token)
    # "%2F" may be refused by the router (404) before reaching the handler
    assert r.status_code in ((400, 404) if "%2F" in name else (400,)), (name, r.text)
    assert set(r.json()) == {"error"}


def test_refusals_audited_without_side_effects(panel, admin_token):
    before = host_regular_users()
    assert_error(panel.request("DELETE", "/users/daemon", token=admin_token), 403)
    assert_error(panel.request("POST", "/users", token=admin_token,
                               json={"username": "-o", "password": "x"}), 400)
    assert host_regular_users() == before
    rows = panel.query("SELECT username, action, detail FROM audit_log "
                       "WHERE action IN ('DELETE /users/daemon', 'POST /users') "
                       "ORDER BY id DESC LIMIT 2")
    assert ("admin", "DELETE /users/daemon", "status=403") in rows, rows
    assert ("admin", "POST /users", "status=400") in rows, rows


def test_shells_list(panel, admin_token):
    want = []
    with open("/etc/shells") as f:
        for line in f:
            line = line.strip()
            if line.startswith("/") and line not in want:
                want.append(line)
    r = panel.request("GET", "/api/users/shells", token=admin_token)
    assert r.status_code == 200, r.text
    assert r.json() == want
    assert_error(panel.request("GET", "/api/users/shells"), 401)
