"""The powerdns provider against a real pdns_server (gsqlite3 backend) on
loopback free ports: records written through the panel answer real DNS
queries (dig), deletes and overwrites take effect, errors map as the spec
says. Recipe: shared/testing/system-peers.md §10."""
import os
import secrets
import shutil
import sqlite3
import subprocess
import time

import waiting

import pytest
import requests

from ports import free_ports

P = "/api/hosting/providers/powerdns"
KEY = "pdns-" + secrets.token_hex(12)
ZONE = "example.test"
SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"

pytestmark = pytest.mark.skipif(
    not shutil.which("pdns_server") or not os.path.exists(SCHEMA) or not shutil.which("dig"),
    reason="pdns-server, pdns-backend-sqlite3 and dig (scripts/install-deps.sh test)")


class Pdns:
    def __init__(self, d):
        self.dir = str(d)
        self.dns_port, self.api_port = free_ports(2)
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        db = os.path.join(self.dir, "pdns.sqlite3")
        with open(SCHEMA) as f:
            con = sqlite3.connect(db)
            con.executescript(f.read())
            con.close()
        conf = [
            "launch=gsqlite3", f"gsqlite3-database={db}", "local-address=127.0.0.1",
            f"local-port={self.dns_port}", "api=yes", f"api-key={KEY}", "webserver=yes",
            "webserver-address=127.0.0.1", f"webserver-port={self.api_port}",
            "webserver-allow-from=127.0.0.0/8", f"socket-dir={self.dir}/run", "daemon=no",
            "guardian=no", "disable-syslog=yes", "loglevel=4", "security-poll-suffix=",
            "default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600",
        ]
        with open(os.path.join(self.dir, "pdns.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        self.log = open(os.path.join(self.dir, "pdns.log"), "wb")
        self.proc = subprocess.Popen(["pdns_server", f"--config-dir={self.dir}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def api(self):
        return f"http://127.0.0.1:{self.api_port}"

    def wait_for(self, cond, what):
        def alive_and():
            assert self.proc.poll() is None, "pdns_server exited"
            return cond()
        if not waiting.wait_for(alive_and, 20):
            raise RuntimeError("pdns_server: " + what)

    def api_up(self):
        try:
            return requests.get(self.api + "/api/v1/servers/localhost",
                                headers={"X-API-Key": KEY}, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def create_zone(self, name):
        r = requests.post(self.api + "/api/v1/servers/localhost/zones",
                          headers={"X-API-Key": KEY},
                          json={"name": name + ".", "kind": "Native",
                                "nameservers": [f"ns1.{name}."]})
        assert r.status_code == 201, r.text

    def dig(self, name, rtype, check=True):
        p = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.dns_port), "+short", "+tries=1",
                            "+time=2", name, rtype], capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            if check:
                raise AssertionError(p.stdout + p.stderr)
            return None
        return sorted(x for x in p.stdout.splitlines() if x)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def pdns(tmp_path_factory):
    p = Pdns(tmp_path_factory.mktemp("pdns"))
    try:
        p.wait_for(p.api_up, "the API did not answer")
        p.create_zone(ZONE)
        p.wait_for(lambda: p.dig(ZONE, "SOA", check=False), "DNS did not answer")
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def pd(panel, admin_token, pdns):
    r = panel.request("POST", P + "/configure", token=admin_token,
                      json={"api_key": KEY, "base_url": pdns.api,
                            "extra": {"server_id": "localhost"}})
    assert r.status_code == 200, r.text

    def do(method, path, **kw):
        return panel.request(method, P + path, token=admin_token, **kw)
    yield do
    panel.request("DELETE", P, token=admin_token)


def test_test_connection(pd):
    r = pd("POST", "/test")
    assert r.status_code == 200, r.text
    assert "PowerDNS 4." in r.json()["message"]


def test_records_answer_real_dns(pd, pdns):
    recs = [
        {"type": "A", "name": "@", "content": "192.0.2.1", "ttl": 300},
        {"type": "A", "name": "www", "content": "192.0.2.2", "ttl": 300},
        {"type": "AAAA", "name": "www", "content": "2001:db8::2", "ttl": 300},
        {"type": "CNAME", "name": "blog", "content": "www.example.test", "ttl": 300},
        {"type": "MX", "name": "@", "content": "mx.example.test", "ttl": 300, "priority": 10},
        {"type": "TXT", "name": "@", "content": 'v=spf1 -all "quoted"', "ttl": 300},
        {"type": "SRV", "name": "_sip._tcp", "content": "5 5060 sip.example.test", "ttl": 300,
         "priority": 20},
        {"type": "CAA", "name": "@", "content": '0 issue "letsencrypt.org"', "ttl": 300},
    ]
    for rec in recs:
        r = pd("POST", f"/dns/{ZONE}", json=rec)
        assert r.status_code == 201, (rec, r.text)
    assert pdns.dig(ZONE, "A") == ["192.0.2.1"]
    assert pdns.dig("www." + ZONE, "A") == ["192.0.2.2"]
    assert pdns.dig("www." + ZONE, "AAAA") == ["2001:db8::2"]
    assert pdns.dig("blog." + ZONE, "CNAME") == ["www.example.test."]
    assert pdns.dig(ZONE, "MX") == ["10 mx.example.test."]
    assert pdns.dig(ZONE, "TXT") == ['"v=spf1 -all \\"quoted\\""']
    assert pdns.dig("_sip._tcp." + ZONE, "SRV") == ["20 5 5060 sip.example.test."]
    assert pdns.dig(ZONE, "CAA") == ['0 issue "letsencrypt.org"']
    # and back, as users write them
    got = pd("GET", f"/dns/{ZONE}").json()
    mine = {(x["name"], x["type"]): x for x in got}
    assert mine[("@", "MX")]["content"] == "mx.example.test"
    assert mine[("@", "MX")]["priority"] == 10
    assert mine[("@", "TXT")]["content"] == 'v=spf1 -all "quoted"'
    assert mine[("_sip._tcp", "SRV")]["priority"] == 20
    assert mine[("_sip._tcp", "SRV")]["content"] == "5 5060 sip.example.test"
    assert mine[("blog", "CNAME")]["content"] == "www.example.test"
    assert ("@", "SOA") not in mine


def test_append_keeps_the_set(pd, pdns):
    r = pd("POST", f"/dns/{ZONE}", json={"type": "A", "name": "multi", "content": "192.0.2.10"})
    assert r.status_code == 201
    r = pd("POST", f"/dns/{ZONE}", json={"type": "A", "name": "multi", "content": "192.0.2.11"})
    assert r.status_code == 201
    assert pdns.dig("multi." + ZONE, "A") == ["192.0.2.10", "192.0.2.11"]


def test_put_overwrite_replaces(pd, pdns):
    r = pd("PUT", f"/dns/{ZONE}", json={"overwrite": True, "records": [
        {"type": "A", "name": "multi", "content": "192.0.2.99", "ttl": 120}]})
    assert r.status_code == 200, r.text
    assert pdns.dig("multi." + ZONE, "A") == ["192.0.2.99"]


def test_validate_is_local(pd):
    r = pd("POST", f"/dns/{ZONE}/validate", json={"records": [
        {"type": "A", "name": "x", "content": "192.0.2.1"}]})
    assert r.status_code == 200 and r.json() == {"status": "valid"}
    r = pd("POST", f"/dns/{ZONE}/validate", json={"records": [
        {"type": "A", "name": "x", "content": "nope"}]})
    assert r.status_code == 400 and "records[0].content" in r.json()["error"]


def test_delete(pd, pdns):
    assert pdns.dig("www." + ZONE, "A") == ["192.0.2.2"]
    r = pd("DELETE", f"/dns/{ZONE}?name=www&type=A")
    assert r.status_code == 200, r.text
    assert pdns.dig("www." + ZONE, "A") == []
    assert pdns.dig("www." + ZONE, "AAAA") == ["2001:db8::2"]  # only that set


def test_unknown_zone_404(pd):
    r = pd("GET", "/dns/nozone.test")
    assert r.status_code == 404, r.text


def test_upstream_422_is_400(pd):
    # a CNAME next to other data at the same name: PowerDNS refuses it (422)
    r = pd("POST", f"/dns/{ZONE}", json={"type": "CNAME", "name": "www",
                                         "content": "elsewhere.test"})
    assert r.status_code == 400, r.text
    assert "CNAME" in r.json()["error"] or "conflict" in r.json()["error"].lower()


def test_wrong_key_is_502(panel, admin_token, pdns):
    r = panel.request("POST", P + "/configure", token=admin_token,
                      json={"api_key": "wrong", "base_url": pdns.api})
    assert r.status_code == 200
    r = panel.request("GET", P + f"/dns/{ZONE}", token=admin_token)
    assert r.status_code == 502
    assert r.json()["error"] == "PowerDNS rejected the credentials"
    r = panel.request("POST", P + "/configure", token=admin_token,
                      json={"api_key": KEY, "base_url": pdns.api})
    assert r.status_code == 200


def test_reset_is_501(pd):
    assert pd("POST", f"/dns/{ZONE}/reset").status_code == 501
