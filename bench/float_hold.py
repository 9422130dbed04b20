#!/usr/bin/env python3
"""Many idle connections held at once (issue 13): --ws idle TLS WebSockets
(one Float session each) plus --sse idle Server-Sent Events streams (a static
site's log stream: keepalives only, no journal behind it), all from one
client address (server.max_connections_per_ip raised for the run). Reported:
the panel's RSS and threads before and after, KB per connection, its
descriptors, and `GET /api/auth/status` (authenticated, wrk -c16) while
everything is held, beside the same run before anything was opened.

    bench/float_hold.py [--bin build/setec-manager] [--ws 10000] [--sse 1000]"""
import argparse
import base64
import os
import resource
import socket
import sqlite3
import ssl
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from waiting import wait_for  # noqa: E402


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        d = dict(line.split(":", 1) for line in f)
    return int(d["VmRSS"].split()[0]), int(d["Threads"])


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wrk(p, token, seconds):
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency",
                          "-H", f"Authorization: Bearer {token}",
                          f"{p.url}/api/auth/status"],
                         capture_output=True, text=True, check=True).stdout
    rps = p50 = p99 = "?"
    for line in out.splitlines():
        f = line.split()
        if line.startswith("Requests/sec:"):
            rps = f[1]
        elif f[:1] == ["50%"]:
            p50 = f[1]
        elif f[:1] == ["99%"]:
            p99 = f[1]
    return f"{rps} req/s, p50 {p50}, p99 {p99}"


# one TLS context for every connection (a context per connection loads the CA
# bundle each time: ~20 ms of the client's own per connection)
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def open_held(p, path, headers, want):
    """A TLS connection with one request sent and the answer's head read
    (status `want`), then left open."""
    s = CTX.wrap_socket(socket.create_connection(("127.0.0.1", p.port), timeout=30),
                        server_hostname="127.0.0.1")
    h = {"Host": f"127.0.0.1:{p.port}"}
    h.update(headers)
    s.sendall((f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
               + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError(f"{path}: closed before the answer")
        data += chunk
    code = int(data.split()[1])
    if code != want:
        raise AssertionError(f"{path}: {code}: {data[:300]!r}")
    return s


def ws_open(p, token, sid):
    return open_held(p, f"/float/ws?session={sid}",
                     {"Authorization": "Bearer " + token, "Upgrade": "websocket",
                      "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                      "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}, 101)


def sse_open(p, token, site_id):
    return open_held(p, f"/sites/{site_id}/logs/stream",
                     {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}, 200)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "setec-manager"))
    ap.add_argument("--ws", type=int, default=10000)
    ap.add_argument("--sse", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    os.environ["SETEC_BIN"] = a.bin
    import tempfile
    import requests
    from conftest import Panel

    # the panel holds 1 descriptor per WebSocket (3 before it stopped using
    # MHD's TLS relay: the socket and the relay's pair) and 1 per SSE stream;
    # without CAP_SYS_RESOURCE nobody here goes past the hard limit
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = a.ws + a.sse + 512
    if hard != resource.RLIM_INFINITY and want > hard:
        sys.exit(f"{a.ws} WebSockets + {a.sse} streams need {want} descriptors in the panel; "
                 f"the hard limit here is {hard} (fewer --ws, or raise it)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns = a.ws + a.sse + 64
    p = Panel(tempfile.mkdtemp(prefix="setec-bench-hold-"), many_logins=True,
              wrap=["prlimit", f"--nofile={hard}:{hard}", "--"],
              extra={"float": {"enabled": True, "max_sessions": a.ws + 10},
                     "server": {"max_connections": conns, "max_connections_per_ip": conns,
                                "max_streams": a.sse + 10},
                     "logging": {"level": "warn"}}).start()
    held = []
    try:
        tok = p.login()
        pid = p.proc.pid
        with sqlite3.connect(os.path.join(p.tmp, "data", "setec.db")) as db:
            site = db.execute("INSERT INTO sites (domain, app_root) VALUES (?, ?)",
                              ("hold.example.test", "/var/www/hold.example.test")).lastrowid
        print("idle panel:", wrk(p, tok, a.seconds))
        time.sleep(1)
        r0, th0 = status(pid)
        f0 = nfds(pid)
        t0 = time.monotonic()
        api = requests.Session()
        api.headers["Authorization"] = "Bearer " + tok
        for i in range(a.ws):
            r = api.post(p.url + "/float/register", json={"user_agent": f"hold-{i}"},
                         verify=False)
            assert r.status_code == 201, r.text
            held.append(ws_open(p, tok, r.json()["session_id"]))
        t_ws = time.monotonic() - t0
        for _ in range(a.sse):
            held.append(sse_open(p, tok, site))
        wait_for(lambda: nfds(pid) >= f0 + a.ws + a.sse, 60, "the panel to hold them all")
        time.sleep(2)
        r1, th1 = status(pid)
        f1 = nfds(pid)
        n = a.ws + a.sse
        print(f"held {a.ws} TLS WebSockets (opened in {t_ws:.1f} s) + {a.sse} SSE streams:")
        print(f"  RSS {r0} -> {r1} KB ({(r1 - r0) / n:.1f} KB per connection), "
              f"threads {th0} -> {th1}, descriptors {f0} -> {f1}")
        print("  while held:", wrk(p, tok, a.seconds))
        # none was closed by the panel meanwhile: each still takes a ping
        print(f"  descriptors at the end: {nfds(pid)} (all {n} still held: "
              f"{nfds(pid) >= f0 + n})")
    finally:
        for s in held:
            try:
                s.close()
            except OSError:
                pass
        p.stop()


if __name__ == "__main__":
    main()
