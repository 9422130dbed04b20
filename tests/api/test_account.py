"""Issue 15, CONTRACT.md §9: GET /api/account, PUT /api/account/password,
own sessions, TOTP 2FA and the login with it, API tokens, GET /api/audit,
and the list parameters of the seed lists."""
import base64
import hashlib
import hmac
import re
import struct
import time

import pytest

PANEL_MANY_LOGINS = True
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def totp(secret_b32, t=None, step_offset=0):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((t or time.time()) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    v = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000
    return f"{v:06d}"


def err(r, status, contains=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    if contains:
        assert contains in body["error"], body
    return body


def new_user(panel, admin, name, role="viewer", pw="a-long-password-1"):
    panel.create_user(admin, name, pw, role)
    return panel.login(name, pw)


def test_account_shape_every_role(panel, admin_token):
    r = panel.request("GET", "/api/account", token=admin_token)
    assert r.status_code == 200, r.text
    a = r.json()
    assert {"id", "username", "role", "totp_enabled", "created_at"} <= set(a)
    assert a["username"] == "admin" and a["role"] == "admin" and a["totp_enabled"] is False
    assert RFC3339.match(a["created_at"])
    v = new_user(panel, admin_token, "acc_viewer")
    r = panel.request("GET", "/api/account", token=v)
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    err(panel.request("GET", "/api/account"), 401)


def test_password_change_rules_and_sessions_end(panel, admin_token):
    pw = "first-password-xyz"
    v = new_user(panel, admin_token, "pw_viewer", pw=pw)
    other = panel.login("pw_viewer", pw)
    # a viewer may change their own password; wrong current -> 403
    err(panel.request("PUT", "/api/account/password", token=v,
                      json={"current_password": "nope-nope-nope", "new_password": "x" * 14}),
        403, "current_password")
    err(panel.request("PUT", "/api/account/password", token=v,
                      json={"current_password": pw, "new_password": "short"}), 400,
        "12 characters")
    err(panel.request("PUT", "/api/account/password", token=v,
                      json={"current_password": pw, "new_password": "PW_VIEWER"}), 400)
    # not the username, even when long enough
    panel.create_user(admin_token, "longusername_abc", "a-long-password-1", "viewer")
    t = panel.login("longusername_abc", "a-long-password-1")
    err(panel.request("PUT", "/api/account/password", token=t,
                      json={"current_password": "a-long-password-1",
                            "new_password": "longusername_abc"}), 400, "username")
    err(panel.request("PUT", "/api/account/password", token=v, json={"new_password": "x" * 14}),
        400, "current_password")
    new = "second-password-xyz"
    r = panel.request("PUT", "/api/account/password", token=v,
                      json={"current_password": pw, "new_password": new})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "updated"
    # the caller (Bearer) gets a fresh token; the other session has ended
    fresh = r.json()["token"]
    assert panel.request("GET", "/api/account", token=fresh).status_code == 200
    err(panel.request("GET", "/api/account", token=other), 401)
    err(panel.request("GET", "/api/account", token=v), 401)
    panel.login("pw_viewer", new)
    # the seed route for another user's password keeps working for admins
    uid = next(u["id"] for u in panel.request("GET", "/panel/users", token=admin_token).json()
               if u["username"] == "pw_viewer")
    r = panel.request("PUT", f"/panel/users/{uid}", token=admin_token, json={"password": "abc"})
    assert r.status_code == 200, r.text
    panel.login("pw_viewer", "abc")


def test_cookie_password_change_keeps_this_session(panel, admin_token):
    import requests
    pw = "cookie-password-1"
    panel.create_user(admin_token, "cookie_user", pw, "viewer")
    s = requests.Session()
    origin = {"Origin": panel.url}
    r = s.post(panel.url + "/login", json={"username": "cookie_user", "password": pw},
               headers={"X-Forwarded-For": "10.200.0.1", **origin}, verify=False)
    assert r.status_code == 200

    def csrf():
        return s.cookies.get("__Host-setec_csrf") or s.cookies.get("setec_csrf") or ""

    r = s.put(panel.url + "/api/account/password",
              json={"current_password": pw, "new_password": "cookie-password-2"},
              headers={"X-CSRF-Token": csrf(), **origin}, verify=False)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "updated"}
    assert s.get(panel.url + "/api/account", verify=False).status_code == 200
    # the CSRF token follows the new session: the next change works too
    r = s.put(panel.url + "/api/account/password",
              json={"current_password": "cookie-password-2", "new_password": "cookie-password-3"},
              headers={"X-CSRF-Token": csrf(), **origin}, verify=False)
    assert r.status_code == 200, r.text


def test_sessions_list_and_delete(panel, admin_token):
    pw = "sessions-password-1"
    panel.create_user(admin_token, "sess_user", pw, "viewer")
    a = panel.request("POST", "/login", json={"username": "sess_user", "password": pw},
                      headers={"User-Agent": "agent-A", "X-Forwarded-For": "10.9.9.1"}).json()["token"]
    b = panel.request("POST", "/login", json={"username": "sess_user", "password": pw},
                      headers={"User-Agent": "agent-B", "X-Forwarded-For": "10.9.9.2"}).json()["token"]
    r = panel.request("GET", "/api/account/sessions", token=a)
    assert r.status_code == 200, r.text
    lst = r.json()
    assert len(lst) == 2
    for s in lst:
        assert set(s) == {"id", "client_ip", "user_agent", "created_at", "last_seen_at", "current"}
        assert RFC3339.match(s["created_at"]) and RFC3339.match(s["last_seen_at"])
    cur = [s for s in lst if s["current"]]
    assert len(cur) == 1 and cur[0]["user_agent"] == "agent-A" and cur[0]["client_ip"] == "10.9.9.1"
    other = next(s for s in lst if not s["current"])
    # someone else's session is not yours to end
    err(panel.request("DELETE", f"/api/account/sessions/{other['id']}", token=admin_token), 404)
    r = panel.request("DELETE", f"/api/account/sessions/{other['id']}", token=a)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    err(panel.request("GET", "/api/account", token=b), 401)
    assert [s["current"] for s in panel.request("GET", "/api/account/sessions", token=a).json()] == [True]
    err(panel.request("DELETE", "/api/account/sessions/abc", token=a), 400)
    # "log out the others"
    c = panel.login("sess_user", pw)
    r = panel.request("DELETE", "/api/account/sessions", token=a)
    assert r.status_code == 200 and r.json()["ended"] == 1
    err(panel.request("GET", "/api/account", token=c), 401)
    assert panel.request("GET", "/api/account", token=a).status_code == 200


def test_totp_enrolment_login_and_disable(panel, admin_token):
    pw = "totp-password-123"
    tok = new_user(panel, admin_token, "otp_user", role="viewer", pw=pw)
    err(panel.request("POST", "/api/account/2fa/enable", token=tok, json={"code": "123456"}), 409)
    r = panel.request("POST", "/api/account/2fa/setup", token=tok)
    assert r.status_code == 200, r.text
    s = r.json()
    assert set(s) == {"secret", "otpauth_uri", "qr_svg"}
    assert re.fullmatch(r"[A-Z2-7]{32}", s["secret"])
    assert s["otpauth_uri"].startswith("otpauth://totp/") and f"secret={s['secret']}" in s["otpauth_uri"]
    assert s["qr_svg"].startswith("<svg") and "<path" in s["qr_svg"]
    # not active yet: the login still needs no code
    panel.login("otp_user", pw)
    err(panel.request("POST", "/api/account/2fa/enable", token=tok, json={"code": "000000"
        if totp(s["secret"]) != "000000" else "111111"}), 400, "code")
    err(panel.request("POST", "/api/account/2fa/enable", token=tok, json={}), 400, "code")
    code = totp(s["secret"])
    r = panel.request("POST", "/api/account/2fa/enable", token=tok, json={"code": code})
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert panel.request("GET", "/api/account", token=tok).json()["totp_enabled"] is True
    # stored hashed, never in clear
    rows = panel.query("SELECT code_hash FROM totp_recovery")
    assert len(rows) >= 10 and all(codes[0] not in h for (h,) in rows)
    err(panel.request("POST", "/api/account/2fa/setup", token=tok), 409)

    r = panel.request("POST", "/login", json={"username": "otp_user", "password": pw})
    assert r.status_code == 401
    assert r.json() == {"error": "one-time code required", "otp_required": True}
    # enabling used up its code: the same code never logs in
    r = panel.request("POST", "/login", json={"username": "otp_user", "password": pw, "otp": code})
    assert r.status_code == 401 and r.json()["otp_required"] is True
    # the next step's code (±1 step) works once
    nxt = totp(s["secret"], step_offset=1)
    r = panel.request("POST", "/login", json={"username": "otp_user", "password": pw, "otp": nxt})
    assert r.status_code == 200, r.text
    r = panel.request("POST", "/login", json={"username": "otp_user", "password": pw, "otp": nxt})
    assert r.status_code == 401
    # a wrong password with a good code is still refused without saying more
    r = panel.request("POST", "/login", json={"username": "otp_user", "password": "bad",
                                               "otp": totp(s["secret"])})
    err(r, 401, "invalid credentials")
    # recovery codes, each once
    r = panel.request("POST", "/login", json={"username": "otp_user", "password": pw,
                                               "recovery_code": codes[0].upper()})
    assert r.status_code == 200, r.text
    r = panel.request("POST", "/login", json={"username": "otp_user", "password": pw,
                                               "recovery_code": codes[0]})
    assert r.status_code == 401
    assert panel.request("GET", "/api/account", token=tok).json()["recovery_codes_left"] == 9
    # disable: password and a code
    err(panel.request("DELETE", "/api/account/2fa", token=tok,
                      json={"password": "wrong-wrong", "code": codes[1]}), 403)
    err(panel.request("DELETE", "/api/account/2fa", token=tok,
                      json={"password": pw, "code": "zzzzz-zzzzz"}), 400)
    r = panel.request("DELETE", "/api/account/2fa", token=tok, json={"password": pw, "code": codes[1]})
    assert r.status_code == 200 and r.json() == {"status": "disabled"}
    panel.login("otp_user", pw)
    # the seed's curl login of users without 2FA is unchanged
    panel.login()


def test_api_tokens(panel, admin_token):
    err(panel.request("POST", "/api/tokens", token=admin_token, json={"scope": "read"}), 400, "name")
    err(panel.request("POST", "/api/tokens", token=admin_token, json={"name": "x", "scope": "root"}),
        400, "scope")
    err(panel.request("POST", "/api/tokens", token=admin_token,
                      json={"name": "x", "scope": "read", "expires_in_days": 0}), 400, "expires_in_days")
    r = panel.request("POST", "/api/tokens", token=admin_token,
                      json={"name": "ci reader", "scope": "read", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    rd = r.json()
    assert set(rd) == {"id", "name", "scope", "expires_at", "token"}
    assert RFC3339.match(rd["expires_at"])
    r = panel.request("POST", "/api/tokens", token=admin_token,
                      json={"name": "deployer", "scope": "admin", "expires_in_days": 1})
    ad = r.json()
    # stored hashed
    assert not panel.query("SELECT 1 FROM api_tokens WHERE token_hash = ?", rd["token"])
    assert panel.query("SELECT 1 FROM api_tokens WHERE token_hash = ?",
                       hashlib.sha256(rd["token"].encode()).hexdigest())
    # listed without the token, never used yet
    lst = panel.request("GET", "/api/tokens", token=admin_token).json()
    mine = next(t for t in lst if t["id"] == rd["id"])
    assert "token" not in mine and mine["last_used_at"] is None and mine["scope"] == "read"
    assert rd["token"] not in panel.request("GET", "/api/tokens", token=admin_token).text
    # a read token may GET (admin routes too), never change anything
    assert panel.request("GET", "/sites", token=rd["token"]).status_code == 200
    assert panel.request("GET", "/api/audit", token=rd["token"]).status_code == 200
    err(panel.request("POST", "/panel/users", token=rd["token"],
                      json={"username": "zz", "password": "zz"}), 403, "read-only")
    # an admin token acts as its creator
    r = panel.request("POST", "/panel/users", token=ad["token"],
                      json={"username": "via_token", "password": "pw"})
    assert r.status_code == 201, r.text
    # not the account routes
    err(panel.request("GET", "/api/account", token=ad["token"]), 403)
    # last use recorded
    mine = next(t for t in panel.request("GET", "/api/tokens", token=admin_token).json()
                if t["id"] == rd["id"])
    assert RFC3339.match(mine["last_used_at"])
    # never from a cookie
    r = panel.request("GET", "/sites", headers={"Cookie": f"setec_token={rd['token']}"})
    assert r.status_code == 401
    # viewers cannot manage tokens
    v = new_user(panel, admin_token, "tok_viewer")
    err(panel.request("GET", "/api/tokens", token=v), 403)
    # revoked -> 401 and gone from the list
    r = panel.request("DELETE", f"/api/tokens/{rd['id']}", token=admin_token)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    err(panel.request("GET", "/sites", token=rd["token"]), 401)
    assert all(t["id"] != rd["id"] for t in panel.request("GET", "/api/tokens", token=admin_token).json())
    err(panel.request("DELETE", f"/api/tokens/{rd['id']}", token=admin_token), 404)
    # expired -> 401 (the panel reads the expiry from its database)
    assert panel.request("GET", "/sites", token=ad["token"]).status_code == 200
    con = __import__("sqlite3").connect(panel.data_dir + "/setec.db", timeout=10)
    con.execute("UPDATE api_tokens SET expires = 1 WHERE id = ?", (ad["id"],))
    con.commit()
    con.close()
    err(panel.request("GET", "/sites", token=ad["token"]), 401)
    # an unknown token of the right shape
    err(panel.request("GET", "/sites", token="setec_" + "0" * 64), 401)


def test_audit_list(panel, admin_token):
    for i in range(3):
        panel.create_user(admin_token, f"audit_u{i}", "pw", "viewer")
    r = panel.request("GET", "/api/audit", token=admin_token)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert int(r.headers["X-Total-Count"]) >= len(rows) > 0
    for row in rows:
        assert {"id", "user", "action", "target", "client_ip", "created_at"} <= set(row)
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids, reverse=True)
    posts = [row for row in rows if row["action"] == "POST /panel/users"]
    assert len(posts) >= 3 and all(p["target"] == "users" for p in posts)
    # filters
    r = panel.request("GET", "/api/audit?user=admin&action=POST%20/panel/users&per_page=2",
                      token=admin_token)
    assert r.status_code == 200 and len(r.json()) == 2
    total = int(r.headers["X-Total-Count"])
    assert total >= 3
    p2 = panel.request("GET", "/api/audit?user=admin&action=POST%20/panel/users&per_page=2&page=2",
                       token=admin_token).json()
    assert p2 and p2[0]["id"] < r.json()[-1]["id"]
    r = panel.request("GET", "/api/audit?since=2999-01-01T00:00:00Z", token=admin_token)
    assert r.json() == [] and r.headers["X-Total-Count"] == "0"
    r = panel.request("GET", "/api/audit?until=2000-01-01T00:00:00Z", token=admin_token)
    assert r.json() == []
    r = panel.request("GET", "/api/audit?sort=id&order=asc&per_page=5", token=admin_token)
    ids = [x["id"] for x in r.json()]
    assert ids == sorted(ids)
    err(panel.request("GET", "/api/audit?since=yesterday", token=admin_token), 400, "since")
    err(panel.request("GET", "/api/audit?sort=password", token=admin_token), 400, "sort")
    err(panel.request("GET", "/api/audit?per_page=201", token=admin_token), 400, "per_page")
    err(panel.request("GET", "/api/audit?per_page=0", token=admin_token), 400, "per_page")
    err(panel.request("GET", "/api/audit?order=up", token=admin_token), 400, "order")
    v = new_user(panel, admin_token, "audit_viewer")
    err(panel.request("GET", "/api/audit", token=v), 403)
    # logins appear with their user as target
    r = panel.request("GET", "/api/audit?action=login&user=audit_viewer", token=admin_token)
    assert any(x["target"] == "user:audit_viewer" for x in r.json())


def test_seed_lists_paged(panel, admin_token):
    for i in range(5):
        panel.create_user(admin_token, f"page_u{i}", "pw", "viewer")
    whole = panel.request("GET", "/panel/users", token=admin_token)
    assert "X-Total-Count" not in whole.headers
    names = [u["username"] for u in whole.json()]
    r = panel.request("GET", "/panel/users?q=page_u&sort=username&order=desc&per_page=2",
                      token=admin_token)
    assert r.status_code == 200, r.text
    assert r.headers["X-Total-Count"] == "5"
    assert [u["username"] for u in r.json()] == ["page_u4", "page_u3"]
    r = panel.request("GET", "/panel/users?q=PAGE_U&sort=username&per_page=2&page=3",
                      token=admin_token)
    assert [u["username"] for u in r.json()] == ["page_u4"]
    r = panel.request("GET", "/panel/users?page=99", token=admin_token)
    assert r.json() == [] and int(r.headers["X-Total-Count"]) == len(names)
    err(panel.request("GET", "/panel/users?sort=nope", token=admin_token), 400, "sort")
    err(panel.request("GET", "/panel/users?per_page=500", token=admin_token), 400, "per_page")
    for path in ("/sites", "/backups", "/api/ssl/status"):
        r = panel.request("GET", path + "?per_page=10", token=admin_token)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["X-Total-Count"] == str(len(r.json())), path
        assert "X-Total-Count" not in panel.request("GET", path, token=admin_token).headers
        err(panel.request("GET", path + "?per_page=0", token=admin_token), 400)


def test_page_redirect_keeps_next(panel):
    r = panel.request("GET", "/panel/users", headers={"Accept": "text/html"})
    assert r.status_code == 303
    assert r.headers["Location"] == "/login?next=/panel/users"


def test_wrong_one_time_codes_count_for_the_account_delay(panel, admin_token):
    pw = "delay-password-123"
    tok = new_user(panel, admin_token, "otp_delay", pw=pw)
    s = panel.request("POST", "/api/account/2fa/setup", token=tok).json()
    r = panel.request("POST", "/api/account/2fa/enable", token=tok, json={"code": totp(s["secret"])})
    assert r.status_code == 200, r.text
    good = {totp(s["secret"], step_offset=k) for k in (-1, 0, 1)}
    wrong = next(c for c in ("111111", "222222", "333333", "444444") if c not in good)
    statuses = [panel.request("POST", "/login", json={"username": "otp_delay", "password": pw,
                                                      "otp": wrong}).status_code
                for _ in range(7)]
    # five failures are free, then the account waits (429), never a lockout
    assert statuses[:5] == [401] * 5, statuses
    assert 429 in statuses[5:], statuses
