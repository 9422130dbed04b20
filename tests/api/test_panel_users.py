"""GET/POST /panel/users, PUT/DELETE /panel/users/{id} (seed: Panel Users)
and their audit rows."""
import re

import pytest

PANEL_MANY_LOGINS = True

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def assert_error(r, status, contains=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    if contains:
        assert contains in body["error"], body
    return body["error"]


def users(panel, token):
    r = panel.request("GET", "/panel/users", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def by_name(panel, token, name):
    return next((u for u in users(panel, token) if u["username"] == name), None)


def audit_rows(panel):
    return panel.query("SELECT id, username, ip, action, detail FROM audit_log ORDER BY id")


def walk_keys(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from walk_keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk_keys(v)


def test_list_shape(panel, admin_token):
    r = panel.request("GET", "/panel/users", token=admin_token)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    lst = r.json()
    assert isinstance(lst, list) and lst
    admin = next(u for u in lst if u["username"] == "admin")
    assert admin["id"] == 1 and admin["role"] == "admin"
    assert isinstance(admin["force_change"], bool)
    assert RFC3339.match(admin["created_at"]), admin
    assert admin["last_login"] is None or RFC3339.match(admin["last_login"])
    for u in lst:
        assert {"id", "username", "role"} <= set(u)
        assert isinstance(u["id"], int)
    keys = set(walk_keys(lst))
    assert not any("pass" in k.lower() or "hash" in k.lower() for k in keys), keys
    assert "$" not in r.text  # no crypt string anywhere


def test_list_sorted_by_username(panel, admin_token):
    for name in ("zeta", "_under", "mike", "alpha1", "alpha"):
        panel.create_user(admin_token, name, "pw-" + name, "viewer")
    names = [u["username"] for u in users(panel, admin_token)]
    assert names == sorted(names), names
    assert {"zeta", "_under", "mike", "alpha1", "alpha", "admin"} <= set(names)


def test_last_login_set_by_login(panel, admin_token):
    panel.create_user(admin_token, "lastlog", "pw-ll", "viewer")
    assert by_name(panel, admin_token, "lastlog")["last_login"] is None
    panel.login("lastlog", "pw-ll")
    assert RFC3339.match(by_name(panel, admin_token, "lastlog")["last_login"])


def test_create_201(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "operator", "password": "secure-password",
                            "role": "viewer"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "username"}
    assert body["username"] == "operator" and isinstance(body["id"], int) and body["id"] > 1
    u = by_name(panel, admin_token, "operator")
    assert u["id"] == body["id"] and u["role"] == "viewer"
    assert panel.login("operator", "secure-password")
    # stored hashed, never in clear
    (h,) = panel.query("SELECT password_hash FROM manager_users WHERE username = 'operator'")[0]
    assert h != "secure-password" and h.startswith("$")


def test_create_default_role_admin(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "defrole", "password": "pw"})
    assert r.status_code == 201
    assert by_name(panel, admin_token, "defrole")["role"] == "admin"


def test_create_ignores_unknown_fields(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "extrafield", "password": "pw", "role": "viewer",
                            "is_superuser": True, "id": 1})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != 1


def test_create_duplicate_409(panel, admin_token):
    panel.create_user(admin_token, "dupe", "pw", "viewer")
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "dupe", "password": "other", "role": "admin"})
    assert_error(r, 409)
    assert by_name(panel, admin_token, "dupe")["role"] == "viewer"
    assert panel.login("dupe", "pw")
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "admin", "password": "x"})
    assert_error(r, 409)


@pytest.mark.parametrize("name", ["-o", "a:b", "Admin", "a b", "x" * 40, "bob\n", "bob\nroot",
                                  "../etc", "1abc", "a.b", "é", "a;rm", " bob", "bob ",
                                  "x" * 33, "$(id)"])
def test_create_invalid_username_400(panel, admin_token, name):
    before = users(panel, admin_token)
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": name, "password": "pw"})
    err = assert_error(r, 400)
    assert "username" in err, err
    assert users(panel, admin_token) == before


def test_create_username_with_nul_400(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "root\x00x", "password": "pw"})
    assert_error(r, 400)
    assert not [u for u in users(panel, admin_token) if u["username"].startswith("root")]


def test_create_username_boundaries(panel, admin_token):
    ok = "a" + "b" * 31  # 32 chars
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": ok, "password": "pw", "role": "viewer"})
    assert r.status_code == 201, r.text
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "_x-9", "password": "pw", "role": "viewer"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("pw", ["new\nline", "cr\rhere", "x" * 1025])
def test_create_bad_password_400(panel, admin_token, pw):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "badpw", "password": pw})
    err = assert_error(r, 400)
    assert "password" in err
    assert by_name(panel, admin_token, "badpw") is None


