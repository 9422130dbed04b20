#!/usr/bin/env python3
"""Memory of the panel's two processes (the HTTP process and its root helper),
idle and after one login, for one or more builds side by side.

  sudo /usr/bin/python3 bench/split_rss.py [--rounds N] LABEL=BIN [LABEL=BIN ...]

e.g. `bench/split_rss.py before=/tmp/old/setec-manager after=build/setec-manager`.
Run as root: each start is `BIN -c CFG serve` as in production (the default
server.user, so the HTTP process drops to `setec` and the helper stays root),
TLS, logging.level warn, a fresh temp dir per start. The builds alternate,
N rounds (default 3). Per start: VmRSS, RssAnon, RssFile (/proc/PID/status)
and Pss (/proc/PID/smaps_rollup: shared pages divided among their users) of
the HTTP process and of its child, 1 s after the port accepts TCP (no TLS
handshake yet), and 1 s after one POST /login. Prints one line per start and
per build the median of each figure. Nothing here asserts a number."""
import argparse
import json
import os
import secrets
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
FIELDS = ("VmRSS", "RssAnon", "RssFile", "Pss", "Pss_Anon")


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def mem(pid):
    out = {}
    for name in ("status", "smaps_rollup"):
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in FIELDS:
                    out[k] = int(v.split()[0])
    return out


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def login(port, password):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    body = json.dumps({"username": "admin", "password": password}).encode()
    req = (f"POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           f"Content-Type: application/json\r\nAccept: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection((HOST, port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(req)
            resp = b""
            while chunk := t.recv(65536):
                resp += chunk
    status = int(resp.split(b" ", 2)[1])
    if status != 200:
        raise RuntimeError(f"login: {status}: {resp[-300:]!r}")


def one_start(binary):
    tmp = tempfile.mkdtemp(prefix="setec-rss.")
    os.chmod(tmp, 0o711)  # the HTTP process (setec) reaches its data dir
    port = free_port()
    password = "rss-" + secrets.token_hex(8)
    data = os.path.join(tmp, "data")
    cfg = os.path.join(tmp, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write(f"server: {{host: {HOST}, port: {port}, tls: true, "
                f"cert: {data}/tls/cert.pem, key: {data}/tls/key.pem}}\n"
                f"database: {{path: {data}/setec.db}}\n"
                f"backups: {{dir: {data}/backups}}\n"
                f"logging: {{level: warn, file: \"\"}}\n")
    log = open(os.path.join(tmp, "panel.log"), "wb")
    p = subprocess.Popen([binary, "-c", cfg, "serve"], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT,
                         env=dict(os.environ, SETEC_ADMIN_PASSWORD=password))
    try:
        deadline = time.time() + 30
        while True:
            if p.poll() is not None or time.time() > deadline:
                with open(os.path.join(tmp, "panel.log"), errors="replace") as f:
                    raise RuntimeError(f"{binary} did not start:\n{f.read()}")
            try:
                socket.create_connection((HOST, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        time.sleep(1)
        kids = children(p.pid)
        if len(kids) != 1:
            raise RuntimeError(f"expected one child (the helper), got {kids}")
        exe = os.readlink(f"/proc/{kids[0]}/exe")
        idle = (mem(p.pid), mem(kids[0]))
        login(port, password)
        time.sleep(1)
        after = (mem(p.pid), mem(kids[0]))
        return idle, after, os.path.basename(exe)
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def fmt(m):
    return "/".join(f"{m[k] / 1024:.2f}" for k in FIELDS)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("builds", nargs="+", metavar="LABEL=BIN")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (the production shape: HTTP process as setec, helper root)")
    builds = [b.split("=", 1) for b in a.builds]
    results = {label: [] for label, _ in builds}
    print("MB: VmRSS/RssAnon/RssFile/Pss/Pss_Anon;  http = HTTP process, helper = its child (exe)")
    for rnd in range(a.rounds):
        for label, binary in builds:
            idle, after, exe = one_start(binary)
            results[label].append((idle, after))
            print(f"round {rnd + 1} {label:>8}: idle http {fmt(idle[0])} helper {fmt(idle[1])}"
                  f" | login http {fmt(after[0])} helper {fmt(after[1])}  ({exe})", flush=True)
    print("\nmedians (MB)")
    for label, runs in results.items():
        def med(phase, proc, k):
            return statistics.median(r[phase][proc][k] for r in runs) / 1024
        line = []
        for phase, pname in ((0, "idle"), (1, "login")):
            for proc, who in ((0, "http"), (1, "helper")):
                line.append(f"{pname} {who} " + "/".join(f"{med(phase, proc, k):.2f}"
                                                           for k in FIELDS))
            total = sum(statistics.median(r[phase][proc]["VmRSS"] for r in runs)
                        for proc in (0, 1)) / 1024
            pss = sum(statistics.median(r[phase][proc]["Pss"] for r in runs)
                      for proc in (0, 1)) / 1024
            line.append(f"{pname} sum VmRSS {total:.2f} Pss {pss:.2f}")
        print(f"{label:>8}: " + "; ".join(line))


if __name__ == "__main__":
    main()
