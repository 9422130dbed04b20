"""Firewall against the real ufw, in a throw-away network namespace.

The test process's main thread joins a fresh network namespace (setns), so
the panel it starts, its HTTP requests and the listeners used to prove that
rules filter all live there. The panel is wrapped in tests/system/ufw-ns.sh,
which gives it a private mount namespace where /etc/ufw, /lib/ufw,
/etc/default/ufw and /run are private copies (with ufw's "accept everything
on lo" lines removed, so loopback traffic is really filtered). ufw commands
"from outside the panel" run in the panel's namespaces through nsenter.
Nothing on the host changes: the test checks the host's iptables rules and
ufw.conf before and after."""
import ctypes
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time

import pytest

from conftest import HTTP_USER, Panel, ROOT, http_process_uid, http_user_dir

CLONE_NEWNET = 0x40000000
NS_SCRIPT = os.path.join(ROOT, "tests", "system", "ufw-ns.sh")


def _need():
    if os.geteuid() != 0:
        pytest.skip("needs root (network and mount namespaces)")
    for prog in ("ufw", "unshare", "nsenter", "ip", "iptables"):
        if not shutil.which(prog):
            pytest.skip(f"{prog} is not installed")


def _setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _host_state():
    ipt = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    try:
        with open("/etc/ufw/ufw.conf") as f:
            conf = f.read()
    except OSError:
        conf = ""
    return ipt, conf


class FwEnv:
    def __init__(self, panel, token):
        self.panel = panel
        self.token = token

    def ufw(self, *args, check=True):
        """Run ufw in the panel's namespaces (as an administrator would)."""
        p = subprocess.run(["nsenter", "-t", str(self.panel.proc.pid), "-m", "-n", "ufw", *args],
                           capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    def added(self):
        return [ln for ln in self.ufw("show", "added").splitlines() if ln.startswith("ufw ")]

    def get(self):
        r = self.panel.request("GET", "/firewall", token=self.token)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path, body=None):
        return self.panel.request("POST", path, token=self.token, json=body or {}, timeout=90)

    def delete(self, rid, body=None):
        return self.panel.request("DELETE", f"/firewall/rules/{rid}", token=self.token,
                                  json=body, timeout=90)

    def find(self, **kw):
        return [r for r in self.get()["rules"] if all(r.get(k) == v for k, v in kw.items())]


@pytest.fixture(scope="module")
def fw(tmp_path_factory):
    _need()
    host_before = _host_state()
    name = "setec-fwtest-" + secrets.token_hex(4)
    subprocess.run(["ip", "netns", "add", name], check=True)
    orig = os.open("/proc/self/ns/net", os.O_RDONLY)
    panel = tmp = None
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        # Connection tracking starts in a netns with the first rule that needs
        # it. Were it to start with `ufw enable`, the request in flight would
        # be picked up mid-stream as NEW on filtered lo and its answer dropped
        # (a test artefact: a real client is not on lo). A rule without a
        # target only counts packets.
        subprocess.run(["ip", "netns", "exec", name, "iptables", "-A", "OUTPUT", "-m",
                        "conntrack", "--ctstate", "NEW"], check=True)
        subprocess.run(["ip", "netns", "exec", name, "ip6tables", "-A", "OUTPUT", "-m",
                        "conntrack", "--ctstate", "NEW"], check=True)
        nsfd = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(nsfd)
        finally:
            os.close(nsfd)
        # the HTTP process runs as HTTP_USER (the default): ufw only through
        # the root helper
        tmp = http_user_dir("fw")
        state = os.path.join(str(tmp), "ufwstate")
        panel = Panel(tmp, many_logins=True, extra={"server": {"user": HTTP_USER}},
                      wrap=[NS_SCRIPT, state, "--filter-lo", "--"])
        panel.start()
        assert http_process_uid(panel) == pwd.getpwnam(HTTP_USER).pw_uid
        yield FwEnv(panel, panel.login())
    finally:
        rc = panel.stop() if panel else 0
        _setns(orig)
        os.close(orig)
        subprocess.run(["ip", "netns", "del", name])
    log = panel.read_log() if panel else ""
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    assert rc == 0, log
    assert "Sanitizer" not in log, log
    assert _host_state() == host_before, "the host's firewall changed"


