"""Login rate limit: 5 POST /login per client address per minute, the 6th gets
429 with Retry-After (seed: Login; CONTRACT.md §3)."""


import math
import os
import re
import sqlite3
import time

import waiting

import requests


def wait_rows(p, sql, *args, timeout=10):
    return waiting.wait_for(lambda: p.query(sql, *args), timeout)


def login(p, password, xff=None, username="admin"):
    h = {"X-Forwarded-For": xff} if xff else {}
    return p.request("POST", "/login", json={"username": username, "password": password},
                     headers=h)


def assert_429(r):
    assert r.status_code == 429, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"error"} and r.json()["error"]
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit(), r.headers
    assert 1 <= int(ra) <= 60, ra
    assert "setec_token" not in r.headers.get("Set-Cookie", "")


def test_sixth_attempt_429_even_with_right_password(fresh_panel):
    p = fresh_panel()
    for _ in range(5):
        assert login(p, "wrong").status_code == 401
    assert_429(login(p, p.password))
    assert_429(login(p, "wrong"))
    # the limit is about POST /login only: API use goes on
    r = p.request("GET", "/api/auth/status")
    assert r.status_code == 401
    # counted, not a row each: a summary row shows them (within a second)
    rows = wait_rows(p, "SELECT username, ip, detail FROM audit_log"
                        " WHERE action = 'anonymous requests'")
    assert rows and rows[0][0] == "" and rows[0][1] == "127.0.0.1", rows
    assert "rate_limited=" in rows[0][2] and "rate_limited=0" not in rows[0][2], rows


def test_successful_logins_count(fresh_panel):
    p = fresh_panel()
    for _ in range(5):
        assert login(p, p.password).status_code == 200
    assert_429(login(p, p.password))


def test_malformed_attempts_count(fresh_panel):
    p = fresh_panel()
    for _ in range(3):
        assert p.request("POST", "/login", data="{",
                         headers={"Content-Type": "application/json"}).status_code == 400
    for _ in range(2):
        assert login(p, "", username="").status_code == 400
    assert_429(login(p, p.password))


def test_untrusted_xff_is_ignored(fresh_panel):
    p = fresh_panel()
    for i in range(5):
        assert login(p, "wrong", xff=f"198.51.100.{i + 1}").status_code == 401
    assert_429(login(p, p.password, xff="203.0.113.77"))
    assert_429(login(p, p.password))
    # the audit rows carry the socket address, not the claimed one
    ips = {row[0] for row in p.query("SELECT ip FROM audit_log")}
    assert ips == {"127.0.0.1"}, ips


def test_trusted_proxy_xff_is_the_key(fresh_panel):
    p = fresh_panel(extra={"server": {"trusted_proxies": ["127.0.0.1"]}})
    for _ in range(5):
        assert login(p, "wrong", xff="198.51.100.7").status_code == 401
    assert_429(login(p, p.password, xff="198.51.100.7"))
    # another client behind the same proxy has its own budget
    r = login(p, p.password, xff="198.51.100.8")
    assert r.status_code == 200, r.text
    # the rightmost untrusted hop is the client: a forged left part does not help
    assert_429(login(p, p.password, xff="10.9.9.9, 198.51.100.7"))
    # a chain through the trusted proxy itself resolves to the client
    assert_429(login(p, p.password, xff="198.51.100.7, 127.0.0.1"))
    # the proxy's own address (no XFF) is one more key of its own
    assert login(p, p.password).status_code == 200
    rows = p.query("SELECT ip, action FROM audit_log WHERE action = 'login'")
    assert ("198.51.100.8", "login") in rows, rows


def test_trusted_proxy_cidr(fresh_panel):
    p = fresh_panel(extra={"server": {"trusted_proxies": ["127.0.0.0/8"]}})
    for _ in range(5):
        assert login(p, "wrong", xff="192.0.2.1").status_code == 401
    assert_429(login(p, p.password, xff="192.0.2.1"))
    assert login(p, p.password, xff="192.0.2.2").status_code == 200


def test_other_proxy_not_trusted(fresh_panel):
    """Trusting some other address does not make 127.0.0.1 a proxy."""
    p = fresh_panel(extra={"server": {"trusted_proxies": ["192.0.2.10"]}})
    for i in range(5):
        assert login(p, "wrong", xff=f"198.51.100.{i + 1}").status_code == 401
    assert_429(login(p, p.password, xff="198.51.100.99"))


