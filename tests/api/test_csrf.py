"""CSRF (CONTRACT.md §3, issue 11): cookie-authenticated state changes need
X-CSRF-Token equal to the session's token (an HMAC of its token id, handed out
in the __Host-setec_csrf cookie) and a same-origin Origin (or
Sec-Fetch-Site: same-origin); Bearer requests need neither."""
import re

import requests

from conftest import cookie_attrs, set_cookies

PANEL_MANY_LOGINS = True
CSRF = "__Host-setec_csrf"


def origin(panel):
    return {"Origin": f"https://127.0.0.1:{panel.port}"}


def csrf_of(panel, token):
    """The session's CSRF token, as an authenticated GET hands it out."""
    r = panel.request("GET", "/api/auth/status", headers={"Cookie": f"setec_token={token}"})
    assert r.status_code == 200
    val, _ = cookie_attrs(set_cookies(r)[CSRF])
    return val


def cookie_hdr(token, csrf=None, name=CSRF):
    c = f"setec_token={token}"
    if csrf is not None:
        c += f"; {name}={csrf}"
    return {"Cookie": c}


def h(panel, token, csrf, send=None, **extra):
    """Cookie session + X-CSRF-Token + same-origin Origin."""
    out = dict(cookie_hdr(token, csrf), **origin(panel))
    out["X-CSRF-Token"] = csrf if send is None else send
    out.update(extra)
    return out


def assert_403(r):
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"error"}


def user_exists(panel, token, name):
    r = panel.request("GET", "/panel/users", token=token)
    return any(u["username"] == name for u in r.json())


def test_login_sets_host_prefixed_csrf_cookie(panel):
    r = panel.request("POST", "/login", json={"username": "admin", "password": panel.password})
    assert r.status_code == 200
    cookies = set_cookies(r)
    val, attrs = cookie_attrs(cookies[CSRF])
    assert re.fullmatch(r"[0-9a-f]{64}", val), val
    assert "httponly" not in attrs  # the page's JS reads it
    assert attrs.get("samesite") == "Strict"
    assert attrs.get("secure") is True
    assert attrs.get("path") == "/"
    assert "domain" not in attrs  # __Host- forbids it
    assert "setec_csrf" not in cookies
    # bound to the session: the same value from a GET of that session,
    # another value for another session
    tok = r.json()["token"]
    assert csrf_of(panel, tok) == val
    assert csrf_of(panel, panel.login()) != val


def test_anonymous_get_sets_no_csrf_cookie(panel):
    r = panel.request("GET", "/login", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert CSRF not in set_cookies(r) and "setec_csrf" not in set_cookies(r)
    r = panel.request("GET", "/api/auth/status")
    assert r.status_code == 401 and CSRF not in set_cookies(r)


def test_get_keeps_right_cookie_and_replaces_a_wrong_one(panel, admin_token):
    csrf = csrf_of(panel, admin_token)
    r = panel.request("GET", "/api/auth/status", headers=cookie_hdr(admin_token, csrf))
    assert r.status_code == 200 and CSRF not in set_cookies(r)
    r = panel.request("GET", "/api/auth/status", headers=cookie_hdr(admin_token, "f" * 64))
    assert r.status_code == 200
    assert cookie_attrs(set_cookies(r)[CSRF])[0] == csrf
    # Bearer clients never get one
    r = panel.request("GET", "/api/auth/status", token=admin_token)
    assert CSRF not in set_cookies(r)


def test_post_does_not_set_csrf_cookie(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "csrf_nocookie", "password": "pw"})
    assert r.status_code == 201
    assert CSRF not in set_cookies(r)


def test_cookie_post_without_header_403(panel, admin_token):
    csrf = csrf_of(panel, admin_token)
    body = {"username": "csrf_a", "password": "pw"}
    # neither cookie nor header
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token), **origin(panel)), json=body)
    assert_403(r)
    # cookie only
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token, csrf), **origin(panel)), json=body)
    assert_403(r)
    assert not user_exists(panel, admin_token, "csrf_a")


def test_header_alone_is_enough_cookie_is_only_transport(panel, admin_token):
    """The server checks the header against the session, not against the
    cookie: the cookie is only how the page's JS learns the value."""
    csrf = csrf_of(panel, admin_token)
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token), **origin(panel),
                                   **{"X-CSRF-Token": csrf}),
                      json={"username": "csrf_hdr", "password": "pw", "role": "viewer"})
    assert r.status_code == 201, r.text


def test_cookie_post_with_wrong_token_403(panel, admin_token):
    csrf = csrf_of(panel, admin_token)
    other = csrf_of(panel, panel.login())
    for wrong in (other, csrf[:-1], csrf + "0", csrf.upper(), "x", "f" * 64):
        r = panel.request("POST", "/panel/users", headers=h(panel, admin_token, csrf, wrong),
                          json={"username": "csrf_b", "password": "pw"})
        assert_403(r)
    assert not user_exists(panel, admin_token, "csrf_b")


