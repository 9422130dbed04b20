"""HTTP behaviour: errors, limits, headers, static files, pages, keep-alive,
plain HTTP, access log (CONTRACT.md §3)."""
import re
import socket
import ssl
import time

import pytest
import requests

from conftest import cookie_attrs, set_cookies

SECURITY_HEADERS = {  # reference-behaviour §3.6, on every answer
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "x-xss-protection": "0",  # not "1; mode=block": the filter it enabled leaked page content
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def assert_security_headers(headers, tls=True):
    h = {k.lower(): v for k, v in headers.items()}
    for k, v in SECURITY_HEADERS.items():
        assert h.get(k) == v, (k, h)
    csp = h.get("content-security-policy", "")
    if h.get("content-type", "").startswith("text/html"):
        # a page may load the panel's own files, and nothing inline
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
        script_src = re.search(r"script-src([^;]*)", csp)
        assert not script_src or "unsafe-inline" not in script_src.group(1), csp
        assert h.get("cross-origin-opener-policy") == "same-origin", h
    else:
        # JSON, scripts, styles, images: nothing may load or run from them
        assert csp == "default-src 'none'; frame-ancestors 'none'", csp
    if tls:
        assert h.get("strict-transport-security", "").startswith("max-age="), h
        assert int(re.search(r"max-age=(\d+)", h["strict-transport-security"]).group(1)) > 0
    else:
        assert "strict-transport-security" not in h, h


def assert_json_error(r, status):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]


def test_unknown_path_404_json(panel, admin_token):
    for path in ("/nope", "/api/nope", "/panel/users/1/extra", "/api/system/info/", "//",
                 "/panel/users/"):
        r = panel.request("GET", path, token=admin_token)
        assert_json_error(r, 404)
        assert_security_headers(r.headers)
    # unauthenticated too: 404 does not depend on credentials
    assert_json_error(panel.request("GET", "/definitely/not/here"), 404)


def test_wrong_method_405_with_allow(panel, admin_token):
    r = panel.request("DELETE", "/api/system/info", token=admin_token)
    assert_json_error(r, 405)
    assert "GET" in [m.strip() for m in r.headers["Allow"].split(",")]
    assert_security_headers(r.headers)
    r = panel.request("PATCH", "/panel/users/1", token=admin_token, json={})
    assert_json_error(r, 405)
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"PUT", "DELETE"} <= allow, allow
    r = panel.request("PUT", "/login")
    assert_json_error(r, 405)
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allow, allow
    r = panel.request("GET", "/logout")
    assert_json_error(r, 405)
    assert "POST" in r.headers["Allow"]


