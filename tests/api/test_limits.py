"""Pre-authentication limits (issue 11): a request with a body is decided
from its headers before the body is read, the bodies being read share a
memory cap, idle connections cannot exhaust the panel's descriptors, and
malformed chunking is a 400."""
import os
import resource
import socket
import ssl
import threading
import time

import waiting

import pytest

from conftest import Panel

MIB = 1024 * 1024


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def tls_sock(port, src=None, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


def head(port, method, path, headers):
    h = {"Host": f"127.0.0.1:{port}", "Accept": "application/json"}
    h.update(headers)
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
            + "\r\n").encode()


def read_status(sock):
    """The status code of the first answer on sock (None if it closed first)."""
    data = b""
    while b"\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except (ConnectionError, ssl.SSLError):
            return None
        if not chunk:
            return None
        data += chunk
    return int(data.split(b"\r\n", 1)[0].split()[1])


def test_unauthenticated_uploads_are_refused_before_the_body(fresh_panel):
    p = fresh_panel()
    pid = p.proc.pid
    base = vm(pid, "VmRSS")
    statuses = []
    lock = threading.Lock()

    def upload(i):
        s = tls_sock(p.port)
        try:
            hdrs = {"Content-Type": "application/json", "Content-Length": str(10 * MIB)}
            if i % 3 == 1:
                hdrs["Authorization"] = "Bearer not.a.token"
            if i % 3 == 2:
                hdrs["Cookie"] = "setec_token=not.a.token"
            s.sendall(head(p.port, "POST", "/sites", hdrs))
            # the answer comes without a byte of the body
            st = read_status(s)
            with lock:
                statuses.append(st)
            # and the body, sent anyway, is not kept
            block = b"x" * (256 * 1024)
            try:
                for _ in range(40):
                    s.sendall(block)
            except (ConnectionError, ssl.SSLError, OSError):
                pass
        finally:
            s.close()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [401] * 48, statuses
    peak = vm(pid, "VmHWM")
    assert peak - base < 64 * MIB, (base, peak)
    # the panel still answers
    tok = p.login()
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 200


def test_viewer_upload_refused_before_the_body(fresh_panel):
    p = fresh_panel()
    admin = p.login()
    p.create_user(admin, "lim_viewer", "pw-viewer-1", role="viewer")
    tok = p.login("lim_viewer", "pw-viewer-1")
    s = tls_sock(p.port)
    try:
        s.sendall(head(p.port, "POST", "/sites", {"Authorization": "Bearer " + tok,
                                                  "Content-Type": "application/json",
                                                  "Content-Length": str(5 * MIB)}))
        assert read_status(s) == 403
    finally:
        s.close()
    # an unknown route too
    s = tls_sock(p.port)
    try:
        s.sendall(head(p.port, "POST", "/no/such/route", {"Content-Length": str(5 * MIB)}))
        assert read_status(s) == 404
    finally:
        s.close()


def test_login_body_is_small(fresh_panel):
    p = fresh_panel()
    s = tls_sock(p.port)
    try:
        # answered once the body is read (and dropped): a client that sends
        # its whole body before reading sees the 413, not a reset
        s.sendall(head(p.port, "POST", "/login", {"Content-Type": "application/json",
                                                  "Content-Length": str(MIB)}) + b" " * MIB)
        assert read_status(s) == 413
    finally:
        s.close()


def test_bodies_share_a_memory_cap(fresh_panel):
    p = fresh_panel(extra={"server": {"max_body_memory_mb": 10}})
    tok = p.login()
    hdrs = {"Authorization": "Bearer " + tok, "Content-Type": "application/json",
            "Content-Length": str(6 * MIB)}
    a = tls_sock(p.port)
    try:
        a.sendall(head(p.port, "POST", "/panel/users", hdrs) + b"{" * 1024)
        # a holds 6 MiB of the 10: a second 6 MiB body is refused at once
        b = tls_sock(p.port)
        try:
            b.sendall(head(p.port, "POST", "/panel/users", hdrs))
            assert read_status(b) == 503
        finally:
            b.close()
        a.sendall(b" " * (6 * MIB - 1024))
        assert read_status(a) == 400  # not JSON; the point is it was read
    finally:
        a.close()
    # a's memory is given back: the same body is read now
    b = tls_sock(p.port)
    try:
        b.sendall(head(p.port, "POST", "/panel/users", hdrs) + b" " * (6 * MIB))
        assert read_status(b) == 400
    finally:
        b.close()


