"""Sites created with "dns_provider" (issue 14, beyond the seed): the site_create
job's "dns" step writes A/AAAA of the domain and aliases at the provider
(Hostinger fixture; real PowerDNS answering dig), a bad provider is a 400 with
nothing started, a failing provider fails the job at that step and its undo
puts the zone back; GET /sites/{id}/dns says whether the name points here."""
import copy
import os
import secrets

import pytest

from conftest import Panel
from hostinger_fixture import Fixture, default_zone
from site_env import start_env, stop_env as close_env

V4, V6 = "203.0.113.9", "2001:db8::9"
KEY = "hst-" + secrets.token_hex(16)
H = "/api/hosting/providers/hostinger"


def make_env(d, server=None):
    server = server if server is not None else {"public_ipv4": V4, "public_ipv6": V6}
    return start_env(d, extra={"server": server}, units=False, bus=True, many_logins=True)


def req(e, method, path, **kw):
    return e.panel.request(method, path, token=e.token, **kw)


@pytest.fixture(scope="module")
def hst():
    with Fixture(token=KEY) as f:
        yield f


@pytest.fixture(scope="module")
def env(tmp_path_factory, hst):
    e = make_env(tmp_path_factory.mktemp("sitedns"))
    r = req(e, "POST", H + "/configure", json={"api_key": KEY, "base_url": hst.url})
    assert r.status_code == 200, r.text
    yield e
    close_env(e)


def sets(zone, name, rtype):
    return sorted(r["content"] for s in zone if s["name"] == name and s["type"] == rtype
                  for r in s["records"])


def no_trace(e, domain):
    return (e.panel.query("SELECT id FROM sites WHERE domain = ?", domain) == []
            and not os.path.lexists(os.path.join(e.ng.sites_available, domain))
            and not os.path.lexists(os.path.join(e.ng.sites_enabled, domain))
            and not os.path.exists(os.path.join(e.ng.webroot, domain)))