def test_list_inactive_includes_rules_added_outside(fw):
    fw.ufw("allow", "2222/tcp", "comment", "outside")
    d = fw.get()
    assert d["enabled"] is False
    assert d["ufw_output"].startswith("Status: inactive")
    assert d["rules"] == [{"id": 1, "direction": "in", "protocol": "tcp", "port": "2222",
                           "source": "any", "action": "allow", "comment": "outside",
                           "destination": "any", "interface": "",
                           "rule": "ufw allow 2222/tcp comment 'outside'"}]
    r = fw.panel.request("GET", "/api/firewall/status", token=fw.token)
    assert r.status_code == 200 and r.json()["rules"] == d["rules"]


def test_add_variants(fw):
    cases = [
        ({"port": "8080", "protocol": "tcp", "source": "any", "action": "allow",
          "comment": "Custom app"}, ["ufw allow 8080/tcp comment 'Custom app'"]),
        ({"port": "5353", "protocol": "udp"}, ["ufw allow 5353/udp"]),
        ({"port": "6000", "protocol": ""}, ["ufw allow 6000"]),
        ({"port": "3000:3100"}, ["ufw allow 3000:3100/tcp"]),
        ({"port": "7000:7100", "protocol": ""},
         ["ufw allow 7000:7100/tcp", "ufw allow 7000:7100/udp"]),
        ({"port": "8080", "source": "192.168.1.0/24", "comment": "lan"},
         ["ufw allow from 192.168.1.0/24 to any port 8080 proto tcp comment 'lan'"]),
        ({"port": "2200", "action": "limit"}, ["ufw limit 2200/tcp"]),
        ({"port": "9000", "protocol": "udp", "source": "2001:db8::/32", "action": "deny"},
         ["ufw deny from 2001:db8::/32 to any port 9000 proto udp"]),
        ({"port": "25", "action": "reject", "comment": "no smtp; really"},
         ["ufw reject 25/tcp comment 'no smtp; really'"]),
    ]
    for body, lines in cases:
        r = fw.post("/firewall/rules", body)
        assert r.status_code == 201, (body, r.text)
        assert r.json() == {"status": "rule added"}
        added = fw.added()
        for ln in lines:
            assert ln in added, (body, added)
    # the same rule again changes nothing
    r = fw.post("/firewall/rules", {"port": "5353", "protocol": "udp"})
    assert r.status_code == 409, r.text
    rules = fw.get()["rules"]
    assert [r["id"] for r in rules] == list(range(1, len(rules) + 1))
    both = [r for r in rules if r["port"] == "6000"]
    assert both and both[0]["protocol"] == ""
    lan = [r for r in rules if r["source"] == "192.168.1.0/24"]
    assert lan == [dict(lan[0], port="8080", protocol="tcp", action="allow", comment="lan")]
    assert [r["action"] for r in rules if r["port"] == "2200"] == ["limit"]


def test_delete_removes_exactly_the_source_specific_rule(fw):
    before = fw.added()
    lan = fw.find(port="8080", source="192.168.1.0/24")
    anyr = fw.find(port="8080", source="any")
    assert len(lan) == 1 and len(anyr) == 1
    # a stale view of the rule (ids move when rules are deleted) is refused
    r = fw.delete(lan[0]["id"], {"port": "8080", "source": "any"})
    assert r.status_code == 409, r.text
    assert fw.added() == before
    r = fw.delete(lan[0]["id"], {"port": "8080", "source": "192.168.1.0/24", "protocol": "tcp",
                                 "action": "allow"})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "rule deleted"}
    after = fw.added()
    assert after == [ln for ln in before if "192.168.1.0/24" not in ln]
    assert "ufw allow 8080/tcp comment 'Custom app'" in after
    assert fw.delete(999).status_code == 404
    r = fw.delete(2147480001)
    assert r.status_code == 404 and r.json() == {"error": "rule not found"}, r.text
    assert fw.delete("abc").status_code == 400
    assert fw.added() == after


