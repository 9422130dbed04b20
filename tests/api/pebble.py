"""Pebble (Let's Encrypt's ACME test server) for tests: not a test file.

Runs Debian's `pebble` and `pebble-challtestsrv` on free loopback ports, as
in /work/shared/testing/system-peers.md §4:
  * a throw-away CA (openssl) signs pebble's own HTTPS certificate; its file
    is `Pebble.ca_file` (what the panel's `acme.ca_bundle` must name);
  * challtestsrv is pebble's DNS server and answers 127.0.0.1 for every name,
    so HTTP-01 validation connects to 127.0.0.1:<http_port>;
  * PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0 unless the caller overrides
    them with env=.
Pebble makes a new root on every start: `root_pem()` / `intermediate_pem()`
fetch them from the management port to verify issued chains.

    with start_pebble(tmp_path, http_port=p) as pb:
        pb.directory_url, pb.ca_file, pb.http_port, pb.root_pem()

`start_pebble(tmp, http_port=<port where nothing answers>)` gives a Pebble
whose HTTP-01 validations all fail (connection refused). `WebrootServer`
serves a directory over plain HTTP (python http.server) for client tests
that do not need nginx.
"""
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

from ports import free_port, free_ports  # noqa: F401 (free_port is used by tests)

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
CHALLTESTSRV = shutil.which("pebble-challtestsrv") or "/usr/bin/pebble-challtestsrv"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def unavailable():
    """Why Pebble cannot run here, or None."""
    for exe in (PEBBLE, CHALLTESTSRV, OPENSSL):
        if not os.access(exe, os.X_OK):
            return "%s is not installed (apt-get install pebble openssl)" % exe
    return None


def _run(argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=60)


def make_ca(d):
    """A CA plus a 127.0.0.1/localhost server certificate signed by it, in d.
    Returns (ca.pem, server.pem, server.key)."""
    os.makedirs(d, exist_ok=True)
    _run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
          "-out", "ca.pem", "-days", "3", "-subj", "/CN=setec test ACME server CA"], d)
    _run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
          "-out", "server.csr", "-subj", "/CN=localhost"], d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    _run([OPENSSL, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-out", "server.pem", "-days", "3", "-extfile", "ext.cnf"], d)
    return (os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"),
            os.path.join(d, "server.key"))


class Pebble:
    def __init__(self, tmp, http_port=None, env=None, validity_s=None, name="pebble"):
        self.dir = os.path.join(str(tmp), name)
        os.makedirs(self.dir, exist_ok=True)
        ports = free_ports(5)
        self.http_port = http_port or ports[4]
        self.port, self.mgmt_port, self.dns_port, self.chall_mgmt_port = ports[:4]
        self.env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        self.env.update(env or {})
        self.validity_s = validity_s
        self.procs = []
        self.ca_file = None

    @property
    def directory_url(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def _log(self, name):
        return open(os.path.join(self.dir, name + ".log"), "ab")

    def start(self):
        self.ca_file, cert, key = make_ca(os.path.join(self.dir, "ca"))
        conf = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % self.port,
            "managementListenAddress": "127.0.0.1:%d" % self.mgmt_port,
            "certificate": cert, "privateKey": key,
            "httpPort": self.http_port, "tlsPort": free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        if self.validity_s:
            conf["pebble"]["certificateValidityPeriod"] = int(self.validity_s)
        cfg = os.path.join(self.dir, "pebble.json")
        with open(cfg, "w") as f:
            json.dump(conf, f)
        # DNS only: every A query -> 127.0.0.1, no AAAA; its other responders off.
        self.procs.append(subprocess.Popen(
            [CHALLTESTSRV, "-dns01", "127.0.0.1:%d" % self.dns_port, "-http01", "",
             "-https01", "", "-tlsalpn01", "",
             "-management", "127.0.0.1:%d" % self.chall_mgmt_port, "-defaultIPv6", ""],
            stdout=self._log("challtestsrv"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL))
        env = dict(os.environ)
        env.update(self.env)
        self.procs.append(subprocess.Popen(
            [PEBBLE, "-config", cfg, "-dnsserver", "127.0.0.1:%d" % self.dns_port],
            stdout=self._log("pebble"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=self.dir))
        deadline = time.time() + 15
        while True:
            for p in self.procs:
                if p.poll() is not None:
                    self.stop()
                    raise RuntimeError("pebble exited early: %s" % self.logs())
            try:
                self.get(self.directory_url)
                return self
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError("pebble did not answer: %s" % self.logs())
                time.sleep(0.05)

    def logs(self):
        out = []
        for n in ("pebble", "challtestsrv"):
            try:
                with open(os.path.join(self.dir, n + ".log"), errors="replace") as f:
                    out.append("--- %s\n%s" % (n, f.read()[-4000:]))
            except OSError:
                pass
        return "\n".join(out)

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def get(self, url):
        with urllib.request.urlopen(url, context=self.ssl_context(), timeout=5) as r:
            return r.read()

    def root_pem(self):
        return self.get("https://127.0.0.1:%d/roots/0" % self.mgmt_port).decode()

    def intermediate_pem(self):
        return self.get("https://127.0.0.1:%d/intermediates/0" % self.mgmt_port).decode()

    def directory(self):
        return json.loads(self.get(self.directory_url))

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []


@contextlib.contextmanager
def start_pebble(tmp, **kw):
    pb = Pebble(tmp, **kw).start()
    try:
        yield pb
    finally:
        pb.stop()


class WebrootServer:
    """python -m http.server on 127.0.0.1:port serving root (HTTP-01 files)."""

    def __init__(self, root, port):
        self.root, self.port = str(root), port
        self.proc = None

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
             self.root, str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("http.server did not start on %d" % self.port)
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
