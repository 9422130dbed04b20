"""POST /login, POST /logout, GET /api/auth/status and token handling
(seed: Authentication; CONTRACT.md §3)."""
import json
import time

import requests

from conftest import b64url, b64url_decode, cookie_attrs, jwt_hs256, set_cookies

PANEL_MANY_LOGINS = True


def login_raw(panel, body, **kw):
    return panel.request("POST", "/login", json=body, **kw)


def assert_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def test_login_shape_and_cookie(panel):
    r = login_raw(panel, {"username": "admin", "password": panel.password})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"token", "username", "role"}
    assert body["username"] == "admin"
    assert body["role"] == "admin"
    parts = body["token"].split(".")
    assert len(parts) == 3 and all(parts)
    hdr = json.loads(b64url_decode(parts[0]))
    assert hdr["alg"] == "HS256"
    claims = json.loads(b64url_decode(parts[1]))
    assert claims["username"] == "admin" and claims["user_id"] == 1
    assert claims["exp"] - claims["iat"] == 86400

    cookies = set_cookies(r)
    assert "setec_token" in cookies, r.headers
    val, attrs = cookie_attrs(cookies["setec_token"])
    assert val == body["token"]
    assert attrs.get("httponly") is True
    assert attrs.get("secure") is True
    assert attrs.get("samesite") == "Strict"
    assert attrs.get("max-age") == "86400"
    assert attrs.get("path") == "/"


def test_wrong_password_and_unknown_user_same_message(panel):
    r1 = login_raw(panel, {"username": "admin", "password": "wrong-" + panel.password})
    e1 = assert_error(r1, 401)
    r2 = login_raw(panel, {"username": "nobody", "password": panel.password})
    e2 = assert_error(r2, 401)
    assert e1 == e2
    for r in (r1, r2):
        assert "setec_token" not in set_cookies(r)


def test_login_password_is_case_sensitive(panel):
    r = login_raw(panel, {"username": "admin", "password": panel.password.upper()})
    assert_error(r, 401)


def test_missing_fields_400(panel):
    for body in ({}, {"username": "admin"}, {"password": panel.password},
                 {"username": "", "password": panel.password}, {"username": "admin", "password": ""},
                 {"username": None, "password": None}):
        r = login_raw(panel, body)
        assert_error(r, 400)
        assert "setec_token" not in set_cookies(r)


def test_empty_body_400(panel):
    r = panel.request("POST", "/login", headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_malformed_json_400(panel):
    for raw in ('{"username": "admin", "password": ', "not json", "[]", '"admin"',
                '{"username": "admin", "username": "x", "password": "y"}'):
        r = panel.request("POST", "/login", data=raw,
                          headers={"Content-Type": "application/json"})
        assert_error(r, 400)


def test_wrong_types_400(panel):
    for body in ({"username": 1, "password": panel.password},
                 {"username": "admin", "password": ["x"]},
                 {"username": {"a": 1}, "password": True}):
        assert_error(login_raw(panel, body), 400)


def test_form_login_redirects_with_cookie(panel):
    r = panel.request("POST", "/login", data={"username": "admin", "password": panel.password},
                      headers={"Accept": "text/html"})
    assert r.headers["Content-Type"] != "application/json"
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/"
    val, attrs = cookie_attrs(set_cookies(r)["setec_token"])
    assert val.count(".") == 2
    assert attrs.get("httponly") is True and attrs.get("secure") is True
    assert attrs.get("samesite") == "Strict"
    # the cookie from the form login authenticates
    s = panel.request("GET", "/api/auth/status", headers={"Cookie": f"setec_token={val}"})
    assert s.status_code == 200 and s.json()["username"] == "admin"


def test_form_login_wrong_password_401(panel):
    r = panel.request("POST", "/login", data={"username": "admin", "password": "nope"})
    assert_error(r, 401)
    assert "setec_token" not in set_cookies(r)


def test_auth_status_bearer(panel, admin_token):
    r = panel.request("GET", "/api/auth/status", token=admin_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": 1, "username": "admin", "role": "admin"}


def test_auth_status_cookie(panel, admin_token):
    r = panel.request("GET", "/api/auth/status", headers={"Cookie": f"setec_token={admin_token}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": 1, "username": "admin", "role": "admin"}


def test_auth_status_without_credentials_401(panel):
    r = panel.request("GET", "/api/auth/status")
    assert_error(r, 401)


def test_logout_bearer_revokes_token(panel):
    tok = panel.login()
    assert panel.request("GET", "/api/auth/status", token=tok).status_code == 200
    r = panel.request("POST", "/logout", token=tok)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "logged out"}
    val, attrs = cookie_attrs(set_cookies(r)["setec_token"])
    assert val == ""
    assert attrs.get("max-age") == "0"
    assert attrs.get("path") == "/"
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)
    assert_error(panel.request("GET", "/api/auth/status",
                               headers={"Cookie": f"setec_token={tok}"}), 401)
    # other sessions of the same user are not affected
    other = panel.login()
    assert panel.request("GET", "/api/auth/status", token=other).status_code == 200


def test_logout_cookie_revokes_token(panel):
    tok = panel.login()
    r = panel.request("POST", "/logout", headers={"Cookie": f"setec_token={tok}"})
    assert r.status_code == 200 and r.json() == {"status": "logged out"}
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)