def test_create_missing_fields_400(panel, admin_token):
    for body, field in (({"password": "pw"}, "username"), ({"username": "nopw"}, "password"),
                        ({"username": "", "password": "pw"}, "username"),
                        ({"username": "nopw", "password": ""}, "password"), ({}, None)):
        r = panel.request("POST", "/panel/users", token=admin_token, json=body)
        err = assert_error(r, 400)
        if field:
            assert field in err, err
    assert by_name(panel, admin_token, "nopw") is None


def test_create_wrong_types_and_bad_json_400(panel, admin_token):
    for body in ({"username": 5, "password": "pw"}, {"username": "wt", "password": 5},
                 {"username": "wt", "password": "pw", "role": 1}):
        assert_error(panel.request("POST", "/panel/users", token=admin_token, json=body), 400)
    for raw in ("{", "[1]", "null"):
        r = panel.request("POST", "/panel/users", token=admin_token, data=raw,
                          headers={"Content-Type": "application/json"})
        assert_error(r, 400)
    assert by_name(panel, admin_token, "wt") is None


@pytest.mark.parametrize("role", ["root", "Admin", "ADMIN", "superuser", "viewer "])
def test_create_unknown_role_400(panel, admin_token, role):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "badrole", "password": "pw", "role": role})
    err = assert_error(r, 400)
    assert "role" in err
    assert by_name(panel, admin_token, "badrole") is None


def test_update_role_only(panel, admin_token):
    uid = panel.create_user(admin_token, "upd_role", "pw-r", "viewer")
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"role": "admin"})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    assert by_name(panel, admin_token, "upd_role")["role"] == "admin"
    assert panel.login("upd_role", "pw-r")  # password untouched


def test_update_password_only(panel, admin_token):
    uid = panel.create_user(admin_token, "upd_pw", "pw-old", "viewer")
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"password": "pw-new"})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    assert by_name(panel, admin_token, "upd_pw")["role"] == "viewer"  # role untouched
    assert panel.login("upd_pw", "pw-new")
    r = panel.request("POST", "/login", json={"username": "upd_pw", "password": "pw-old"})
    assert r.status_code == 401


def test_update_both_and_empty(panel, admin_token):
    uid = panel.create_user(admin_token, "upd_both", "pw-1", "viewer")
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                      json={"password": "pw-2", "role": "admin"})
    assert r.status_code == 200
    assert by_name(panel, admin_token, "upd_both")["role"] == "admin"
    assert panel.login("upd_both", "pw-2")
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={})
    assert r.status_code == 200
    assert by_name(panel, admin_token, "upd_both")["role"] == "admin"


def test_update_validation(panel, admin_token):
    uid = panel.create_user(admin_token, "upd_val", "pw-v", "viewer")
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                               json={"role": "root"}), 400, "role")
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                               json={"password": "a\nb"}), 400, "password")
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                               json={"password": ""}), 400, "password")
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                               json={"username": "renamed"}), 400, "username")
    assert_error(panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                               data="{", headers={"Content-Type": "application/json"}), 400)
    u = by_name(panel, admin_token, "upd_val")
    assert u["role"] == "viewer"
    assert panel.login("upd_val", "pw-v")


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "1e3", "%20", "99999999999999999999"])
def test_update_delete_bad_id_400(panel, admin_token, bad):
    assert_error(panel.request("PUT", f"/panel/users/{bad}", token=admin_token,
                               json={"role": "viewer"}), 400, "id")
    assert_error(panel.request("DELETE", f"/panel/users/{bad}", token=admin_token), 400, "id")


def test_update_delete_unknown_404(panel, admin_token):
    assert_error(panel.request("PUT", "/panel/users/99999", token=admin_token,
                               json={"role": "admin"}), 404)
    assert_error(panel.request("PUT", "/panel/users/99999", token=admin_token,
                               json={"role": "viewer"}), 404)
    assert_error(panel.request("PUT", "/panel/users/99999", token=admin_token,
                               json={"password": "x"}), 404)
    assert_error(panel.request("DELETE", "/panel/users/99999", token=admin_token), 404)


