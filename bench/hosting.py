#!/usr/bin/env python3
"""Hosting-provider proxy benchmark (bench/README.md, "Hosting providers").

  SETEC_BIN=build/setec-manager /usr/bin/python3 bench/hosting.py [N]

Starts a panel (temp dir, free port) and the Hostinger fixture over TLS
(tests/api/hostinger_fixture.py, a throw-away certificate trusted through
hosting.ca_bundle), then:
  1. 20 sequential GET /api/hosting/providers/hostinger/domains: how many TCP
     connections the fixture accepted for them (the outbound client keeps one).
  2. N (default 300) calls each of, interleaved, all with keep-alive clients:
     direct  GET <fixture>/api/domains/v1/portfolio
     proxied GET <panel>/api/hosting/providers/hostinger/domains
     panel   GET <panel>/api/auth/status (a panel answer with no upstream call)
   and prints p50/p90 of each, and proxied - direct (the panel's overhead per
   proxied call over the fixture's own time). Nothing here asserts a timing.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "api"))

import requests  # noqa: E402
import urllib3  # noqa: E402

from conftest import Panel  # noqa: E402
from hostinger_fixture import Fixture  # noqa: E402

urllib3.disable_warnings()
KEY = "bench-key-0123456789"


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    tmp = tempfile.mkdtemp(prefix="setec-hbench.")
    cert, key = os.path.join(tmp, "up.pem"), os.path.join(tmp, "up.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=30)
    with Fixture(token=KEY, certfile=cert, keyfile=key) as up:
        os.makedirs(os.path.join(tmp, "panel"))
        p = Panel(os.path.join(tmp, "panel"),
                  extra={"hosting": {"ca_bundle": cert}, "logging": {"level": "warn"}})
        p.start()
        try:
            t = p.login()
            s = requests.Session()
            s.verify = False
            s.trust_env = False
            hdr = {"Authorization": "Bearer " + t, "Accept": "application/json"}
            r = s.post(p.url + "/api/hosting/providers/hostinger/configure", headers=hdr,
                       json={"api_key": KEY, "base_url": up.url})
            assert r.status_code == 200, r.text
            proxied_url = p.url + "/api/hosting/providers/hostinger/domains"
            before = up.connections
            for _ in range(20):
                assert s.get(proxied_url, headers=hdr).status_code == 200
            conns = up.connections - before
            print(f"20 sequential proxied calls: {conns} new upstream TCP connection(s), "
                  f"{len(up.requests('GET', '/api/domains/v1/portfolio'))} upstream requests")

            d = requests.Session()
            d.verify = cert
            d.trust_env = False
            dhdr = {"Authorization": "Bearer " + KEY, "Accept": "application/json"}
            direct_url = up.url + "/api/domains/v1/portfolio"
            times = {"direct": [], "proxied": [], "panel": []}
            for _ in range(20):  # warm-up
                d.get(direct_url, headers=dhdr)
                s.get(p.url + "/api/auth/status", headers=hdr)
            for _ in range(n):
                for name, sess, url, h in (("direct", d, direct_url, dhdr),
                                           ("proxied", s, proxied_url, hdr),
                                           ("panel", s, p.url + "/api/auth/status", hdr)):
                    t0 = time.perf_counter()
                    r = sess.get(url, headers=h)
                    times[name].append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200, (name, r.status_code)
            up.clear_log()
            for name, v in times.items():
                print(f"{name:8s} p50 {statistics.median(v):.3f} ms  p90 {pct(v, 0.9):.3f} ms")
            over = [a - b for a, b in zip(sorted(times["proxied"]), sorted(times["direct"]))]
            print(f"proxied - direct: p50 {statistics.median(times['proxied']) - statistics.median(times['direct']):.3f} ms"
                  f" (quantile-matched median {statistics.median(over):.3f} ms)")
            print(f"total upstream connections during the run: {up.connections - before}")
        finally:
            p.stop()
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
