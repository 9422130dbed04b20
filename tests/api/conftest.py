"""Black-box API tests: the built binary over real HTTPS on 127.0.0.1.

Each test module gets its own panel process with a temporary data dir.
SETEC_BIN selects the binary (default build/setec-manager); its root helper,
setec-helper, must be beside it."""
import base64
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import socket
import sqlite3
import ssl
import subprocess
import time
import warnings

import pytest
import requests
import urllib3

from ports import free_port  # noqa: F401 (re-exported to the tests)

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SETEC_BIN", os.path.join(ROOT, "build", "setec-manager"))
# serve starts its root helper from beside the real binary (src/helper/split.c)
HELPER = os.path.join(os.path.dirname(os.path.realpath(BIN)), "setec-helper")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# Every panel's login budget is 5 per minute per client address. Panels made
# with many_logins=True trust 127.0.0.1 as a proxy, and each POST /login sent
# through Panel.request gets its own X-Forwarded-For address from this counter,
# so a test module can log in as often as it needs.
_xff_counter = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line("filterwarnings",
                            "ignore::urllib3.exceptions.InsecureRequestWarning")


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_hs256(key, payload, header=None):
    """A JWT signed with key (bytes); header defaults to HS256/JWT."""
    h = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}, separators=(",", ":")))
    p = b64url(json.dumps(payload, separators=(",", ":")))
    sig = hmac.new(key, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


def set_cookies(resp):
    """{name: full Set-Cookie value} of a requests response."""
    out = {}
    for v in resp.raw.headers.getlist("Set-Cookie"):
        out[v.split("=", 1)[0].strip()] = v
    return out


def cookie_attrs(value):
    """'a=b; Path=/; HttpOnly' -> ('b', {'path': '/', 'httponly': True})"""
    parts = [p.strip() for p in value.split(";")]
    val = parts[0].split("=", 1)[1]
    attrs = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            attrs[k.lower()] = v
        elif p:
            attrs[p.lower()] = True
    return val, attrs


class RawConn:
    """One HTTP/1.1 connection (TLS or not) driven by hand: for keep-alive,
    paths a client library would normalise, and exact bytes on the wire."""

    def __init__(self, panel, timeout=10):
        sock = socket.create_connection(("127.0.0.1", panel.port), timeout=timeout)
        if panel.scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.buf = b""
        self.host = f"127.0.0.1:{panel.port}"

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, method, path, headers=None, body=b""):
        h = {"Host": self.host, "Accept": "application/json"}
        h.update(headers or {})
        if body:
            h.setdefault("Content-Length", str(len(body)))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        self.sock.sendall(head.encode() + b"\r\n" + body)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head=False):
        """(status, {lower-case name: value}, body bytes)"""
        status_line = self._line().decode()
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.decode().split(":", 1)
            k = k.strip().lower()
            headers[k] = (headers[k] + ", " if k in headers else "") + v.strip()
        body = b""
        if head or status in (204, 304) or 100 <= status < 200:
            return status, headers, body
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                n = int(self._line().split(b";")[0], 16)
                if n == 0:
                    while self._line():
                        pass
                    break
                body += self._take(n)
                self._take(2)
        else:
            body = self._take(int(headers.get("content-length", "0")))
        return status, headers, body

    def request(self, method, path, headers=None, body=b""):
        self.send(method, path, headers, body)
        return self.read_response(head=(method == "HEAD"))




def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path, sections):
    with open(path, "w") as f:
        for sec, kv in sections.items():
            f.write(f"{sec}:\n")
            for k, v in kv.items():
                f.write(f"  {k}: {yaml_scalar(v)}\n")