def test_create_with_hostinger_writes_records(env, hst):
    hst.clear_log()
    r = req(env, "POST", "/sites", timeout=120,
            json={"domain": "shop.io", "aliases": "new.shop.io", "dns_provider": "hostinger"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    zone = hst.state.zones["shop.io"]
    assert sets(zone, "@", "A") == [V4]          # replaced 192.0.2.10
    assert sets(zone, "@", "AAAA") == [V6]
    assert sets(zone, "new", "A") == [V4]
    assert sets(zone, "new", "AAAA") == [V6]
    assert sets(zone, "@", "MX") == ["10 mx2.hostinger.com", "5 mx1.hostinger.com"]  # untouched
    puts = hst.requests("PUT", "/api/dns/v1/zones/shop.io")
    assert len(puts) == 4
    assert all(p["body"]["overwrite"] is True for p in puts)
    assert all(p["authorization"] == "Bearer " + KEY for p in puts)
    d = req(env, "GET", f"/sites/{sid}").json()["Site"]
    assert d["dns_provider"] == "hostinger"
    assert env.panel.query("SELECT dns_provider FROM sites WHERE id = ?", sid) == [("hostinger",)]
    jobs = req(env, "GET", "/api/jobs").json()
    jobs = jobs["jobs"] if isinstance(jobs, dict) else jobs
    jid = [j for j in jobs if j["subject"] == f"site:{sid}" and j["kind"] == "site_create"][0]["id"]
    steps = {s["name"]: s["state"] for s in req(env, "GET", f"/api/jobs/{jid}").json()["steps"]}
    assert steps["dns"] == "done", steps
    names = [s["name"] for s in req(env, "GET", f"/api/jobs/{jid}").json()["steps"]]
    assert names.index("dns") < names.index("nginx")
    assert KEY not in r.text and KEY not in req(env, "GET", f"/api/jobs/{jid}").text


@pytest.mark.parametrize("prov,word", [("nosuch", "unknown provider"),
                                       ("powerdns", "not configured"),
                                       ("", None)])
def test_bad_provider_400_nothing_started(env, hst, prov, word):
    hst.clear_log()
    before = env.panel.query("SELECT COUNT(*) FROM jobs")
    r = req(env, "POST", "/sites", json={"domain": "bad.example.com", "dns_provider": prov})
    if word is None:  # "" = no provider: a plain create
        assert r.status_code == 201, r.text
        assert req(env, "DELETE", f"/sites/{r.json()['id']}", timeout=60).status_code == 200
        return
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("dns_provider"), r.text
    assert word in r.json()["error"]
    assert env.panel.query("SELECT COUNT(*) FROM jobs") == before
    assert no_trace(env, "bad.example.com")
    assert hst.requests() == []


def test_bad_provider_type_400(env):
    r = req(env, "POST", "/sites", json={"domain": "bad2.example.com", "dns_provider": 5})
    assert r.status_code == 400 and "dns_provider" in r.json()["error"], r.text
    assert no_trace(env, "bad2.example.com")


def test_update_cannot_set_dns_provider(env):
    r = req(env, "POST", "/sites", json={"domain": "upd.example.com"}, timeout=60)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = req(env, "PUT", f"/sites/{sid}", json={"dns_provider": "hostinger"})
    assert r.status_code == 400 and "dns_provider" in r.json()["error"], r.text
    assert req(env, "DELETE", f"/sites/{sid}", timeout=60).status_code == 200


def test_failing_provider_fails_dns_step_and_undoes(env, hst):
    """example.com's records are written, then the alias's zone answers 500:
    the job fails at "dns", the undo puts example.com's zone back as it was
    and nothing of the site stays."""
    original = copy.deepcopy(hst.state.zones["example.com"])
    assert original == default_zone("example.com")
    hst.clear_log()
    hst.force(500, {"message": "zone store unavailable"}, prefix="/api/dns/v1/zones/shop.io")
    r = req(env, "POST", "/sites", timeout=120,
            json={"domain": "example.com", "aliases": "x.shop.io", "dns_provider": "hostinger"})
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["step"] == "dns", body
    assert body["error"].startswith("dns failed: "), body
    assert "zone store unavailable" in body["error"], body
    # the step had written example.com's A and AAAA ...
    assert len(hst.requests("PUT", "/api/dns/v1/zones/example.com")) >= 2
    # ... and the undo put the zone back: the A set restored, the AAAA set removed
    zone = hst.state.zones["example.com"]
    assert sets(zone, "@", "A") == ["192.0.2.10"]
    assert sets(zone, "@", "AAAA") == []
    assert sorted((s["name"], s["type"]) for s in zone) == \
        sorted((s["name"], s["type"]) for s in original)
    # shop.io untouched by this job
    assert hst.requests("PUT", "/api/dns/v1/zones/shop.io") == []
    assert hst.requests("DELETE", "/api/dns/v1/zones/shop.io") == []
    assert no_trace(env, "example.com")
    jid = env.panel.query("SELECT id, state, step FROM jobs WHERE kind = 'site_create' "
                          "ORDER BY id DESC LIMIT 1")[0]
    assert jid[1] == "failed" and jid[2] == "dns", jid


def test_site_dns_route(env):
    r = req(env, "POST", "/sites", json={"domain": "nowhere.invalid"}, timeout=60)
    if r.status_code == 400:
        r = req(env, "POST", "/sites", json={"domain": "nowhere.example.invalid"}, timeout=60)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    d = req(env, "GET", f"/sites/{sid}/dns")
    assert d.status_code == 200, d.text
    j = d.json()
    assert j["points_here"] is False
    assert j["addresses"] == []
    assert j["server_addresses"] == [V4, V6]
    assert "error" in j
    assert req(env, "GET", "/sites/999999/dns").status_code == 404
    assert req(env, "GET", "/sites/abc/dns").status_code == 400
    assert req(env, "DELETE", f"/sites/{sid}", timeout=60).status_code == 200


def test_site_dns_points_here(tmp_path):
    """A name that resolves (/etc/hosts: localhost) to the configured address."""
    e = make_env(tmp_path, server={"public_ipv4": "127.0.0.1"})
    try:
        r = req(e, "POST", "/sites", json={"domain": "localhost"}, timeout=60)
        if r.status_code == 400:
            pytest.skip("a one-label domain is not a valid site domain")
        assert r.status_code == 201, r.text
        j = req(e, "GET", f"/sites/{r.json()['id']}/dns").json()
        assert "127.0.0.1" in j["addresses"], j
        assert j["points_here"] is True, j
    finally:
        close_env(e)


def test_bad_public_address_refused(tmp_path):
    p = Panel(tmp_path, extra={"server": {"public_ipv4": "2001:db8::1"}})
    r = p.cli("check")
    assert r.returncode != 0
    assert "server.public_ipv4" in (r.stdout + r.stderr)


def test_create_with_powerdns_answers_dig(tmp_path):
    """Real PowerDNS: the records the dns step wrote answer DNS queries."""
    import shutil

    from test_hosting_powerdns import KEY as PDNS_KEY, SCHEMA, Pdns
    if not shutil.which("pdns_server") or not os.path.exists(SCHEMA) or not shutil.which("dig"):
        pytest.skip("pdns-server, pdns-backend-sqlite3 and dig (scripts/install-deps.sh test)")
    pd = Pdns(tmp_path / "pdns")
    try:
        pd.wait_for(pd.api_up, "the API did not answer")
        pd.create_zone("zone.test")
        pd.wait_for(lambda: pd.dig("zone.test", "SOA", check=False), "DNS did not answer")
        e = make_env(tmp_path / "env")
        try:
            r = req(e, "POST", "/api/hosting/providers/powerdns/configure",
                    json={"api_key": PDNS_KEY, "base_url": pd.api,
                          "extra": {"server_id": "localhost"}})
            assert r.status_code == 200, r.text
            r = req(e, "POST", "/sites", timeout=120,
                    json={"domain": "www.zone.test", "aliases": "zone.test",
                          "dns_provider": "powerdns"})
            assert r.status_code == 201, r.text
            for name in ("www.zone.test", "zone.test"):
                pd.wait_for(lambda: pd.dig(name, "A") == [V4], f"A of {name}")
                pd.wait_for(lambda: pd.dig(name, "AAAA") == [V6], f"AAAA of {name}")
            # a failing create (the alias has no zone there) leaves no record behind
            r = req(e, "POST", "/sites", timeout=120,
                    json={"domain": "api.zone.test", "aliases": "other.example",
                          "dns_provider": "powerdns"})
            assert r.status_code == 502, r.text
            assert r.json()["step"] == "dns"
            assert "no DNS zone for other.example" in r.json()["error"]
            assert pd.dig("api.zone.test", "A") == []
            assert pd.dig("api.zone.test", "AAAA") == []
            assert pd.dig("www.zone.test", "A") == [V4]  # the first site's stay
            assert no_trace(e, "api.zone.test")
        finally:
            close_env(e)
    finally:
        pd.stop()


def detected(family, dest):
    """What the panel detects: the route's source address, when global."""
    import ipaddress
    import socket
    try:
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            s.connect((dest, 53))
            a = s.getsockname()[0]
        finally:
            s.close()
    except OSError:
        return None
    return a if ipaddress.ip_address(a).is_global else None


def test_detected_addresses_without_config(tmp_path):
    """No server.public_ipv4/6: the addresses come from the routing table and
    only a global one is published; with none, the create is a 400 before
    anything starts."""
    v4, v6 = detected(2, "192.0.2.1"), detected(10, "2001:db8::1")
    with Fixture(token=KEY) as fx:
        e = make_env(tmp_path, server={})
        try:
            r = req(e, "POST", H + "/configure", json={"api_key": KEY, "base_url": fx.url})
            assert r.status_code == 200, r.text
            fx.clear_log()
            r = req(e, "POST", "/sites", timeout=120,
                    json={"domain": "shop.io", "dns_provider": "hostinger"})
            zone = fx.state.zones["shop.io"]
            if not v4 and not v6:
                assert r.status_code == 400, r.text
                assert "no public address" in r.json()["error"]
                assert r.json()["error"].startswith("dns_provider")
                assert fx.requests() == [] and no_trace(e, "shop.io")
                assert sets(zone, "@", "A") == ["192.0.2.10"]
            else:
                assert r.status_code == 201, r.text
                assert sets(zone, "@", "A") == ([v4] if v4 else ["192.0.2.10"])
                assert sets(zone, "@", "AAAA") == ([v6] if v6 else [])
        finally:
            close_env(e)