def test_delete(panel, admin_token):
    uid = panel.create_user(admin_token, "del_me", "pw", "viewer")
    r = panel.request("DELETE", f"/panel/users/{uid}", token=admin_token)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    assert by_name(panel, admin_token, "del_me") is None
    assert_error(panel.request("DELETE", f"/panel/users/{uid}", token=admin_token), 404)
    r = panel.request("POST", "/login", json={"username": "del_me", "password": "pw"})
    assert r.status_code == 401


def test_form_create_redirects(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      data={"username": "formuser", "password": "p w&=", "role": "viewer"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/users"
    assert by_name(panel, admin_token, "formuser")["role"] == "viewer"
    assert panel.login("formuser", "p w&=")


def test_last_admin_guard(fresh_panel):
    p = fresh_panel()
    tok = p.login()
    assert_error(p.request("DELETE", "/panel/users/1", token=tok), 409)
    assert_error(p.request("PUT", "/panel/users/1", token=tok, json={"role": "viewer"}), 409)
    assert p.request("GET", "/api/auth/status", token=tok).json()["role"] == "admin"
    # a viewer does not count as an admin
    vid = p.create_user(tok, "viewer1", "pw", "viewer")
    assert_error(p.request("DELETE", "/panel/users/1", token=tok), 409)
    assert p.request("DELETE", f"/panel/users/{vid}", token=tok).status_code == 200

    # with a second admin, that one can be deleted ...
    sid = p.create_user(tok, "second", "pw2", "admin")
    r = p.request("DELETE", f"/panel/users/{sid}", token=tok)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    assert_error(p.request("DELETE", "/panel/users/1", token=tok), 409)

    # ... and the first one demoted
    tid = p.create_user(tok, "third", "pw3", "admin")
    r = p.request("PUT", "/panel/users/1", token=tok, json={"role": "viewer"})
    assert r.status_code == 200, r.text
    t3 = p.login("third", "pw3")
    # now "third" is the last admin
    assert_error(p.request("DELETE", f"/panel/users/{tid}", token=t3), 409)
    assert_error(p.request("PUT", f"/panel/users/{tid}", token=t3, json={"role": "viewer"}), 409)
    # promoting again and deleting the former last admin works
    assert p.request("PUT", "/panel/users/1", token=t3, json={"role": "admin"}).status_code == 200
    assert p.request("DELETE", f"/panel/users/{tid}", token=tok).status_code == 200
    names = [u["username"] for u in p.request("GET", "/panel/users", token=tok).json()]
    assert names == ["admin"]


def test_mutations_are_audited(panel, admin_token):
    def last_rows(n_before):
        rows = audit_rows(panel)
        return rows[n_before:]

    n = len(audit_rows(panel))
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "audited", "password": "pw-secret-42", "role": "viewer"})
    assert r.status_code == 201
    uid = r.json()["id"]
    new = last_rows(n)
    assert len(new) == 1, new
    assert new[0][1:4] == ("admin", "127.0.0.1", "POST /panel/users"), new

    n = len(audit_rows(panel))
    assert panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                         json={"role": "admin"}).status_code == 200
    new = last_rows(n)
    assert len(new) == 1 and new[0][1:4] == ("admin", "127.0.0.1", f"PUT /panel/users/{uid}"), new

    n = len(audit_rows(panel))
    assert panel.request("PUT", f"/panel/users/{uid}", token=admin_token,
                         json={"password": "pw-secret-43"}).status_code == 200
    new = last_rows(n)
    assert len(new) == 1 and new[0][3] == f"PUT /panel/users/{uid}", new

    n = len(audit_rows(panel))
    assert panel.request("DELETE", f"/panel/users/{uid}", token=admin_token).status_code == 200
    new = last_rows(n)
    assert len(new) == 1
    assert new[0][1:4] == ("admin", "127.0.0.1", f"DELETE /panel/users/{uid}"), new

    # refused mutations by an authenticated user are recorded too
    n = len(audit_rows(panel))
    assert panel.request("DELETE", "/panel/users/99999", token=admin_token).status_code == 404
    new = last_rows(n)
    assert len(new) == 1 and new[0][3] == "DELETE /panel/users/99999", new
    assert "404" in (new[0][4] or "")

    # GETs and anonymous requests are not
    n = len(audit_rows(panel))
    panel.request("GET", "/panel/users", token=admin_token)
    panel.request("POST", "/panel/users", json={"username": "anon", "password": "x"})
    assert len(audit_rows(panel)) == n

    # no password ever reaches the audit log
    for row in audit_rows(panel):
        assert "pw-secret" not in " ".join(str(c) for c in row), row
