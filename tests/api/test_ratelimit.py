"""Login rate limit: 5 POST /login per client address per minute, the 6th gets
429 with Retry-After (seed: Login; CONTRACT.md §3)."""


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
    rows = p.query("SELECT username, ip, action FROM audit_log WHERE action LIKE '%rate%'")
    assert rows and rows[0][1] == "127.0.0.1", rows


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
