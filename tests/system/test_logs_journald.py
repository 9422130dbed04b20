"""Logs against the real journald: the panel runs inside a throw-away systemd
container (container.py) and reads that machine's journal through
sd-journal; lines logged there with systemd-cat and by transient units must
show up in /api/logs/system and arrive over /api/logs/stream."""
import os
import re
import secrets
import socket
import ssl
import time

import pytest

from conftest import BIN, Panel
from container import Container, container_unavailable

LIVE_DEADLINE = 1.0  # seconds from "logged" to "seen by the client"
SHORT_LINE = re.compile(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ \S+?(\[\d+\])?: ")


@pytest.fixture(scope="module")
def ctr(tmp_path_factory):
    reason = container_unavailable()
    if reason:
        pytest.skip(reason)
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"no panel binary at {BIN}")
    shared = str(tmp_path_factory.mktemp("ctr-shared"))
    bindir = os.path.dirname(os.path.realpath(BIN))
    with Container(binds=[shared], binds_ro=[bindir]) as c:
        c.shared = shared
        yield c


class ContainerPanel(Panel):
    """The panel as a transient service of the container's systemd: in all
    its namespaces (sd-journal's inotify watches go through /proc/self,
    which only resolves inside the container's PID namespace), with its
    output in the shared directory."""

    def __init__(self, ctr, tmp, **kw):
        # As in production: the HTTP process drops to `setec` (a root helper
        # stays), so its data (the certificate too) lives under the data dir
        # that serve gives to that user, and the way there must be
        # traversable (pytest's temp root is 0700).
        extra = dict(kw.pop("extra", None) or {})
        srv = dict(extra.get("server", {}))
        srv.setdefault("user", "setec")
        srv.setdefault("cert", os.path.join(str(tmp), "data", "tls", "cert.pem"))
        srv.setdefault("key", os.path.join(str(tmp), "data", "tls", "key.pem"))
        extra["server"] = srv
        d = os.path.realpath(str(tmp))
        while d not in ("/", "/tmp"):
            os.chmod(d, os.stat(d).st_mode | 0o011)
            d = os.path.dirname(d)
        super().__init__(tmp, extra=extra, **kw)
        self.ctr = ctr
        self.unit = "setec-panel-" + secrets.token_hex(3)

    def start(self):
        self.log = open(self.log_path, "ab")
        r = self.ctr.run(["systemd-run", "-q", f"--unit={self.unit}",
                          f"--setenv=SETEC_ADMIN_PASSWORD={self.password}", "--setenv=TZ=UTC",
                          f"--property=StandardOutput=append:{self.log_path}",
                          f"--property=StandardError=append:{self.log_path}",
                          "--", BIN, "-c", self.config, "serve"])
        assert r.returncode == 0, r.stdout + r.stderr
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("panel did not start:\n" + self.read_log())

    def stop(self):
        """0 when the service stopped cleanly on SIGTERM."""
        self.ctr.run(["systemctl", "stop", self.unit])
        failed = self.ctr.run(["systemctl", "is-failed", self.unit]).stdout.strip()
        self.log.close()
        return 1 if failed == "failed" else 0


@pytest.fixture(scope="module")
def inside(ctr):
    """(panel, admin token): the panel running inside the container, and this
    thread's sockets in the container's network for the whole module."""
    with ctr.netns():
        os.makedirs(os.path.join(ctr.shared, "panel"), exist_ok=True)
        p = ContainerPanel(ctr, os.path.join(ctr.shared, "panel"))
        p.start()
        try:
            yield p, p.login()
        finally:
            rc = p.stop()
            assert rc == 0, p.read_log()
            assert "Sanitizer" not in p.read_log(), p.read_log()