def test_body_over_10mib_413(panel, admin_token):
    big = b"x" * (10 * 1024 * 1024 + 1)
    r = panel.request("POST", "/panel/users", token=admin_token, data=big,
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert_json_error(r, 413)
    assert_security_headers(r.headers)
    # without credentials it is refused all the same
    r = panel.request("POST", "/login", data=big, headers={"Content-Type": "application/json"},
                      timeout=60)
    assert r.status_code == 413, r.text


def test_chunked_body_over_10mib_413(panel, admin_token):
    def gen():
        chunk = b"y" * (1024 * 1024)
        for _ in range(11):
            yield chunk
    r = panel.request("POST", "/panel/users", token=admin_token, data=gen(),
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert_json_error(r, 413)


def test_body_of_exactly_10mib_is_not_413(panel, admin_token):
    body = b'{"username": "big", "password": "' + b"p" * (10 * 1024 * 1024 - 40)
    body += b" " * (10 * 1024 * 1024 - len(body) - 2) + b'"}'
    assert len(body) == 10 * 1024 * 1024
    r = panel.request("POST", "/panel/users", token=admin_token, data=body,
                      headers={"Content-Type": "application/json"}, timeout=60)
    # too long a password: a 400 about the field, not a 413 about the body
    assert_json_error(r, 400)
    assert "password" in r.json()["error"]


def test_security_headers_everywhere(panel, admin_token):
    for path, token in (("/api/system/info", admin_token), ("/api/auth/status", None),
                        ("/css/style.css", None), ("/js/app.js", None), ("/login", None),
                        ("/nope", None)):
        r = panel.request("GET", path, token=token, headers={"Accept": "*/*"})
        assert_security_headers(r.headers)
    r = panel.request("POST", "/panel/users", token=admin_token, json={})
    assert r.status_code == 400
    assert_security_headers(r.headers)


def test_api_responses_not_cached(panel, admin_token):
    r = panel.request("GET", "/api/system/info", token=admin_token)
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_static_assets(panel):
    r = panel.request("GET", "/css/style.css", headers={"Accept": "text/css"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/css")
    assert len(r.content) > 100
    r = panel.request("GET", "/js/app.js", headers={"Accept": "*/*"})
    assert r.status_code == 200
    assert "javascript" in r.headers["Content-Type"]
    assert len(r.content) > 100
    r = panel.request("GET", "/favicon.ico", headers={"Accept": "*/*"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/")


def test_no_directory_listing_or_traversal(panel):
    for path in ("/css/", "/js/", "/img/", "/css", "/js/nope.js", "/css/style.css/x"):
        r = panel.request("GET", path, headers={"Accept": "*/*"})
        assert_json_error(r, 404)
    # paths a client library would normalise go over a raw connection
    with panel.raw() as c:
        for path in ("/js/../login.html", "/js/%2e%2e/login.html", "/css/..%2flogin.html",
                     "/js/../../etc/passwd", "/login.html", "/app.html", "/js/./app.js"):
            status, headers, body = c.request("GET", path)
            assert status in (400, 404), (path, status)
            assert b"<html" not in body.lower() and b"root:" not in body
            assert headers["content-type"].startswith("application/json")


def test_dashboard_unauthenticated_html_redirects(panel):
    r = panel.request("GET", "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 303
    assert r.headers["Location"] == "/login"
    assert_security_headers(r.headers)


def test_dashboard_unauthenticated_json_401(panel):
    r = panel.request("GET", "/", headers={"Accept": "application/json"})
    assert_json_error(r, 401)
    assert "Location" not in r.headers


def test_login_page_html(panel):
    r = panel.request("GET", "/login", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"<form" in r.content.lower() or b"login" in r.content.lower()
    assert_security_headers(r.headers)


def test_dashboard_authenticated(panel, admin_token):
    r = panel.request("GET", "/", token=admin_token, headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    info = r.json()
    assert {"hostname", "os", "cpus", "services"} <= set(info)
    r = panel.request("GET", "/", headers={"Accept": "text/html",
                                           "Cookie": f"setec_token={admin_token}"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"<html" in r.content.lower()


def test_page_routes_html_and_json(panel, admin_token):
    r = panel.request("GET", "/panel/users", headers={"Accept": "text/html",
                                                      "Cookie": f"setec_token={admin_token}"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    r = panel.request("GET", "/panel/users", token=admin_token)
    assert r.status_code == 200 and isinstance(r.json(), list)


def test_head_of_get_route(panel, admin_token):
    r = panel.request("HEAD", "/api/system/info", token=admin_token)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.content == b""
    r = panel.request("HEAD", "/login", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.content == b""
    r = panel.request("HEAD", "/css/style.css")
    assert r.status_code == 200 and r.content == b""
    r = panel.request("HEAD", "/api/system/info")
    assert r.status_code == 401 and r.content == b""
    # HEAD then GET on one connection: the HEAD response has no body to skip
    with panel.raw() as c:
        auth = {"Authorization": f"Bearer {admin_token}"}
        st, h, body = c.request("HEAD", "/api/auth/status", auth)
        assert st == 200 and body == b""
        st, h, body = c.request("GET", "/api/auth/status", auth)
        assert st == 200 and b'"username":"admin"' in body


def test_keep_alive_raw_socket(panel, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    with panel.raw() as c:
        for path, hdrs, want in (("/api/auth/status", auth, 200), ("/nope", auth, 404),
                                 ("/api/auth/status", {}, 401), ("/api/system/info", auth, 200),
                                 ("/panel/users", auth, 200)):
            status, headers, body = c.request("GET", path, hdrs)
            assert status == want, (path, status, body)
            assert headers.get("connection", "").lower() != "close", headers
        # a POST with a body in the middle keeps the connection usable
        status, _, _ = c.request("POST", "/panel/users",
                                 dict(auth, **{"Content-Type": "application/json"}),
                                 b'{"username": "ka", "password": ""}')
        assert status == 400
        status, _, body = c.request("GET", "/api/auth/status", auth)
        assert status == 200 and b"admin" in body


def test_keep_alive_pipelined(panel, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    with panel.raw() as c:
        for _ in range(5):
            c.send("GET", "/api/auth/status", auth)
        for _ in range(5):
            status, _, body = c.read_response()
            assert status == 200 and b'"username":"admin"' in body


def test_request_header_limits(panel, admin_token):
    """Request headers up to 16 KiB, and a Cookie header of 8 KiB (nginx's
    default line limit: cookies of a site on the same host name reach the
    panel too), are served; a 40 KiB header block is refused with 431."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    with panel.raw() as c:
        cookie = "; ".join(f"site{i}=" + "c" * 1000 for i in range(8))  # ~8 KiB
        status, _, body = c.request("GET", "/api/auth/status", dict(auth, Cookie=cookie))
        assert status == 200 and b'"username":"admin"' in body
        pads = {f"X-Pad-{i}": "p" * 4000 for i in range(4)}  # 16 KiB
        status, _, body = c.request("GET", "/api/auth/status", dict(auth, **pads))
        assert status == 200 and b'"username":"admin"' in body
    with panel.raw() as c:
        status, headers, _ = c.request("GET", "/api/auth/status", dict(auth, X_Big="b" * 40000))
        assert status == 431
        assert headers.get("connection", "").lower() == "close"


def test_pipelined_records_in_one_segment(panel, admin_token):
    """Four requests as four TLS records sent in one write: the panel's
    transport reads them in one recv() (http/conn.c) and MHD, which wakes on
    socket edges, must still answer all four without more data arriving."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
    with socket.create_connection(("127.0.0.1", panel.port), timeout=10) as sock:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(out.read())
                inc.write(sock.recv(65536))
        sock.sendall(out.read())
        req = (f"GET /api/auth/status HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {admin_token}\r\n\r\n").encode()
        for _ in range(4):
            tls.write(req)  # one record each
        records = out.read()
        assert len(records) < 2048  # one read of the panel's transport
        sock.sendall(records)
        got = b""
        while got.count(b'"username":"admin"') < 4:
            try:
                got += tls.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            data = sock.recv(65536)  # a hang here times out the test
            assert data, got
            inc.write(data)
        assert got.count(b"HTTP/1.1 200 OK") == 4


def test_keep_alive_requests_session(panel, admin_token):
    s = requests.Session()
    for _ in range(5):
        r = s.get(panel.url + "/api/auth/status", verify=False,
                  headers={"Authorization": f"Bearer {admin_token}", "Accept": "application/json"})
        assert r.status_code == 200
    pool = s.get_adapter(panel.url).poolmanager.connection_from_url(panel.url)
    assert pool.num_connections == 1, pool.num_connections


def test_plain_http_panel(fresh_panel):
    p = fresh_panel(tls=False)
    assert p.url.startswith("http://")
    r = p.request("POST", "/login", json={"username": "admin", "password": p.password})
    assert r.status_code == 200
    val, attrs = cookie_attrs(set_cookies(r)["setec_token"])
    assert val == r.json()["token"]
    assert "secure" not in attrs
    assert attrs.get("httponly") is True and attrs.get("samesite") == "Strict"
    assert_security_headers(r.headers, tls=False)
    r = p.request("GET", "/api/auth/status", headers={"Cookie": f"setec_token={val}"})
    assert r.status_code == 200
    _, cattrs = cookie_attrs(set_cookies(r)["setec_csrf"])
    assert "secure" not in cattrs
    # Origin check uses the http scheme here
    r = p.request("POST", "/login", json={"username": "admin", "password": p.password},
                  headers={"Origin": f"http://127.0.0.1:{p.port}"})
    assert r.status_code == 200
    r = p.request("POST", "/login", json={"username": "admin", "password": p.password},
                  headers={"Origin": f"https://127.0.0.1:{p.port}"})
    assert r.status_code == 403
    with p.raw() as c:
        st, _, body = c.request("GET", "/api/auth/status", {"Authorization": f"Bearer {val}"})
        assert st == 200


def test_access_log(panel, admin_token):
    panel.request("GET", "/api/auth/status", token=admin_token)
    panel.request("GET", "/no/such/page/for/log")
    log = panel.wait_log(r'"GET /no/such/page/for/log" 404')
    assert log, panel.read_log()[-2000:]
    assert re.search(r'127\.0\.0\.1 "GET /api/auth/status" 200 .*user=admin', log), log[-2000:]
    # secrets never reach the log
    assert admin_token not in log
    assert panel.password not in log


ACCESS_LINE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ info: 127\.0\.0\.1 '
                         r'"GET /api/auth/status" 200 \d+ \d+\.\dms user=admin$')


def test_access_log_buffered_lines_complete_after_stop(fresh_panel):
    """The access log is buffered per thread (like nginx's buffer=): lines
    show up within a second, and a graceful stop writes every one, whole."""
    import requests
    p = fresh_panel()
    tok = p.login()
    p.request("GET", "/api/auth/status", token=tok)
    assert p.wait_log(r'"GET /api/auth/status" 200 '), p.read_log()[-2000:]
    n = 300
    with requests.Session() as s:
        for i in range(n):
            r = s.get(p.url + "/api/auth/status", verify=False, timeout=10,
                      headers={"Authorization": "Bearer " + tok})
            assert r.status_code == 200
    assert p.stop() == 0
    lines = [ln for ln in p.read_log().splitlines() if "/api/auth/status" in ln]
    bad = [ln for ln in lines if not ACCESS_LINE.match(ln)]
    assert not bad, bad[:5]
    assert len(lines) == n + 1, len(lines)
    # the lines come before the final "stopped"
    assert p.read_log().rstrip().endswith("info: stopped")


def test_log_has_only_panel_lines(panel, admin_token):
    """Everything the panel prints is its own: log lines, the CLI's "Setec
    Manager: ..." messages and the indented first-start banner; no library
    prints its own warnings there (MHD's go through the panel's logger)."""
    panel.request("GET", "/api/auth/status", token=admin_token)
    log = panel.read_log()
    own = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (debug|info|warn|error): |  \S|Setec Manager: ")
    stray = [line for line in log.splitlines() if line and not own.match(line)]
    assert not stray, stray[:10]


def test_connections_per_address_limited(fresh_panel):
    """128 open connections per client address (CONTRACT §3 limits); the
    connections are handed to libmicrohttpd by our acceptor thread, which must
    keep the limit: the 129th is closed at once, and a slot frees up when one
    of the others closes."""
    import socket
    import ssl
    panel = fresh_panel()
    auth = {"Authorization": f"Bearer {panel.login('admin', panel.password)}"}
    conns = [panel.raw() for _ in range(128)]
    try:
        status, _, _ = conns[-1].request("GET", "/api/auth/status", auth)
        assert status == 200
        sock = socket.create_connection(("127.0.0.1", panel.port), timeout=10)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                tls = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
                tls.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
                if not tls.recv(1):
                    raise ConnectionError("closed")
        finally:
            sock.close()
        conns.pop().close()
        status = None
        for _ in range(50):  # the server notices the close asynchronously
            try:
                with panel.raw() as c:
                    status, _, _ = c.request("GET", "/api/auth/status", auth)
                    break
            except (ssl.SSLError, ConnectionError, OSError):
                time.sleep(0.05)
        assert status == 200
    finally:
        for c in conns:
            c.close()


def test_answers_arrive_whatever_the_client_reads(panel, admin_token):
    """Small answers go out as one TLS record (corked while libmicrohttpd
    writes them): a client that pipelines many requests and reads nothing for
    a while, then everything, gets every answer whole and in order; so do
    HTTP/1.0 and "Connection: close" requests, which end with the server
    closing the connection."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    with panel.raw() as c:
        for i in range(300):
            c.send("GET", "/api/auth/status" if i % 3 else "/nope", auth)
        time.sleep(0.5)  # the answers pile up in the socket buffers
        for i in range(300):
            status, _, body = c.read_response()
            assert status == (200 if i % 3 else 404), (i, status, body)
            assert (b'"username":"admin"' if i % 3 else b'"error"') in body
        # a large answer (not corked) between small ones
        c.send("GET", "/js/app.js")
        c.send("GET", "/api/auth/status", auth)
        status, _, body = c.read_response()
        assert status == 200 and len(body) > 4096
        status, _, body = c.read_response()
        assert status == 200 and b'"username":"admin"' in body
    for first_line, extra in (("GET /api/auth/status HTTP/1.0", ""),
                              ("GET /api/auth/status HTTP/1.1", "Connection: close\r\n")):
        with panel.raw() as c:
            c.sock.sendall(f"{first_line}\r\nHost: x\r\nAuthorization: Bearer {admin_token}\r\n"
                           f"{extra}\r\n".encode())
            data = b""
            while True:
                chunk = c.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            assert head.split(b" ")[1] == b"200", head
            assert body == b'{"user_id":1,"username":"admin","role":"admin"}', data


def test_client_that_stops_reading_gets_every_answer_later(panel, admin_token):
    """The server's socket buffer fills up (small receive buffer, many
    pipelined requests, nothing read for a while): answers wait, none is
    lost or stuck, and the server stays responsive to other clients."""
    import socket
    import ssl
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", panel.port))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    tls = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    req = (f"GET /api/auth/status HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Bearer {admin_token}\r\n\r\n").encode()
    n = 2000
    tls.sendall(req * n)
    time.sleep(1)
    r = panel.request("GET", "/api/auth/status", token=admin_token)
    assert r.status_code == 200  # another client is served meanwhile
    data = b""
    want = b'{"user_id":1,"username":"admin","role":"admin"}'
    while data.count(want) < n:
        chunk = tls.recv(65536)
        assert chunk, f"connection closed after {data.count(want)} answers"
        data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == n
    tls.close()