def test_cookie_tossing_refused(panel, admin_token):
    """A sibling site plants a cookie of its choosing and sends the matching
    header: worthless, whatever the cookie's name, with or without a foreign
    Origin; and a plain cross-site form POST too."""
    planted = "a" * 64
    body = {"username": "csrf_toss", "password": "pw"}
    for name in (CSRF, "setec_csrf"):
        for extra in ({"Origin": "https://evil.example.com"}, origin(panel), {}):
            hdrs = dict(cookie_hdr(admin_token, planted, name), **extra)
            hdrs["X-CSRF-Token"] = planted
            assert_403(panel.request("POST", "/panel/users", headers=hdrs, json=body))
    # a form POST from a foreign page, even carrying the right token (it
    # cannot know it, but the Origin check stands on its own)
    csrf = csrf_of(panel, admin_token)
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token, csrf),
                                   Origin="https://site.example.com", Accept="text/html"),
                      data={"username": "csrf_toss", "password": "pw", "csrf_token": csrf})
    assert_403(r)
    r = panel.request("POST", "/panel/users",
                      headers=dict(cookie_hdr(admin_token, planted), Origin="null",
                                   Accept="text/html"),
                      data={"username": "csrf_toss", "password": "pw", "csrf_token": planted})
    assert_403(r)
    assert not user_exists(panel, admin_token, "csrf_toss")


def test_origin_required_for_cookie_sessions(panel, admin_token):
    csrf = csrf_of(panel, admin_token)
    body = {"username": "csrf_origin", "password": "pw", "role": "viewer"}
    base = dict(cookie_hdr(admin_token, csrf), **{"X-CSRF-Token": csrf})
    # no Origin and no Sec-Fetch-Site
    assert_403(panel.request("POST", "/panel/users", headers=base, json=body))
    # a foreign one, the wrong scheme, another port, a cross-site fetch
    for bad in ({"Origin": "https://evil.example"}, {"Origin": f"http://127.0.0.1:{panel.port}"},
                {"Origin": f"https://127.0.0.1:{panel.port + 1}"},
                {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"},
                {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"}):
        assert_403(panel.request("POST", "/panel/users", headers=dict(base, **bad), json=body))
    assert not user_exists(panel, admin_token, "csrf_origin")
    r = panel.request("POST", "/panel/users", headers=dict(base, **{"Sec-Fetch-Site": "same-origin"}),
                      json=body)
    assert r.status_code == 201, r.text


def test_cookie_mutations_with_matching_token_succeed(panel, admin_token):
    csrf = csrf_of(panel, admin_token)
    good = h(panel, admin_token, csrf)
    r = panel.request("POST", "/panel/users", headers=good,
                      json={"username": "csrf_ok", "password": "pw", "role": "viewer"})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]

    no_hdr = dict(cookie_hdr(admin_token, csrf), **origin(panel))
    r = panel.request("PUT", f"/panel/users/{uid}", headers=no_hdr, json={"role": "admin"})
    assert_403(r)
    r = panel.request("PUT", f"/panel/users/{uid}", headers=good, json={"role": "admin"})
    assert r.status_code == 200 and r.json() == {"status": "updated"}, r.text

    r = panel.request("DELETE", f"/panel/users/{uid}", headers=no_hdr)
    assert_403(r)
    assert user_exists(panel, admin_token, "csrf_ok")
    r = panel.request("DELETE", f"/panel/users/{uid}", headers=h(panel, admin_token, csrf, "0" * 64))
    assert_403(r)
    r = panel.request("DELETE", f"/panel/users/{uid}", headers=good)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}, r.text
    assert not user_exists(panel, admin_token, "csrf_ok")


def test_form_post_with_csrf_field(panel, admin_token):
    csrf = csrf_of(panel, admin_token)
    base = dict(cookie_hdr(admin_token, csrf), **origin(panel))
    r = panel.request("POST", "/panel/users", headers=base,
                      data={"username": "csrf_form", "password": "pw", "role": "viewer"})
    assert_403(r)
    r = panel.request("POST", "/panel/users", headers=dict(base, Accept="text/html"),
                      data={"username": "csrf_form", "password": "pw", "role": "viewer",
                            "csrf_token": "b" * 64})
    assert_403(r)
    r = panel.request("POST", "/panel/users", headers=dict(base, Accept="text/html"),
                      data={"username": "csrf_form", "password": "pw", "role": "viewer",
                            "csrf_token": csrf})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/users"
    assert user_exists(panel, admin_token, "csrf_form")


def test_bearer_needs_no_csrf_nor_origin(panel, admin_token):
    r = panel.request("POST", "/panel/users", token=admin_token,
                      json={"username": "csrf_bearer", "password": "pw"})
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    # a foreign Origin does not matter to a Bearer client (no ambient credential)
    r = panel.request("DELETE", f"/panel/users/{uid}", token=admin_token,
                      headers={"Origin": "https://elsewhere.example"})
    assert r.status_code == 200, r.text


def test_login_and_logout_need_no_csrf(panel):
    tok = panel.login()
    r = panel.request("POST", "/logout", headers=cookie_hdr(tok))
    assert r.status_code == 200
    _, attrs = cookie_attrs(set_cookies(r)[CSRF])
    assert attrs.get("max-age") == "0"
    assert panel.request("GET", "/api/auth/status", token=tok).status_code == 401


def test_browser_like_session(panel):
    """Cookie jar end to end: login sets the token and the CSRF cookie, the
    JS echoes it in X-CSRF-Token, the browser sends Origin."""
    s = requests.Session()
    url = panel.url
    r = s.post(url + "/login", json={"username": "admin", "password": panel.password},
               headers={"X-Forwarded-For": "10.252.0.1"}, verify=False)
    assert r.status_code == 200
    assert s.cookies.get("setec_token") == r.json()["token"]
    csrf = s.cookies.get(CSRF)
    assert csrf
    r = s.post(url + "/panel/users", json={"username": "csrf_sess", "password": "pw"},
               headers=origin(panel), verify=False)
    assert_403(r)
    r = s.post(url + "/panel/users", json={"username": "csrf_sess", "password": "pw"},
               headers=dict(origin(panel), **{"X-CSRF-Token": csrf}), verify=False)
    assert r.status_code == 201, r.text