class Panel:
    """A running setec-manager process."""

    def __init__(self, tmp, extra=None, env=None, tls=True, many_logins=False, wrap=None):
        self.tmp = str(tmp)
        self.wrap = wrap
        self.many_logins = many_logins
        if many_logins:
            extra = dict(extra or {})
            srv = dict(extra.get("server", {}))
            srv.setdefault("trusted_proxies", ["127.0.0.1"])
            extra["server"] = srv
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(8)
        self.scheme = "https" if tls else "http"
        data = os.path.join(self.tmp, "data")
        sections = {
            # "": no privilege drop (the tests run as root in a 0700 /tmp
            # dir); the split into HTTP process + helper happens all the same
            "server": {"host": "127.0.0.1", "port": self.port, "tls": tls, "user": "",
                       "cert": os.path.join(self.tmp, "tls", "cert.pem"),
                       "key": os.path.join(self.tmp, "tls", "key.pem")},
            "database": {"path": os.path.join(data, "setec.db")},
            "backups": {"dir": os.path.join(data, "backups")},
            "logging": {"level": "info", "file": ""},
        }
        for sec, kv in (extra or {}).items():
            sections.setdefault(sec, {}).update(kv)
        self.config = os.path.join(self.tmp, "config.yaml")
        write_config(self.config, sections)
        self.data_dir = data
        self.env = dict(os.environ, SETEC_ADMIN_PASSWORD=self.password, **(env or {}))
        self.log_path = os.path.join(self.tmp, "panel.log")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        # wrap: an argv prefix that runs the panel somewhere else (a namespace
        # helper script, nsenter ...), ending with the command to exec
        self.proc = subprocess.Popen([*(self.wrap or []), BIN, "-c", self.config, "serve"],
                                     env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("panel exited early:\n" + self.read_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("panel did not start:\n" + self.read_log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        if self.proc:
            self.log.close()
        return rc

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def request(self, method, path, token=None, headers=None, **kw):
        h = {"Accept": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        if self.many_logins and method.upper() == "POST" and path == "/login" \
                and not any(k.lower() == "x-forwarded-for" for k in h):
            n = next(_xff_counter)
            h["X-Forwarded-For"] = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        kw.setdefault("verify", False)
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 10)
        return requests.request(method, self.url + path, headers=h, **kw)

    def login(self, username="admin", password=None):
        r = self.request("POST", "/login",
                         json={"username": username, "password": password or self.password})
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def raw(self, **kw):
        return RawConn(self, **kw)

    def db(self):
        """A read-only connection to the panel's database."""
        path = os.path.join(self.data_dir, "setec.db")
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)

    def query(self, sql, *args):
        con = self.db()
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def jwt_key(self):
        with open(os.path.join(self.data_dir, ".jwt_key"), "rb") as f:
            return f.read()

    def wait_log(self, pattern, timeout=5):
        """Wait until the log matches the regex pattern; the log text or None."""
        deadline = time.time() + timeout
        while True:
            text = self.read_log()
            if re.search(pattern, text):
                return text
            if time.time() > deadline:
                return None
            time.sleep(0.05)

    def create_user(self, token, username, password, role=None):
        body = {"username": username, "password": password}
        if role:
            body["role"] = role
        r = self.request("POST", "/panel/users", token=token, json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def cli(self, *args, input=None):
        return subprocess.run([BIN, "-c", self.config, *args], env=self.env, input=input,
                              capture_output=True, text=True, timeout=30)


SANITIZER_REPORT = re.compile(r"ERROR: \w*Sanitizer|runtime error:")


def assert_no_sanitizer_report(p):
    log = p.read_log()
    m = SANITIZER_REPORT.search(log)
    assert not m, "sanitizer report:\n" + log[max(0, m.start() - 200):m.start() + 4000]


@pytest.fixture(scope="module")
def panel(request, tmp_path_factory):
    """The module's panel. A module that sets PANEL_MANY_LOGINS = True gets
    one whose login rate limit is keyed per request (see _xff_counter)."""
    many = getattr(request.module, "PANEL_MANY_LOGINS", False)
    p = Panel(tmp_path_factory.mktemp("panel"), many_logins=many).start()
    yield p
    rc = p.stop()
    assert rc == 0, "panel did not exit cleanly:\n" + p.read_log()
    assert_no_sanitizer_report(p)


@pytest.fixture(scope="module")
def admin_token(panel):
    return panel.login()


@pytest.fixture
def fresh_panel(tmp_path):
    """A panel of the test's own (for rate limits, restarts and the like)."""
    started = []

    def make(extra=None, env=None, tls=True, start=True, many_logins=False, wrap=None):
        """start=False: the Panel is returned unstarted (prepare its data dir,
        then call .start()); it is stopped at teardown all the same."""
        d = tmp_path / f"p{len(started)}"
        os.makedirs(d, exist_ok=True)
        p = Panel(d, extra=extra, env=env, tls=tls, many_logins=many_logins, wrap=wrap)
        started.append(p)
        return p.start() if start else p
    yield make
    problems = []
    for p in started:
        running = p.proc is not None and p.proc.poll() is None
        rc = p.stop()
        if running and rc != 0:
            problems.append(f"panel {p.tmp} exited {rc} on SIGTERM")
        if SANITIZER_REPORT.search(p.read_log()):
            problems.append(f"sanitizer report in {p.log_path}")
    assert not problems, problems