def test_logout_without_credentials_clears_cookie(panel):
    r = panel.request("POST", "/logout")
    assert r.status_code == 200
    assert r.json() == {"status": "logged out"}
    val, attrs = cookie_attrs(set_cookies(r)["setec_token"])
    assert val == "" and attrs.get("max-age") == "0"


def test_foreign_origin_login_403(panel):
    r = login_raw(panel, {"username": "admin", "password": panel.password},
                  headers={"Origin": "https://evil.example"})
    assert_error(r, 403)
    assert "setec_token" not in set_cookies(r)
    # same scheme and host but another port is another origin too
    r = login_raw(panel, {"username": "admin", "password": panel.password},
                  headers={"Origin": f"https://127.0.0.1:{panel.port + 1}"})
    assert_error(r, 403)
    r = login_raw(panel, {"username": "admin", "password": panel.password},
                  headers={"Origin": f"http://127.0.0.1:{panel.port}"})
    assert_error(r, 403)


def test_own_origin_login_ok(panel):
    r = login_raw(panel, {"username": "admin", "password": panel.password},
                  headers={"Origin": f"https://127.0.0.1:{panel.port}"})
    assert r.status_code == 200, r.text


def test_tampered_tokens_401(panel, admin_token):
    h, p, s = admin_token.split(".")
    claims = json.loads(b64url_decode(p))
    other_sig = ("A" if s[0] != "A" else "B") + s[1:]
    forged_role = dict(claims, role="admin", user_id=1, username="admin", exp=claims["exp"] + 99)
    bad = [
        f"{h}.{p}.{other_sig}",                                   # signature changed
        f"{h}.{b64url(json.dumps(forged_role))}.{s}",             # payload changed
        f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}))}.{p}.",  # alg none
        f"{b64url(json.dumps({'alg': 'none'}))}.{p}.{s}",
        f"{b64url(json.dumps({'alg': 'HS512', 'typ': 'JWT'}))}.{p}.{s}",
        "abc.def.ghi",
        "garbage",
        admin_token + "x",
        admin_token[:-1],
        "",
        "eyJhbGciOiJIUzI1NiJ9.e30." + "A" * 43,
    ]
    for tok in bad:
        r = panel.request("GET", "/api/auth/status", headers={"Authorization": "Bearer " + tok})
        assert_error(r, 401)
        r = panel.request("GET", "/api/auth/status", headers={"Cookie": f"setec_token={tok}"})
        assert r.status_code == 401, (tok, r.text)


def test_token_signed_with_another_key_401(panel):
    now = int(time.time())
    tok = jwt_hs256(b"k" * 32, {"user_id": 1, "username": "admin", "role": "admin",
                                "iat": now, "exp": now + 3600, "jti": "ab" * 16})
    assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)


def test_expired_token_401(panel):
    key = panel.jwt_key()
    now = int(time.time())
    pwc = panel.query("SELECT pw_changed FROM manager_users WHERE id = 1")[0][0]
    claims = {"user_id": 1, "username": "admin", "role": "admin", "iat": now, "jti": "cd" * 16,
              "pwc": pwc}
    # control: the same forging with a valid exp is accepted, so the 401 below
    # is about expiry and not about the forging
    good = jwt_hs256(key, dict(claims, exp=now + 600))
    r = panel.request("GET", "/api/auth/status", token=good)
    assert r.status_code == 200, r.text
    expired = jwt_hs256(key, dict(claims, iat=now - 90000, exp=now - 3600))
    assert_error(panel.request("GET", "/api/auth/status", token=expired), 401)
    assert_error(panel.request("GET", "/api/auth/status",
                               headers={"Cookie": f"setec_token={expired}"}), 401)


