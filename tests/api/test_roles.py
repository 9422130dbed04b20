"""Roles: a viewer only reads; role changes, deletions and password changes
take effect on the next request with the same token (CONTRACT.md §3)."""
import time

import pytest

PANEL_MANY_LOGINS = True


def assert_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"error"} and r.json()["error"]


@pytest.fixture
def viewer(panel, admin_token, request):
    name = "v_" + request.node.name[5:25].replace("-", "_").lower()
    uid = panel.create_user(admin_token, name, "pw-" + name, "viewer")
    tok = panel.login(name, "pw-" + name)
    return uid, name, tok


def test_viewer_can_read(panel, viewer):
    uid, name, tok = viewer
    r = panel.request("GET", "/api/system/info", token=tok)
    assert r.status_code == 200 and "hostname" in r.json()
    r = panel.request("GET", "/panel/users", token=tok)
    assert r.status_code == 200
    assert any(u["username"] == name and u["role"] == "viewer" for u in r.json())
    for u in r.json():
        assert not any("pass" in k or "hash" in k for k in u), u
    r = panel.request("GET", "/api/auth/status", token=tok)
    assert r.status_code == 200
    assert r.json() == {"user_id": uid, "username": name, "role": "viewer"}
    r = panel.request("GET", "/", token=tok)
    assert r.status_code == 200 and "hostname" in r.json()
    r = panel.request("HEAD", "/api/system/info", token=tok)
    assert r.status_code == 200


def test_viewer_login_reports_role(panel, admin_token):
    panel.create_user(admin_token, "v_loginrole", "pw-x", "viewer")
    r = panel.request("POST", "/login", json={"username": "v_loginrole", "password": "pw-x"})
    assert r.status_code == 200
    assert r.json()["role"] == "viewer" and r.json()["username"] == "v_loginrole"


def test_viewer_cannot_write(panel, admin_token, viewer):
    uid, name, tok = viewer
    before = panel.request("GET", "/panel/users", token=admin_token).json()
    assert_error(panel.request("POST", "/panel/users", token=tok,
                               json={"username": "v_created", "password": "pw"}), 403)
    assert_error(panel.request("PUT", "/panel/users/1", token=tok, json={"role": "viewer"}), 403)
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=tok, json={"role": "admin"}),
                 403)
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=tok,
                               json={"password": "mine"}), 403)
    assert_error(panel.request("DELETE", "/panel/users/1", token=tok), 403)
    assert_error(panel.request("DELETE", f"/panel/users/{uid}", token=tok), 403)
    # with a bad id or an unknown one the answer is still 403, not 400/404
    assert_error(panel.request("PUT", "/panel/users/abc", token=tok, json={}), 403)
    assert_error(panel.request("DELETE", "/panel/users/99999", token=tok), 403)
    after = panel.request("GET", "/panel/users", token=admin_token).json()
    assert after == before
    # cookie + CSRF does not make a viewer an admin either
    csrf = "a" * 64
    r = panel.request("POST", "/panel/users",
                      headers={"Cookie": f"setec_token={tok}; setec_csrf={csrf}",
                               "X-CSRF-Token": csrf},
                      json={"username": "v_created2", "password": "pw"})
    assert_error(r, 403)


def test_viewer_can_log_out(panel, viewer):
    _, _, tok = viewer
    r = panel.request("POST", "/logout", token=tok)
    assert r.status_code == 200
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)


def test_role_change_takes_effect_at_once(panel, admin_token, viewer):
    uid, name, tok = viewer
    assert_error(panel.request("POST", "/panel/users", token=tok,
                               json={"username": "v_promo1", "password": "pw"}), 403)
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"role": "admin"})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    # same token, next request
    assert panel.request("GET", "/api/auth/status", token=tok).json()["role"] == "admin"
    r = panel.request("POST", "/panel/users", token=tok,
                      json={"username": "v_promo1", "password": "pw", "role": "viewer"})
    assert r.status_code == 201, r.text
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"role": "viewer"})
    assert r.status_code == 200
    assert panel.request("GET", "/api/auth/status", token=tok).json()["role"] == "viewer"
    assert_error(panel.request("POST", "/panel/users", token=tok,
                               json={"username": "v_promo2", "password": "pw"}), 403)