class SSE:
    def __init__(self, panel, path, token, headers=None):
        sock = socket.create_connection(("127.0.0.1", panel.port), timeout=10)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        h = {"Host": "127.0.0.1", "Accept": "text/event-stream",
             "Authorization": "Bearer " + token, **(headers or {})}
        self.sock.sendall((f"GET {path} HTTP/1.1\r\n" +
                           "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode())
        self.raw, self.text = b"", ""
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        self.status = int(head.split()[1])
        self.chunked = b"chunked" in head.lower()

    def _recv(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("closed")
        self.raw += d

    def events(self, timeout):
        """Yield events (dicts with id, data) until timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            while self.chunked and b"\r\n" in self.raw:
                size, rest = self.raw.split(b"\r\n", 1)
                n = int(size, 16)
                if len(rest) < n + 2:
                    break
                self.text += rest[:n].decode()
                self.raw = rest[n + 2:]
            while "\n\n" in self.text:
                block, self.text = self.text.split("\n\n", 1)
                ev = {"id": None, "data": []}
                for line in block.split("\n"):
                    if line.startswith("id: "):
                        ev["id"] = line[4:]
                    elif line.startswith("data: "):
                        ev["data"].append(line[6:])
                if ev["data"]:
                    ev["data"] = "\n".join(ev["data"])
                    yield ev
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                self._recv()
            except socket.timeout:
                return

    def wait_for(self, pred, timeout):
        """The first event whose data satisfies pred, or None."""
        for ev in self.events(timeout):
            if pred(ev["data"]):
                return ev
        return None

    def close(self):
        self.sock.close()


def test_system_logs_real_journal(ctr, inside):
    p, tok = inside
    r = p.request("GET", "/api/logs/system?lines=50", token=tok)
    assert r.status_code == 200, r.text
    text = r.json()["logs"]
    lines = [ln for ln in text.split("\n") if ln and not ln.startswith(" ")]
    assert 10 <= len(lines) <= 50, text
    for ln in lines:
        assert SHORT_LINE.match(ln), ln
    # the boot of the container is in its journal
    r = p.request("GET", "/api/logs/system?lines=10000", token=tok)
    assert "systemd[1]: " in r.json()["logs"]
    # what journalctl (inside) says is the last line, the panel says too
    jc = ctr.run(["env", "TZ=UTC", "journalctl", "-n", "1", "--no-pager", "-o", "short"]).stdout
    mark = "probe-" + secrets.token_hex(4)
    ctr.run(["systemd-cat", "-t", "setec-probe", "echo", mark], check=True)
    t0 = time.monotonic()
    while True:
        r = p.request("GET", "/api/logs/system?lines=20", token=tok)
        if mark in r.json()["logs"]:
            break
        assert time.monotonic() - t0 < LIVE_DEADLINE, "fresh line not in /api/logs/system"
        time.sleep(0.05)
    got = [ln for ln in r.json()["logs"].split("\n") if mark in ln]
    assert len(got) == 1 and re.search(r" setec-probe\[\d+\]: " + mark + "$", got[0]), got
    jc2 = ctr.run(["env", "TZ=UTC", "journalctl", "-t", "setec-probe", "-n", "1", "--no-pager",
                   "-o", "short"]).stdout.strip().split("\n")[-1]
    # same text as journalctl's short format (host name, identifier, pid)
    assert got[0] == jc2, (got[0], jc2, jc)


def test_stream_transient_unit(ctr, inside):
    p, tok = inside
    unit = "setec-logtest-" + secrets.token_hex(3)
    s = SSE(p, f"/api/logs/stream?unit={unit}", tok)
    try:
        assert s.status == 200
        assert list(s.events(0.3)) == []  # nothing old replayed
        mark = "hello-" + secrets.token_hex(4)
        ctr.run(["systemd-run", "-q", f"--unit={unit}", "/bin/sh", "-c",
                 f"echo {mark}; sleep 2; echo second-{mark}"], check=True)
        t0 = time.monotonic()
        ev = s.wait_for(lambda d: d.endswith(": " + mark), 5)
        elapsed = time.monotonic() - t0
        assert ev, "line of the unit never arrived"
        assert elapsed < LIVE_DEADLINE, elapsed
        assert re.search(r" sh\[\d+\]: " + mark + "$", ev["data"]), ev
        first_id = ev["id"]
        assert first_id
        ev2 = s.wait_for(lambda d: d.endswith(": second-" + mark), 5)
        assert ev2 and ev2["id"] != first_id
        # systemd's own messages about the unit belong to its log as well
        done = s.wait_for(lambda d: f"{unit}.service: Deactivated" in d, 5)
        assert done and " systemd[1]: " in done["data"], done
    finally:
        s.close()
    # resume: what was logged after first_id comes again, in order
    s = SSE(p, f"/api/logs/stream?unit={unit}", tok, headers={"Last-Event-ID": first_id})
    try:
        evs = list(s.events(1.5))
        datas = [e["data"] for e in evs]
        assert any(d.endswith(": second-" + mark) for d in datas), datas
        assert not any(d.endswith(": " + mark) for d in datas), datas
    finally:
        s.close()


def test_stream_other_units_filtered(ctr, inside):
    p, tok = inside
    s = SSE(p, "/api/logs/stream?unit=setec-quiet", tok)
    try:
        ctr.run(["systemd-cat", "-t", "noise", "echo", "not for setec-quiet"], check=True)
        ctr.run(["systemd-run", "-q", "--unit=setec-loud", "/bin/echo", "loud"], check=True)
        assert [e for e in s.events(1.0) if "loud" in e["data"] or "noise" in e["data"]] == []
    finally:
        s.close()
