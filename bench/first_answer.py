#!/usr/bin/env python3
"""New-connection latency for a client that leaves Nagle's algorithm on
(Python's http.client, as Ansible's `uri` and most scripts use it): the TLS
handshake and the first answer on each new connection, the panel against
nginx serving a small answer with the panel's certificate on the same
machine. Issue 13.

    bench/first_answer.py [--bin build/setec-manager] [--n 200]

Prints p50/p90 of both phases for both servers, with and without
TCP_NODELAY on the client. Run it on a quiet machine: it measures
milliseconds."""
import argparse
import http.client
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from ports import free_port  # noqa: E402
from waiting import wait_for  # noqa: E402



def measure(port, path, n, nodelay):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    hs, fa = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port))
        if nodelay:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
        c.sock = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        t1 = time.perf_counter()
        c.request("GET", path)
        c.getresponse().read()
        t2 = time.perf_counter()
        c.close()
        hs.append((t1 - t0) * 1000)
        fa.append((t2 - t1) * 1000)

    def q(v, f):
        return sorted(v)[min(len(v) - 1, int(len(v) * f))]
    return (statistics.median(hs), q(hs, 0.9), statistics.median(fa), q(fa, 0.9))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "setec-manager"))
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    os.environ["SETEC_BIN"] = a.bin
    from conftest import Panel  # noqa: E402 (needs SETEC_BIN first)
    tmp = tempfile.mkdtemp(prefix="setec-bench-fa-")
    os.makedirs(os.path.join(tmp, "panel"))
    panel = Panel(os.path.join(tmp, "panel")).start()
    ngx_port = free_port()
    nd = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(nd, "logs"))
    conf = os.path.join(nd, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {nd}/nginx.pid; error_log {nd}/logs/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {nd}/tmp; proxy_temp_path {nd}/tmp;
  fastcgi_temp_path {nd}/tmp; uwsgi_temp_path {nd}/tmp; scgi_temp_path {nd}/tmp;
  server {{ listen 127.0.0.1:{ngx_port} ssl;
    ssl_certificate {panel.tmp}/tls/cert.pem; ssl_certificate_key {panel.tmp}/tls/key.pem;
    location / {{ default_type application/json; return 401 '{{"error":"x"}}'; }} }} }}
""")
    ngx = subprocess.Popen(["nginx", "-c", conf, "-e", f"{nd}/logs/error.log", "-g",
                            "daemon off;"])
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", ngx_port), 1).close() or True,
                 10, "nginx to listen", errors=(OSError,))
        print(f"{'server':8} {'client':12} {'handshake p50/p90 ms':>22} {'first answer p50/p90 ms':>26}")
        for name, port in (("panel", panel.port), ("nginx", ngx_port)):
            for nodelay in (False, True):
                r = measure(port, "/api/auth/status", a.n, nodelay)
                print(f"{name:8} {'TCP_NODELAY' if nodelay else 'Nagle on':12} "
                      f"{r[0]:10.2f} / {r[1]:8.2f} {r[2]:13.2f} / {r[3]:8.2f}")
    finally:
        ngx.terminate()
        ngx.wait()
        panel.stop()


if __name__ == "__main__":
    main()