def test_idle_connections_do_not_lock_out(tmp_path):
    """1,100 idle connections against a panel started with a soft descriptor
    limit of 1024: it raises its own limit and still serves."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1400:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    p = Panel(tmp_path, wrap=["prlimit", "--nofile=1024:8192", "--"]).start()
    socks = []
    try:
        tok = p.login()
        # per address at most 128 connections: 11 loopback addresses of 100
        for i in range(1100):
            socks.append(socket.create_connection(("127.0.0.1", p.port), timeout=10,
                                                  source_address=(f"127.0.0.{2 + i // 100}", 0)))
        # the panel has taken them all (they are in its descriptor table)
        waiting.wait_for(lambda: len(os.listdir(f"/proc/{p.proc.pid}/fd")) >= 1100, 20)
        assert len(os.listdir(f"/proc/{p.proc.pid}/fd")) >= 1100
        r = p.request("GET", "/api/auth/status", token=tok)
        assert r.status_code == 200, r.text
    finally:
        for s in socks:
            s.close()
        p.stop()


def chunked(p, tok, body):
    s = tls_sock(p.port)
    try:
        s.sendall(head(p.port, "POST", "/panel/users", {"Authorization": "Bearer " + tok,
                                                        "Content-Type": "application/json",
                                                        "Transfer-Encoding": "chunked"}) + body)
        return read_status(s)
    finally:
        s.close()


def test_malformed_chunking_400(fresh_panel):
    p = fresh_panel()
    tok = p.login()
    assert chunked(p, tok, b"zz\r\n{}\r\n0\r\n\r\n") == 400
    assert chunked(p, tok, b"2\r\n{}XX0\r\n\r\n") == 400
    assert chunked(p, tok, b"-2\r\n{}\r\n0\r\n\r\n") == 400
    # the panel is fine, and a well-formed chunked body is read
    assert chunked(p, tok, b"2\r\n{}\r\n0\r\n\r\n") == 400  # {} lacks the username
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 200


@pytest.mark.xfail(strict=True, reason="libmicrohttpd 0.9.75 answers a chunk line larger than "
                   "its connection memory with its own 500 before the panel sees the request")
def test_huge_chunk_extension_400(fresh_panel):
    p = fresh_panel()
    tok = p.login()
    assert chunked(p, tok, b"2;" + b"a" * (100 * 1024) + b"\r\n{}\r\n0\r\n\r\n") == 400


def status_from(p, src):
    """GET /api/auth/status on a new TLS connection from address src: the
    status, or None when the panel closed the connection instead."""
    try:
        s = tls_sock(p.port, src)
    except (ConnectionError, ssl.SSLError, socket.timeout):
        return None
    try:
        s.sendall(head(p.port, "GET", "/api/auth/status", {"Connection": "close"}))
        return read_status(s)
    except (ConnectionError, ssl.SSLError):
        return None
    finally:
        s.close()


def test_connection_caps_are_configurable(fresh_panel):
    """server.max_connections_per_ip and server.max_connections: beyond
    either, a new connection is closed at once; below, it is served."""
    p = fresh_panel(extra={"server": {"max_connections_per_ip": 3, "max_connections": 5}})
    held = []
    try:
        # three connections from 127.0.0.2 (held open, handshake done) fill its share
        for _ in range(3):
            held.append(tls_sock(p.port, "127.0.0.2"))
        assert status_from(p, "127.0.0.2") is None
        # another address is still served
        assert status_from(p, "127.0.0.3") == 401  # answered (no token)
        # two more from 127.0.0.3 make five: the panel's whole limit
        for _ in range(2):
            held.append(tls_sock(p.port, "127.0.0.3"))
        assert status_from(p, "127.0.0.4") is None
        # the held ones still work, and freeing one lets a new address in
        held[0].sendall(head(p.port, "GET", "/api/auth/status", {}))
        assert read_status(held[0]) == 401
        held.pop(0).close()
        waiting.wait_for(lambda: status_from(p, "127.0.0.4") == 401, 10,
                         what="a connection to be served once one of five is closed")
    finally:
        for s in held:
            s.close()