def test_per_account_delay(fresh_panel):
    """20 addresses do not give 20 free guesses at one account: after 5
    failures each further one makes the account wait 1, 2, 4 ... s (429 with
    Retry-After), whatever the address; once the delay has passed the right
    password works (no lockout of the admin)."""
    p = fresh_panel(many_logins=True)  # every login from an address of its own
    for _ in range(5):
        assert login(p, "wrong").status_code == 401
    assert login(p, "wrong").status_code == 401  # the 6th starts a delay
    r = login(p, p.password)
    assert_429(r)
    assert "account" in r.json()["error"]
    # other accounts are not concerned
    p.cli("admin", "add", "bob", "--password-stdin", input="bob-pw-123\n")
    assert login(p, "bob-pw-123", username="bob").status_code == 200
    # after the delay the right password works, and resets the count
    def logs_in():
        r = login(p, p.password)
        if r.status_code == 200:
            return r
        assert_429(r)
        return None
    r = waiting.wait_for(logs_in, 15, "the account's delay to pass", interval=0.2)
    assert r.status_code == 200, r.text

    # 20 quick guesses from 20 addresses: most are refused unjudged
    t0 = time.time()
    judged = refused = 0
    for _ in range(20):
        st = login(p, "wrong").status_code
        judged += st == 401
        refused += st == 429
    elapsed = time.time() - t0
    # the delays double: however slow the machine, in `elapsed` seconds at
    # most 5 free + 1 + log2(elapsed) + 1 guesses are judged
    assert judged <= 7 + math.ceil(math.log2(elapsed + 1)), (judged, elapsed)
    assert refused >= 20 - judged and refused > 0
    # the refused attempts are counted, not written row by row
    rows = wait_rows(p, "SELECT detail FROM audit_log WHERE action = 'anonymous requests'"
                        " AND detail NOT LIKE '%account_throttled=0'")
    assert rows, p.query("SELECT action, detail FROM audit_log")


def test_unknown_names_are_throttled_alike(fresh_panel):
    """A 429 must not tell which names exist: an unknown name is delayed the
    same way, and its failures are only counted (anyone could write them)."""
    p = fresh_panel(many_logins=True)
    for _ in range(6):
        assert login(p, "wrong", username="nosuchuser").status_code == 401
    assert_429(login(p, "wrong", username="nosuchuser"))
    assert not p.query("SELECT id FROM audit_log WHERE username = 'nosuchuser'")
    assert p.stop() == 0  # writes what is still counted
    assert summary_counts(p, "unknown_user") == 6, p.query("SELECT detail FROM audit_log")
    assert summary_counts(p, "account_throttled") == 1


def summary_counts(p, key):
    total = 0
    for (detail,) in p.query("SELECT detail FROM audit_log WHERE action = 'anonymous requests'"):
        m = re.search(key + r"=(\d+)", detail)
        total += int(m.group(1)) if m else 0
    return total


def test_anonymous_flood_does_not_grow_the_audit_log(fresh_panel):
    p = fresh_panel()
    before = p.query("SELECT COUNT(*) FROM audit_log")[0][0]
    with requests.Session() as s:
        for _ in range(500):
            r = s.post(p.url + "/logout", headers={"Accept": "application/json"}, verify=False,
                       timeout=10)
            assert r.status_code == 200
    # a logout with a valid token is still a row of its own
    tok = p.login()
    assert p.request("POST", "/logout", token=tok).status_code == 200
    rows = wait_rows(p, "SELECT username FROM audit_log WHERE action = 'POST /logout'")
    assert rows == [("admin",)], rows
    after = p.query("SELECT COUNT(*) FROM audit_log")[0][0]
    # the login, the logout and at most two summaries (one per minute)
    assert after - before <= 4, p.query("SELECT action, detail FROM audit_log")
    # stopping writes what was still counted: all 500 are accounted for
    assert p.stop() == 0
    assert summary_counts(p, "logout") == 500


def test_audit_retention(fresh_panel):
    p = fresh_panel(extra={"audit": {"max_age_days": 30}})
    assert p.stop() == 0
    con = sqlite3.connect(os.path.join(p.data_dir, "setec.db"))
    with con:
        con.execute("INSERT INTO audit_log (username, action, created_at) VALUES"
                    " ('old', 'x', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-31 days')),"
                    " ('new', 'y', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-29 days'))")
    con.close()
    p.start()
    waiting.wait_for(lambda: not p.query("SELECT id FROM audit_log WHERE username = 'old'"))
    assert not p.query("SELECT id FROM audit_log WHERE username = 'old'")
    assert p.query("SELECT action FROM audit_log WHERE username = 'new'") == [("y",)]