def test_token_for_unknown_user_or_mismatched_name_401(panel):
    key = panel.jwt_key()
    now = int(time.time())
    pwc = panel.query("SELECT pw_changed FROM manager_users WHERE id = 1")[0][0]
    base = {"role": "admin", "iat": now, "exp": now + 600, "jti": "ef" * 16, "pwc": pwc}
    for claims in ({"user_id": 999, "username": "admin"},
                   {"user_id": 1, "username": "someoneelse"}):
        tok = jwt_hs256(key, dict(base, **claims))
        assert_error(panel.request("GET", "/api/auth/status", token=tok), 401)


def test_role_claim_is_not_trusted(panel, admin_token):
    """The role comes from the user row, not from the token."""
    key = panel.jwt_key()
    tid = panel.create_user(admin_token, "claimviewer", "pw-claimviewer", "viewer")
    now = int(time.time()) + 1
    pwc = panel.query("SELECT pw_changed FROM manager_users WHERE id = ?", tid)[0][0]
    tok = jwt_hs256(key, {"user_id": tid, "username": "claimviewer", "role": "admin",
                          "iat": now, "exp": now + 600, "jti": "12" * 16, "pwc": pwc})
    r = panel.request("GET", "/api/auth/status", token=tok)
    assert r.status_code == 200 and r.json()["role"] == "viewer", r.text
    r = panel.request("POST", "/panel/users", token=tok,
                      json={"username": "escalated", "password": "x"})
    assert_error(r, 403)


def test_seed_curl_examples(panel):
    """The seed's curl examples, as curl sends them: Accept */*, no cookies,
    no CSRF token, Bearer only. (verify=False per request: a Session's own
    verify is overridden by $REQUESTS_CA_BUNDLE.)"""
    base = panel.url
    s = requests.Session()
    s.headers.update({"X-Forwarded-For": "10.250.0.1"})  # own login budget
    r = s.post(base + "/login", headers={"Content-Type": "application/json"},
               data='{"username": "admin", "password": "%s"}' % panel.password,
               allow_redirects=False, verify=False)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    plain = requests.Session()  # no cookie jar contents: Bearer only
    auth = {"Authorization": f"Bearer {token}"}

    r = plain.get(base + "/api/auth/status", headers=auth, verify=False)
    assert r.status_code == 200 and r.json()["username"] == "admin"
    r = plain.get(base + "/api/system/info", headers=auth, verify=False)
    assert r.status_code == 200 and "hostname" in r.json()

    r = plain.post(base + "/panel/users", headers=dict(auth, **{"Content-Type": "application/json"}),
                   data='{"username": "operator", "password": "secure-password", "role": "admin"}',
                   verify=False)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert r.json() == {"id": uid, "username": "operator"}
    r = plain.put(base + f"/panel/users/{uid}", headers=dict(auth, **{"Content-Type": "application/json"}),
                  data='{"password": "new-password", "role": "admin"}', verify=False)
    assert r.status_code == 200 and r.json() == {"status": "updated"}, r.text
    r = plain.delete(base + f"/panel/users/{uid}", headers=auth, verify=False)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}, r.text

    r = plain.post(base + "/logout", headers=auth, verify=False)
    assert r.status_code == 200 and r.json() == {"status": "logged out"}
    assert plain.get(base + "/api/auth/status", headers=auth, verify=False).status_code == 401


def test_login_audited(panel):
    r = login_raw(panel, {"username": "admin", "password": "definitely-wrong"},
                  headers={"X-Forwarded-For": "10.251.0.9"})
    assert r.status_code == 401
    rows = panel.query("SELECT username, ip, action FROM audit_log WHERE ip = ?", "10.251.0.9")
    assert ("admin", "10.251.0.9", "login failed") in rows, rows
    r = login_raw(panel, {"username": "admin", "password": panel.password},
                  headers={"X-Forwarded-For": "10.251.0.10"})
    assert r.status_code == 200
    rows = panel.query("SELECT username, ip, action FROM audit_log WHERE ip = ?", "10.251.0.10")
    assert ("admin", "10.251.0.10", "login") in rows, rows
    # the password never lands in the audit log
    assert not panel.query("SELECT id FROM audit_log WHERE action LIKE ? OR detail LIKE ?",
                           f"%{panel.password}%", f"%{panel.password}%")
