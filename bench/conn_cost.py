#!/usr/bin/env python3
"""What an idle connection costs the server's RSS (issue 13): for each kind,
a fresh server, 10 connections of that kind opened and closed (first-use
allocations), then --n held open: (VmRSS after - before) / n.

  tcp   TCP connected, no TLS handshake
  tls   TLS handshake done, no request
  req   TLS, one `GET /api/auth/status` answered, then idle (keep-alive)
  ws    TLS WebSocket (one Float session each), idle

The panel (each --bin, with its setec-helper beside it) and, with --nginx,
nginx 1 worker (the panel's certificate, a small JSON answer; kinds tcp, tls,
req) summed over master and worker. Also the panel's RSS 1 s after start.
--n stays under the panel's 128 connections per client address.

    bench/conn_cost.py [--bin build/setec-manager ...] [--n 100] [--nginx] [--rounds 1]"""
import argparse
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from ports import free_port  # noqa: E402
from waiting import wait_for  # noqa: E402

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def rss_kb(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            d = dict(line.split(":", 1) for line in f)
        total += int(d["VmRSS"].split()[0])
    return total


def opener(kind, port, token, panel):
    def tcp():
        return socket.create_connection(("127.0.0.1", port))

    def tls():
        return CTX.wrap_socket(tcp(), server_hostname="127.0.0.1")

    def req():
        s = tls()
        s.sendall(f"GET /api/auth/status HTTP/1.1\r\nHost: x\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n".encode())
        d = b""
        while b"\r\n\r\n" not in d:
            chunk = s.recv(65536)
            assert chunk, "connection closed before the answer"
            d += chunk
        assert d.startswith(b"HTTP/1.1 200"), d[:40]
        return s

    def ws():
        from test_float import connect
        return connect(panel, token)[0]
    return {"tcp": tcp, "tls": tls, "req": req, "ws": ws}[kind]


def hold(pids, mk, n):
    warm = [mk() for _ in range(10)]
    for h in warm:
        h.close()
    time.sleep(1)
    r0 = rss_kb(pids)
    held = [mk() for _ in range(n)]
    time.sleep(1)
    r1 = rss_kb(pids)
    for h in held:
        h.close()
    return (r1 - r0) / n


def panel_run(binary, kind, n):
    os.environ["SETEC_BIN"] = binary
    import conftest
    conftest.BIN = binary
    p = conftest.Panel(tempfile.mkdtemp(prefix="setec-bench-cc-"),
                       extra={"logging": {"level": "warn"},
                              "float": {"enabled": True, "max_sessions": 100000}},
                       many_logins=True).start()
    try:
        time.sleep(1)
        idle = rss_kb([p.proc.pid])
        token = p.login() if kind in ("req", "ws") else None
        return idle, hold([p.proc.pid], opener(kind, p.port, token, p), n)
    finally:
        p.stop()
        shutil.rmtree(p.tmp, ignore_errors=True)


def nginx_run(kind, n, cert_dir):
    tmp = tempfile.mkdtemp(prefix="setec-bench-cc-ng-")
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    os.makedirs(os.path.join(tmp, "logs"))
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/logs/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}/t; proxy_temp_path {tmp}/t;
  fastcgi_temp_path {tmp}/t; uwsgi_temp_path {tmp}/t; scgi_temp_path {tmp}/t;
  keepalive_timeout 300s;
  server {{ listen 127.0.0.1:{port} ssl; ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate {cert_dir}/cert.pem; ssl_certificate_key {cert_dir}/key.pem;
    location / {{ default_type application/json; return 200 '{{"authenticated":true}}'; }} }} }}
""")
    ngx = subprocess.Popen(["nginx", "-c", conf, "-e", f"{tmp}/logs/error.log", "-g",
                            "daemon off;"])
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), 1).close() or True,
                 10, "nginx to listen", errors=(OSError,))
        with open(f"/proc/{ngx.pid}/task/{ngx.pid}/children") as f:
            pids = [ngx.pid] + [int(x) for x in f.read().split()]
        return hold(pids, opener(kind, port, "x", None), n)
    finally:
        ngx.terminate()
        ngx.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--nginx", action="store_true")
    a = ap.parse_args()
    bins = a.bin or [os.path.join(ROOT, "build", "setec-manager")]
    kinds = ("tcp", "tls", "req", "ws")
    print(f"KB of RSS per idle connection, {a.n} held, {a.rounds} round(s)")
    print(f"{'server':40} {'idle MB':>8} " + " ".join(f"{k:>6}" for k in kinds))
    for b in bins:
        for r in range(a.rounds):
            cells, idle = [], []
            for k in kinds:
                i, kb = panel_run(b, k, a.n)
                idle.append(i)
                cells.append(kb)
            print(f"{b[-40:]:40} {min(idle) / 1024:8.1f} " + " ".join(f"{c:6.1f}" for c in cells),
                  flush=True)
    if a.nginx:
        # nginx with a panel's certificate (ECDSA P-256, made at its first start)
        import conftest
        conftest.BIN = bins[0]
        p = conftest.Panel(tempfile.mkdtemp(prefix="setec-bench-cc-")).start()
        p.stop()
        cert_dir = os.path.join(p.tmp, "tls")
        try:
            for r in range(a.rounds):
                cells = [nginx_run(k, a.n, cert_dir) for k in kinds[:3]]
                print(f"{'nginx (master + 1 worker)':40} {'':>8} " +
                      " ".join(f"{c:6.1f}" for c in cells) + f" {'-':>6}", flush=True)
        finally:
            shutil.rmtree(p.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
