#!/usr/bin/env python3
"""Small TLS client for bench/run.sh (stdlib only, loopback only, no cert check).

  probe.py freeport                       print a free TCP port on 127.0.0.1
  probe.py wait PORT TIMEOUT_S            poll GET /login until it answers 200
  probe.py login PORT                     POST /login (password in $SETEC_ADMIN_PASSWORD), print token
  probe.py get PORT PATH [TOKEN]          print "status bytes_total body_bytes" of one GET
  probe.py tlsinfo PORT                   print "version cipher" negotiated with the default client
  probe.py starttime N PORT BIN CFG LOG   N starts of BIN -c CFG serve; per start the ms from
                                          exec to (a) first accepted TCP connect and (b) first
                                          200 on GET /login; prints one line per start
"""
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


CTX = ctx()


def connect(port, timeout):
    s = socket.create_connection((HOST, port), timeout=timeout)
    # Like curl and browsers: without it, Nagle holds the request behind the
    # unacknowledged TLS Finished until the server's delayed ACK (~40 ms).
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(port, raw, timeout=2.0):
    """One request on a fresh TLS connection; returns the whole response bytes."""
    with connect(port, timeout) as s:
        with CTX.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(raw)
            out = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                out += chunk
            return out


def get_raw(path, token=None):
    h = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if token:
        h += f"Authorization: Bearer {token}\r\n"
    return (h + "\r\n").encode()


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def try_login_page(port):
    """(connected, got_200). Refused connects are the normal case while starting."""
    try:
        s = connect(port, 2.0)
    except (ConnectionRefusedError, ConnectionResetError):
        return False, False
    with s:
        try:
            with CTX.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(get_raw("/login"))
                buf = b""
                while b"\r\n" not in buf:
                    chunk = t.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                return True, status_of(buf) == 200
        except (OSError, ssl.SSLError):
            return True, False


def wait(port, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if try_login_page(port)[1]:
            return 0
        time.sleep(0.001)
    print(f"probe: no answer on port {port} within {timeout}s", file=sys.stderr)
    return 1


def listening(port, timeout):
    """Wait until the port accepts TCP connections, without a TLS handshake
    or a request: memory measured after this is the idle panel's."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return 0
        except OSError:
            time.sleep(0.001)
    print(f"probe: nothing listening on port {port} within {timeout}s", file=sys.stderr)
    return 1


def login(port):
    pw = os.environ["SETEC_ADMIN_PASSWORD"]
    body = json.dumps({"username": "admin", "password": pw}).encode()
    raw = (
        f"POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    resp = request(port, raw, timeout=10.0)
    if status_of(resp) != 200:
        print(f"probe: login failed: {resp[:200]!r}", file=sys.stderr)
        return 1
    print(json.loads(resp.split(b"\r\n\r\n", 1)[1])["token"])
    return 0


def get(port, path, token=None):
    resp = request(port, get_raw(path, token))
    head, _, body = resp.partition(b"\r\n\r\n")
    print(status_of(resp), len(resp), len(body))
    return 0


def tlsinfo(port):
    with connect(port, 2.0) as s:
        with CTX.wrap_socket(s, server_hostname="localhost") as t:
            print(t.version(), t.cipher()[0])
    return 0


def starttime(n, port, binary, cfg, log):
    conn_ms, ok_ms = [], []
    with open(log, "ab") as lf:
        for _ in range(n):
            t_conn = None
            t0 = time.perf_counter()
            p = subprocess.Popen([binary, "-c", cfg, "serve"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=lf)
            try:
                end = t0 + 10.0
                while True:
                    connected, ok = try_login_page(port)
                    now = time.perf_counter()
                    if connected and t_conn is None:
                        t_conn = now
                    if ok:
                        break
                    if now > end or p.poll() is not None:
                        print("probe: the panel did not answer", file=sys.stderr)
                        return 1
                    time.sleep(0.001)
                conn_ms.append((t_conn - t0) * 1000)
                ok_ms.append((now - t0) * 1000)
                print(f"start {len(ok_ms)}: connect {conn_ms[-1]:.1f} ms, first 200 {ok_ms[-1]:.1f} ms")
            finally:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    print(f"median: connect {statistics.median(conn_ms):.1f} ms, first 200 "
          f"{statistics.median(ok_ms):.1f} ms (min {min(ok_ms):.1f}, max {max(ok_ms):.1f})")
    return 0


def freeport():
    with socket.socket() as s:
        s.bind((HOST, 0))
        print(s.getsockname()[1])
    return 0


def main(a):
    if not a:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = a[0]
    if cmd == "freeport":
        return freeport()
    if cmd == "wait":
        return wait(int(a[1]), float(a[2]))
    if cmd == "login":
        return login(int(a[1]))
    if cmd == "get":
        return get(int(a[1]), a[2], a[3] if len(a) > 3 else None)
    if cmd == "listening":
        return listening(int(a[1]), float(a[2]))
    if cmd == "tlsinfo":
        return tlsinfo(int(a[1]))
    if cmd == "starttime":
        return starttime(int(a[1]), int(a[2]), a[3], a[4], a[5])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