def test_admin_demoted_loses_rights_at_once(panel, admin_token):
    uid = panel.create_user(admin_token, "a_demoted", "pw-d", "admin")
    tok = panel.login("a_demoted", "pw-d")
    r = panel.request("POST", "/panel/users", token=tok,
                      json={"username": "a_demoted_made", "password": "pw", "role": "viewer"})
    assert r.status_code == 201
    assert panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                         json={"role": "viewer"}).status_code == 200
    assert_error(panel.request("DELETE", f"/panel/users/{r.json()['id']}", token=tok), 403)


def test_deleted_user_token_401_at_once(panel, admin_token, viewer):
    uid, name, tok = viewer
    assert panel.request("GET", "/api/auth/status", token=tok).status_code == 200
    r = panel.request("DELETE", f"/panel/users/{uid}", token=admin_token)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)
    assert_error(panel.request("GET", "/api/system/info", token=tok), 401)
    assert_error(panel.request("GET", "/api/auth/status",
                               headers={"Cookie": f"setec_token={tok}"}), 401)
    # and a new user with the same name does not inherit the old token
    panel.create_user(admin_token, name, "pw-new", "viewer")
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)


def _password_change_revokes(panel, admin_token, name, wait_new_second):
    uid = panel.create_user(admin_token, name, "old-pw", "viewer")
    if wait_new_second:
        # log in right at the start of a second, change the password at once:
        # both happen within the same second
        time.sleep(1 - (time.time() % 1) + 0.01)
    tok = panel.login(name, "old-pw")
    if not wait_new_second:
        time.sleep(1.05)  # the change is a clear second younger than the token
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"password": "new-pw"})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)
    r = panel.request("POST", "/login", json={"username": name, "password": "old-pw"})
    assert_error(r, 401)
    new = panel.login(name, "new-pw")
    assert panel.request("GET", "/api/auth/status", token=new).status_code == 200


def test_password_change_revokes_old_tokens(panel, admin_token):
    _password_change_revokes(panel, admin_token, "v_pwchange", wait_new_second=False)


def test_password_change_in_same_second_revokes_old_tokens(panel, admin_token):
    """A token issued in the same second as the password change is still
    older than the change and must stop working."""
    _password_change_revokes(panel, admin_token, "v_pwsame", wait_new_second=True)


def test_own_password_change_by_admin(panel, admin_token):
    uid = panel.create_user(admin_token, "a_selfpw", "pw-1", "admin")
    tok = panel.login("a_selfpw", "pw-1")
    r = panel.request("PUT", f"/panel/users/{uid}", token=tok, json={"password": "pw-2"})
    assert r.status_code == 200
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)
    assert panel.login("a_selfpw", "pw-2")


def test_role_only_change_keeps_tokens(panel, admin_token, viewer):
    uid, name, tok = viewer
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"role": "viewer"})
    assert r.status_code == 200
    assert panel.request("GET", "/api/auth/status", token=tok).status_code == 200


def test_change_by_another_process_takes_effect_at_once(panel, admin_token, viewer):
    """The panel keeps verified sessions between requests; a write to the
    database by any other process (here Python's sqlite3, as an operator's
    sqlite3 shell would) must still be seen on the very next request."""
    import os
    import sqlite3
    uid, name, tok = viewer
    for _ in range(3):  # repeated requests: the session is now kept
        assert panel.request("GET", "/api/auth/status", token=tok).json()["role"] == "viewer"
    db = sqlite3.connect(os.path.join(panel.data_dir, "setec.db"), timeout=10)
    try:
        with db:
            db.execute("UPDATE manager_users SET role = 'admin' WHERE id = ?", (uid,))
        assert panel.request("GET", "/api/auth/status", token=tok).json()["role"] == "admin"
        with db:
            db.execute("DELETE FROM manager_users WHERE id = ?", (uid,))
        assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)
    finally:
        db.close()
