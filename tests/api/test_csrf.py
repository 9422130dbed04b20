"""CSRF: cookie-authenticated state changes need X-CSRF-Token equal to the
setec_csrf cookie (CONTRACT.md §3); Bearer requests need none."""
import re

import requests

from conftest import cookie_attrs, set_cookies

PANEL_MANY_LOGINS = True


def csrf_from_get(panel, headers=None):
    r = panel.request("GET", "/api/auth/status", headers=headers or {})
    val, _ = cookie_attrs(set_cookies(r)["setec_csrf"])
    return val


def cookie_hdr(token, csrf=None):
    c = f"setec_token={token}"
    if csrf is not None:
        c += f"; setec_csrf={csrf}"
    return {"Cookie": c}


def assert_403(r):
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"error"}


def user_exists(panel, token, name):
    r = panel.request("GET", "/panel/users", token=token)
    return any(u["username"] == name for u in r.json())


def test_get_sets_csrf_cookie_when_absent(panel):
    r = panel.request("GET", "/login", headers={"Accept": "text/html"})
    assert r.status_code == 200
    val, attrs = cookie_attrs(set_cookies(r)["setec_csrf"])
    assert re.fullmatch(r"[0-9a-f]{64}", val), val
    assert "httponly" not in attrs  # the page's JS reads it
    assert attrs.get("samesite") == "Strict"
    assert attrs.get("secure") is True
    assert attrs.get("path") == "/"
    # unauthenticated API GETs and 401s hand it out too
    r = panel.request("GET", "/api/auth/status")
    assert r.status_code == 401 and "setec_csrf" in set_cookies(r)
    # two clients get two different values
    assert csrf_from_get(panel) != csrf_from_get(panel)


def test_get_keeps_existing_csrf_cookie(panel, admin_token):
    r = panel.request("GET", "/api/auth/status",
                      headers=cookie_hdr(admin_token, "f" * 64))
    assert r.status_code == 200
    assert "setec_csrf" not in set_cookies(r)


def test_post_does_not_set_csrf_cookie(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "csrf_nocookie", "password": "pw"})
    assert r.status_code == 201
    assert "setec_csrf" not in set_cookies(r)


def test_cookie_post_without_header_403(panel, admin_token):
    csrf = csrf_from_get(panel)
    # neither cookie nor header
    r = panel.request("POST", "/panel/users", headers=cookie_hdr(admin_token),
                      json={"username": "csrf_a", "password": "pw"})
    assert_403(r)
    # cookie only
    r = panel.request("POST", "/panel/users", headers=cookie_hdr(admin_token, csrf),
                      json={"username": "csrf_a", "password": "pw"})
    assert_403(r)
    # header only
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token), **{"X-CSRF-Token": csrf}),
                      json={"username": "csrf_a", "password": "pw"})
    assert_403(r)
    assert not user_exists(panel, admin_token, "csrf_a")


def test_cookie_post_with_wrong_token_403(panel, admin_token):
    csrf = csrf_from_get(panel)
    other = csrf_from_get(panel)
    for wrong in (other, csrf[:-1], csrf + "0", csrf.upper(), "x"):
        r = panel.request("POST", "/panel/users",
                          headers=dict(cookie_hdr(admin_token, csrf), **{"X-CSRF-Token": wrong}),
                          json={"username": "csrf_b", "password": "pw"})
        assert_403(r)
    assert not user_exists(panel, admin_token, "csrf_b")


def test_short_csrf_cookie_refused(panel, admin_token):
    """A client-chosen short value (cookie and header equal) is not enough."""
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token, "abc"), **{"X-CSRF-Token": "abc"}),
                      json={"username": "csrf_short", "password": "pw"})
    assert_403(r)


def test_cookie_mutations_with_matching_token_succeed(panel, admin_token):
    csrf = csrf_from_get(panel)
    h = dict(cookie_hdr(admin_token, csrf), **{"X-CSRF-Token": csrf})
    r = panel.request("POST", "/panel/users", headers=h,
                      json={"username": "csrf_ok", "password": "pw", "role": "viewer"})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]

    r = panel.request("PUT", f"/panel/users/{uid}", headers=cookie_hdr(admin_token, csrf),
                      json={"role": "admin"})
    assert_403(r)
    r = panel.request("PUT", f"/panel/users/{uid}", headers=h, json={"role": "admin"})
    assert r.status_code == 200 and r.json() == {"status": "updated"}, r.text

    r = panel.request("DELETE", f"/panel/users/{uid}", headers=cookie_hdr(admin_token, csrf))
    assert_403(r)
    assert user_exists(panel, admin_token, "csrf_ok")
    r = panel.request("DELETE", f"/panel/users/{uid}",
                      headers=dict(cookie_hdr(admin_token, csrf), **{"X-CSRF-Token": "0" * 64}))
    assert_403(r)
    r = panel.request("DELETE", f"/panel/users/{uid}", headers=h)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}, r.text
    assert not user_exists(panel, admin_token, "csrf_ok")


def test_form_post_with_csrf_field(panel, admin_token):
    csrf = csrf_from_get(panel)
    r = panel.request("POST", "/panel/users", headers=cookie_hdr(admin_token, csrf),
                      data={"username": "csrf_form", "password": "pw", "role": "viewer"})
    assert_403(r)
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token, csrf), Accept="text/html"),
                      data={"username": "csrf_form", "password": "pw", "role": "viewer",
                            "csrf_token": csrf})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/users"
    assert user_exists(panel, admin_token, "csrf_form")


def test_bearer_needs_no_csrf(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "csrf_bearer", "password": "pw"})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = panel.request("DELETE", f"/panel/users/{uid}", token=admin_token)
    assert r.status_code == 200, r.text


def test_login_and_logout_need_no_csrf(panel):
    tok = panel.login()
    r = panel.request("POST", "/logout", headers=cookie_hdr(tok))
    assert r.status_code == 200
    assert panel.request("GET", "/api/auth/status", token=tok).status_code == 401


def test_browser_like_session(panel):
    """Cookie jar end to end: login sets the token, any GET the CSRF cookie,
    the JS echoes it in X-CSRF-Token."""
    s = requests.Session()
    url = panel.url
    r = s.post(url + "/login", json={"username": "admin", "password": panel.password},
               headers={"X-Forwarded-For": "10.252.0.1"}, verify=False)
    assert r.status_code == 200
    assert s.cookies.get("setec_token") == r.json()["token"]
    r = s.post(url + "/panel/users", json={"username": "csrf_sess", "password": "pw"},
               verify=False)
    assert_403(r)
    r = s.get(url + "/api/auth/status", verify=False)
    assert r.status_code == 200
    csrf = s.cookies.get("setec_csrf")
    assert csrf
    r = s.post(url + "/panel/users", json={"username": "csrf_sess", "password": "pw"},
               headers={"X-CSRF-Token": csrf}, verify=False)
    assert r.status_code == 201, r.text