def test_enable_allows_panel_port_and_ssh_first(fw):
    port = fw.panel.port
    r = fw.post("/firewall/enable")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "enabled"}
    added = fw.added()
    assert f"ufw allow {port}/tcp comment 'Setec Manager'" in added
    assert "ufw allow 22/tcp comment 'SSH'" in added
    numbered = fw.ufw("status", "numbered")
    assert "Status: active" in numbered
    # a new connection to the panel still gets through (lo is filtered here)
    d = fw.get()
    assert d["enabled"] is True
    assert d["ufw_output"].startswith("Status: active")
    # ids are ufw's numbers; the v6 twin is folded into the same rule
    for rule in d["rules"]:
        line = [ln for ln in numbered.splitlines() if ln.startswith("[%2d]" % rule["id"])]
        assert line, (rule, numbered)
        assert rule["action"].upper() in line[0]
    ssh = [r for r in d["rules"] if r["port"] == "22"]
    assert len(ssh) == 1 and ssh[0]["v6_id"] > ssh[0]["id"]
    assert f"[{ssh[0]['v6_id']:2d}] 22/tcp (v6)" in numbered
    # enabling twice does not duplicate the safety rules
    assert fw.post("/firewall/enable").status_code == 200
    assert fw.added() == added


def test_delete_while_active_removes_v4_and_v6(fw):
    rule = fw.find(port="5353", protocol="udp")[0]
    r = fw.delete(rule["id"])
    assert r.status_code == 200, r.text
    numbered = fw.ufw("status", "numbered")
    assert "5353" not in numbered
    assert "8080/tcp" in numbered
    assert not fw.find(port="5353")


def _connect(port, timeout=1.5):
    """'open', 'refused' or 'dropped' for a TCP connect to 127.0.0.1:port."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "dropped"
    finally:
        s.close()


def test_rules_really_filter(fw):
    # listeners in the namespace (this thread is in it)
    lst = []
    ports = []
    for _ in range(2):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        lst.append(s)
        ports.append(s.getsockname()[1])
    try:
        a, b = ports
        assert _connect(a) == "dropped"  # default deny incoming
        r = fw.post("/firewall/rules", {"port": str(a)})
        assert r.status_code == 201, r.text
        assert _connect(a) == "open"
        r = fw.post("/firewall/rules", {"port": str(b), "action": "reject"})
        assert r.status_code == 201, r.text
        assert _connect(b) == "refused"
        # deleting the allow rule closes the port again
        rid = fw.find(port=str(a))[0]["id"]
        assert fw.delete(rid).status_code == 200
        assert _connect(a) == "dropped"
        # a deny rule for a port beats nothing: it stays closed
        r = fw.post("/firewall/rules", {"port": str(a), "action": "deny"})
        assert r.status_code == 201, r.text
        assert _connect(a) == "dropped"
        # disabling the firewall opens everything; the rules stay listed
        r = fw.post("/firewall/disable")
        assert r.status_code == 200 and r.json() == {"status": "disabled"}
        assert _connect(a) == "open" and _connect(b) == "open"
        d = fw.get()
        assert d["enabled"] is False
        assert d["ufw_output"].startswith("Status: inactive")
        assert [r["id"] for r in d["rules"]] == list(range(1, len(d["rules"]) + 1))
        assert fw.find(port=str(b), action="reject")
    finally:
        for s in lst:
            s.close()


def test_delete_while_inactive_uses_show_added_positions(fw):
    added = fw.added()
    rules = fw.get()["rules"]
    assert len(rules) == len(added)
    for rule, line in zip(rules, added):
        assert rule["rule"] == line
    victim = [r for r in rules if r["port"] == "7000:7100" and r["protocol"] == "udp"][0]
    assert fw.delete(victim["id"]).status_code == 200
    assert fw.added() == [ln for ln in added if ln != "ufw allow 7000:7100/udp"]
    time.sleep(0)
