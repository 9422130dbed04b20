"""Hosting providers against the Hostinger fixture (tests/api/hostinger_fixture.py):
every route, what the panel sent upstream, every error mapping, the key
never leaking, viewer read-only."""
import base64
import os
import secrets
import stat
import time

import pytest

from hostinger_fixture import Fixture, ed25519_line, fingerprint, ssh_string
from ports import free_port

P = "/api/hosting/providers"
KEY = "hst-" + secrets.token_hex(16)
SEEN = []  # every answer body, searched for the key at the end


@pytest.fixture(scope="module")
def hst():
    with Fixture(token=KEY) as f:
        yield f


def call(panel, token, method, path, **kw):
    r = panel.request(method, P + path, token=token, **kw)
    SEEN.append(r.text)
    return r


@pytest.fixture(scope="module")
def h(panel, admin_token, hst):
    """The panel with Hostinger configured against the fixture."""
    r = call(panel, admin_token, "POST", "/hostinger/configure",
             json={"api_key": KEY, "base_url": hst.url})
    assert r.status_code == 200, r.text

    def do(method, path, **kw):
        return call(panel, admin_token, method, "/hostinger" + path, **kw)
    return do


def test_list_providers(panel, admin_token):
    r = call(panel, admin_token, "GET", "")
    assert r.status_code == 200
    by = {p["name"]: p for p in r.json()}
    assert by["hostinger"]["capabilities"] == ["dns", "domains", "vps", "ssh_keys", "billing"]
    assert by["powerdns"]["capabilities"] == ["dns"]
    assert by["hostinger"]["display_name"] == "Hostinger"
    assert by["powerdns"]["connected"] is False


def test_unknown_provider_404(panel, admin_token):
    r = call(panel, admin_token, "GET", "/nosuch/domains")
    assert r.status_code == 404
    assert call(panel, admin_token, "POST", "/nosuch/configure",
                json={"api_key": "x"}).status_code == 404


def test_not_configured_400(panel, admin_token):
    r = call(panel, admin_token, "GET", "/powerdns/dns/example.com")
    assert r.status_code == 400
    assert r.json()["error"] == "provider not configured"


def test_capability_missing_501(panel, admin_token):
    for m, path in [("GET", "/powerdns/domains"), ("GET", "/powerdns/vms"),
                    ("GET", "/powerdns/ssh-keys"), ("GET", "/powerdns/subscriptions"),
                    ("POST", "/powerdns/dns/example.com/reset")]:
        r = call(panel, admin_token, m, path)
        assert r.status_code == 501, (path, r.text)


@pytest.mark.parametrize("body,field", [
    ({}, "api_key"),
    ({"api_key": ""}, "api_key"),
    ({"api_key": 5}, "api_key"),
    ({"api_key": "a b"}, "api_key"),
    ({"api_key": "k", "base_url": "ftp://x"}, "base_url"),
    ({"api_key": "k", "base_url": "http://example.com"}, "base_url"),
    ({"api_key": "k", "extra": {"x": "y" * 9000}}, "extra"),
])
def test_configure_validation(panel, admin_token, body, field):
    r = call(panel, admin_token, "POST", "/hostinger/configure", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["error"]


def test_configure_stores_0600(panel, admin_token, h, hst):
    d = os.path.join(panel.data_dir, "hosting")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    f = os.path.join(d, "hostinger.json")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    with open(f) as fh:
        assert KEY in fh.read()
    r = call(panel, admin_token, "GET", "")
    assert KEY not in r.text


def test_configure_by_form(panel, admin_token, h, hst):
    r = call(panel, admin_token, "POST", "/hostinger/configure",
             data={"api_key": KEY, "base_url": hst.url})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/hosting"
    r = call(panel, admin_token, "POST", "/hostinger/configure", data={"base_url": hst.url})
    assert r.status_code == 400 and "api_key" in r.json()["error"]
    assert h("GET", "/domains").status_code == 200  # still configured with the key


def test_test_connection(panel, admin_token, h, hst):
    hst.clear_log()
    r = h("POST", "/test")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"
    assert len(hst.requests()) == 1  # one cheap call
    assert hst.requests()[0]["authorization"] == "Bearer " + KEY
    r = call(panel, admin_token, "GET", "")
    assert {p["name"]: p for p in r.json()}["hostinger"]["connected"] is True


def test_rejected_credentials_502(panel, admin_token, hst):
    r = call(panel, admin_token, "POST", "/hostinger/configure",
             json={"api_key": "wrong-key-123", "base_url": hst.url})
    assert r.status_code == 200
    try:
        r = call(panel, admin_token, "POST", "/hostinger/test")
        assert r.status_code == 502
        assert r.json()["error"] == "Hostinger rejected the credentials"
        r = call(panel, admin_token, "GET", "/hostinger/domains")
        assert r.status_code == 502
        by = {p["name"]: p for p in call(panel, admin_token, "GET", "").json()}
        assert by["hostinger"]["connected"] is False
    finally:
        r = call(panel, admin_token, "POST", "/hostinger/configure",
                 json={"api_key": KEY, "base_url": hst.url})
        assert r.status_code == 200


# ---- DNS ----

def test_dns_list_flattens(h):
    r = h("GET", "/dns/example.com")
    assert r.status_code == 200, r.text
    recs = r.json()
    mx = sorted((x for x in recs if x["type"] == "MX"), key=lambda x: x["priority"])
    assert [(x["priority"], x["content"]) for x in mx] == [(5, "mx1.hostinger.com"),
                                                          (10, "mx2.hostinger.com")]
    a = next(x for x in recs if x["type"] == "A")
    assert a == {"id": a["id"], "type": "A", "name": "@", "content": "192.0.2.10",
                 "ttl": 14400, "priority": None}
    assert a["id"].startswith("@/A/")
    assert h("GET", "/dns/example.com").json() == recs  # stable ids


def test_dns_create_appends_with_overwrite_false(h, hst):
    hst.clear_log()
    r = h("POST", "/dns/example.com",
          json={"type": "MX", "name": "@", "content": "mx3.example.net", "ttl": 3600,
                "priority": 20})
    assert r.status_code == 201, r.text
    assert r.json() == {"status": "created"}
    sent = hst.requests(prefix="/api/dns/v1/zones/example.com")
    assert [x["method"] for x in sent] == ["POST", "PUT"]  # validate, then update
    assert sent[0]["path"].endswith("/validate")
    body = sent[1]["body"]
    assert body["overwrite"] is False
    assert body["zone"] == [{"name": "@", "type": "MX", "ttl": 3600,
                             "records": [{"content": "20 mx3.example.net"}]}]
    mx = [x for x in h("GET", "/dns/example.com").json() if x["type"] == "MX"]
    assert len(mx) == 3


def test_dns_put_overwrite(h, hst):
    hst.clear_log()
    r = h("PUT", "/dns/example.com",
          json={"records": [{"type": "A", "name": "www", "content": "198.51.100.7",
                             "ttl": 300},
                            {"type": "A", "name": "www", "content": "198.51.100.8",
                             "ttl": 300}],
                "overwrite": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "updated"}
    put = hst.requests("PUT")[0]["body"]
    assert put["overwrite"] is True
    assert put["zone"][0]["records"] == [{"content": "198.51.100.7"},
                                         {"content": "198.51.100.8"}]
    www = [x for x in h("GET", "/dns/example.com").json() if x["name"] == "www"
           and x["type"] == "A"]
    assert sorted(x["content"] for x in www) == ["198.51.100.7", "198.51.100.8"]


def test_dns_put_overwrite_defaults_false(h, hst):
    hst.clear_log()
    r = h("PUT", "/dns/example.com",
          json={"records": [{"type": "TXT", "name": "@", "content": "hello world"}]})
    assert r.status_code == 200, r.text
    assert hst.requests("PUT")[0]["body"]["overwrite"] is False
    txt = [x["content"] for x in h("GET", "/dns/example.com").json() if x["type"] == "TXT"]
    assert "hello world" in txt and len(txt) == 2


def test_dns_validate_is_dry_run(h, hst):
    hst.clear_log()
    r = h("POST", "/dns/example.com/validate",
          json={"records": [{"type": "A", "name": "dry", "content": "192.0.2.99"}]})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "valid"}
    assert [x["method"] for x in hst.requests()] == ["POST"]
    assert not any(x["name"] == "dry" for x in h("GET", "/dns/example.com").json())


@pytest.mark.parametrize("rec,field", [
    ({"type": "A", "name": "@", "content": "300.1.1.1"}, "records[0].content"),
    ({"type": "AAAA", "name": "@", "content": "1.2.3.4"}, "records[0].content"),
    ({"type": "A", "name": "a..b", "content": "1.2.3.4"}, "records[0].name"),
    ({"type": "A", "name": "x.", "content": "1.2.3.4"}, "records[0].name"),
    ({"type": "BOGUS", "name": "@", "content": "x"}, "records[0].type"),
    ({"type": "A", "name": "@", "content": "1.2.3.4", "ttl": 10}, "records[0].ttl"),
    ({"type": "A", "name": "@", "content": "1.2.3.4", "ttl": 700000}, "records[0].ttl"),
    ({"type": "MX", "name": "@", "content": "mx.example.com"}, "records[0].priority"),
    ({"type": "MX", "name": "@", "content": "mx.example.com", "priority": 70000},
     "records[0].priority"),
    ({"type": "A", "name": "@", "content": "1.2.3.4", "priority": 1}, "records[0].priority"),
    ({"type": "TXT", "name": "@", "content": "x" * 4097}, "records[0].content"),
    ({"type": "TXT", "name": "@", "content": "line\nbreak"}, "records[0].content"),
    ({"type": "CNAME", "name": "w", "content": "not a host"}, "records[0].content"),
    ({"type": "CAA", "name": "@", "content": "300 issue letsencrypt.org"},
     "records[0].content"),
    ({"type": "CAA", "name": "@", "content": "0 iss-ue x"}, "records[0].content"),
    ({"type": "SRV", "name": "_sip._tcp", "content": "5 99999 sip.example.com",
      "priority": 10}, "records[0].content"),
    ({"name": "@", "content": "1.2.3.4"}, "records[0].type"),
])
def test_dns_invalid_records_never_reach_upstream(h, hst, rec, field):
    hst.clear_log()
    for path in ("/dns/example.com", "/dns/example.com/validate"):
        r = h("PUT" if path.endswith("com") else "POST", path, json={"records": [rec]})
        assert r.status_code == 400, (rec, r.text)
        assert field in r.json()["error"], r.json()
    assert hst.requests() == []


def test_dns_bad_domain_and_body(h, hst):
    hst.clear_log()
    assert h("GET", "/dns/not_a_domain").status_code == 400
    assert h("GET", "/dns/nodot").status_code == 400
    assert h("PUT", "/dns/example.com", json={"records": []}).status_code == 400
    assert h("PUT", "/dns/example.com", json={"records": "x"}).status_code == 400
    r = h("PUT", "/dns/example.com", json={"records": [{"type": "A", "name": "@",
                                                        "content": "1.2.3.4"}],
                                           "overwrite": "yes"})
    assert r.status_code == 400 and "overwrite" in r.json()["error"]
    assert hst.requests() == []


def test_dns_upstream_422_maps_to_400_with_fields(h, hst):
    r = h("POST", "/dns/example.com",
          json={"type": "CNAME", "name": "bad", "content": "reject.example"})
    assert r.status_code == 400, r.text
    j = r.json()
    assert j["error"] == "The given data was invalid."
    assert j["fields"] == {"zone.0.records.0.content": ["Upstream refuses this content."]}


def test_dns_delete_sends_filters(h, hst):
    h("POST", "/dns/example.com", json={"type": "A", "name": "gone", "content": "192.0.2.1"})
    hst.clear_log()
    r = h("DELETE", "/dns/example.com?name=gone&type=A")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "deleted"}
    d = hst.requests("DELETE")
    assert len(d) == 1
    assert d[0]["body"] == {"filters": [{"name": "gone", "type": "A"}]}
    assert d[0]["content_type"] == "application/json"
    assert not any(x["name"] == "gone" for x in h("GET", "/dns/example.com").json())


def test_dns_delete_needs_name_and_type(h, hst):
    hst.clear_log()
    r = h("DELETE", "/dns/example.com?type=A")
    assert r.status_code == 400 and "name" in r.json()["error"]
    r = h("DELETE", "/dns/example.com?name=x")
    assert r.status_code == 400 and "type" in r.json()["error"]
    r = h("DELETE", "/dns/example.com?name=x&type=WAT")
    assert r.status_code == 400 and "type" in r.json()["error"]
    assert hst.requests() == []


def test_dns_reset(h, hst):
    hst.clear_log()
    r = h("POST", "/dns/shop.io/reset")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "reset"}
    assert hst.requests()[0]["body"] == {"sync": True, "reset_email_records": True}


def test_dns_unknown_zone_404(h):
    r = h("GET", "/dns/nosuchzone.com")
    assert r.status_code == 404
    assert "correlation_id" in r.json()


# ---- error mapping ----

def test_429_is_retried_after_retry_after(h, hst):
    hst.clear_log()
    hst.force(429, headers={"Retry-After": "1"}, prefix="/api/domains/v1/portfolio")
    t0 = time.monotonic()
    r = h("GET", "/domains")
    assert r.status_code == 200, r.text
    assert time.monotonic() - t0 >= 0.9  # a lower bound only: it did wait Retry-After (1 s)
    assert len(hst.requests("GET", "/api/domains/v1/portfolio")) == 2


def test_429_after_three_retries(h, hst):
    hst.clear_log()
    hst.force(429, headers={"Retry-After": "1"}, times=4, prefix="/api/billing/v1/subscriptions")
    r = h("GET", "/subscriptions")
    assert r.status_code == 429, r.text
    assert len(hst.requests("GET", "/api/billing/v1/subscriptions")) == 4


def test_upstream_500_is_502_with_correlation_id(h, hst):
    hst.force(500, body={"message": "Internal failure", "correlation_id": "corr-123"},
              prefix="/api/vps/v1/virtual-machines")
    r = h("GET", "/vms")
    assert r.status_code == 502
    assert r.json() == {"error": "Internal failure", "correlation_id": "corr-123"}


def test_upstream_not_json_is_502(h, hst):
    hst.force(200, body="just a string", prefix="/api/vps/v1/templates")
    r = h("GET", "/templates")
    assert r.status_code == 502, r.text


def test_unreachable_is_502(panel, admin_token):
    port = free_port()
    r = call(panel, admin_token, "POST", "/powerdns/configure",
             json={"api_key": KEY, "base_url": f"http://127.0.0.1:{port}"})
    assert r.status_code == 200
    try:
        r = call(panel, admin_token, "POST", "/powerdns/test")
        assert r.status_code == 502
        assert "error" in r.json()
        r = call(panel, admin_token, "GET", "/powerdns/dns/example.com")
        assert r.status_code == 502
    finally:
        assert call(panel, admin_token, "DELETE", "/powerdns").status_code == 200
    r = call(panel, admin_token, "DELETE", "/powerdns")
    assert r.status_code == 400


# ---- domains ----

def test_domains_list_and_get(h):
    r = h("GET", "/domains")
    assert r.status_code == 200
    by = {d["name"]: d for d in r.json()}
    assert by["example.com"]["registrar"] == "hostinger"
    assert by["example.com"]["locked"] is None  # only the per-domain call knows
    assert by["example.com"]["expires_at"] == "2027-01-10T10:00:00Z"
    d = h("GET", "/domains/example.com").json()
    assert d["locked"] is True and d["privacy_protection"] is False
    assert d["nameservers"] == ["ns1.dns-parking.com", "ns2.dns-parking.com"]
    assert h("GET", "/domains/nosuch.com").status_code == 404


def test_domains_check(h, hst):
    hst.clear_log()
    r = h("POST", "/domains/check", json={"domains": ["fresh.com", "fresh.io", "taken.com",
                                                       "new.xyz"]})
    assert r.status_code == 200, r.text
    got = {x["domain"]: x for x in r.json()}
    assert got["fresh.com"] == {"domain": "fresh.com", "available": True, "price_cents": 999,
                                "currency": "USD"}
    assert got["fresh.io"]["price_cents"] == 5999  # no first_period_price: price
    assert got["taken.com"] == {"domain": "taken.com", "available": False,
                                "price_cents": None, "currency": None}
    assert got["new.xyz"]["price_cents"] is None  # no catalog item
    av = hst.requests("POST", "/api/domains/v1/availability")
    bodies = sorted((x["body"]["domain"], sorted(x["body"]["tlds"])) for x in av)
    assert bodies == [("fresh", ["com", "io"]), ("new", ["xyz"]), ("taken", ["com"])]
    assert [x["query"] for x in hst.requests("GET", "/api/billing/v1/catalog")] == \
        [{"category": ["DOMAIN"]}]


@pytest.mark.parametrize("body,field", [
    ({"domains": []}, "domains"),
    ({"domains": ["a.com"] * 21}, "domains"),
    ({"domains": ["bad_name.com"]}, "domains[0]"),
    ({"domains": ["a.com", 5]}, "domains[1]"),
    ({}, "domains"),
])
def test_domains_check_validation(h, hst, body, field):
    hst.clear_log()
    r = h("POST", "/domains/check", json=body)
    assert r.status_code == 400 and field in r.json()["error"], r.text
    assert hst.requests() == []


def test_domains_purchase_with_item_id_and_privacy(h, hst):
    hst.clear_log()
    r = h("POST", "/domains/purchase",
          json={"domain": "bought.com", "item_id": "hostingercom-domain-com-usd-1y",
                "payment_method_id": 9001, "privacy_protection": True})
    assert r.status_code == 201, r.text
    j = r.json()
    assert j["domain"] == "bought.com" and j["status"] == "completed" and j["order_id"]
    post = hst.requests("POST", "/api/domains/v1/portfolio")[0]["body"]
    assert post == {"domain": "bought.com", "item_id": "hostingercom-domain-com-usd-1y",
                    "payment_method_id": 9001}
    assert hst.requests("PUT", "/api/domains/v1/portfolio/bought.com/privacy-protection")
    assert h("GET", "/domains/bought.com").json()["privacy_protection"] is True


def test_domains_purchase_by_period(h, hst):
    hst.clear_log()
    r = h("POST", "/domains/purchase", json={"domain": "twoyears.com", "period_years": 2})
    assert r.status_code == 201, r.text
    post = hst.requests("POST", "/api/domains/v1/portfolio")[0]["body"]
    assert post["item_id"] == "hostingercom-domain-com-usd-2y"


@pytest.mark.parametrize("body,field", [
    ({"item_id": "x"}, "domain"),
    ({"domain": "bad..com", "item_id": "x"}, "domain"),
    ({"domain": "ok.com"}, "item_id"),
    ({"domain": "ok.com", "period_years": 0}, "period_years"),
    ({"domain": "ok.com", "item_id": "a b"}, "item_id"),
    ({"domain": "ok.com", "item_id": "x", "privacy_protection": "yes"}, "privacy_protection"),
])
def test_domains_purchase_validation(h, hst, body, field):
    hst.clear_log()
    r = h("POST", "/domains/purchase", json=body)
    assert r.status_code == 400 and field in r.json()["error"], r.text
    assert hst.requests() == []


def test_domains_purchase_upstream_422(h):
    r = h("POST", "/domains/purchase", json={"domain": "x1.com", "item_id": "no-such-price"})
    assert r.status_code == 400
    assert r.json()["fields"] == {"item_id": ["The selected item id is invalid."]}


def test_nameservers(h, hst):
    hst.clear_log()
    r = h("PUT", "/domains/example.com/nameservers",
          json={"nameservers": ["ns1.example.net", "ns2.example.net", "ns3.example.net"]})
    assert r.status_code == 200 and r.json() == {"status": "updated"}
    assert hst.requests("PUT")[0]["body"] == {"ns1": "ns1.example.net", "ns2": "ns2.example.net",
                                              "ns3": "ns3.example.net"}
    for bad in (["ns1.example.net"], ["a.b", "c.d", "e.f", "g.h", "i.j"], ["ns1", "ns2.x.y"],
                ["ok.example.net", "bad host"]):
        r = h("PUT", "/domains/example.com/nameservers", json={"nameservers": bad})
        assert r.status_code == 400 and "nameservers" in r.json()["error"], bad


def test_lock_and_privacy(h, hst):
    assert h("DELETE", "/domains/example.com/lock").json() == {"status": "unlocked"}
    assert h("GET", "/domains/example.com").json()["locked"] is False
    assert h("POST", "/domains/example.com/lock").json() == {"status": "locked"}
    assert h("GET", "/domains/example.com").json()["locked"] is True
    assert h("POST", "/domains/example.com/privacy").json() == {"status": "enabled"}
    assert h("GET", "/domains/example.com").json()["privacy_protection"] is True
    assert h("DELETE", "/domains/example.com/privacy").json() == {"status": "disabled"}
    hst.clear_log()
    h("POST", "/domains/example.com/lock")
    assert [(x["method"], x["path"]) for x in hst.requests()] == \
        [("PUT", "/api/domains/v1/portfolio/example.com/domain-lock")]


# ---- VPS ----

def test_vms(h):
    vms = h("GET", "/vms").json()
    vm = next(v for v in vms if v["id"] == 1001)
    assert vm == {"id": 1001, "name": "srv1001.hstgr.cloud", "status": "running",
                  "plan": "KVM 2", "data_center_id": 17, "ipv4": ["203.0.113.5"],
                  "ipv6": ["2001:db8::5"], "os": "Ubuntu 24.04 LTS", "cpus": 2,
                  "memory_mb": 8192, "disk_mb": 102400, "bandwidth_mb": 8192000,
                  "created_at": "2025-02-27T11:54:22Z"}
    assert h("GET", "/vms/1001").json() == vm
    assert h("GET", "/vms/999999").status_code == 404
    assert h("GET", "/vms/bad%20id").status_code == 400


def test_vm_create(h, hst):
    hst.clear_log()
    r = h("POST", "/vms", json={"item_id": "hostingercom-vps-kvm2-usd-1m",
                                "data_center_id": 17, "template_id": "1010",
                                "hostname": "web1.example.com", "ssh_key_id": 1,
                                "payment_method_id": 9001})
    assert r.status_code == 201, r.text
    vm = r.json()
    assert vm["name"] == "web1.example.com" and vm["os"] == "Debian 12"
    post = hst.requests("POST", "/api/vps/v1/virtual-machines")[0]["body"]
    assert post == {"item_id": "hostingercom-vps-kvm2-usd-1m", "payment_method_id": 9001,
                    "setup": {"template_id": 1010, "data_center_id": 17,
                              "hostname": "web1.example.com"}}
    att = hst.requests("POST", "/api/vps/v1/public-keys/attach/")
    assert att[0]["path"] == f"/api/vps/v1/public-keys/attach/{vm['id']}"
    assert att[0]["body"] == {"ids": [1]}


@pytest.mark.parametrize("body,field", [
    ({"data_center_id": 17, "template_id": 1}, "item_id"),
    ({"item_id": "x", "template_id": 1}, "data_center_id"),
    ({"item_id": "x", "data_center_id": 17}, "template_id"),
    ({"item_id": "x", "data_center_id": 17, "template_id": [1]}, "template_id"),
    ({"item_id": "x", "data_center_id": 17, "template_id": 1, "hostname": "bad host"},
     "hostname"),
    ({"item_id": "x", "data_center_id": 17, "template_id": 1, "password": "short"},
     "password"),
])
def test_vm_create_validation(h, hst, body, field):
    hst.clear_log()
    r = h("POST", "/vms", json=body)
    assert r.status_code == 400 and field in r.json()["error"], r.text
    assert hst.requests() == []


def test_vm_power(h, hst):
    r = h("POST", "/vms/1001/stop")
    assert r.status_code == 202, r.text
    j = r.json()
    assert j["action"] == "stop" and j["state"] == "success" and j["action_id"]
    assert h("GET", "/vms/1001").json()["status"] == "stopped"
    assert h("POST", "/vms/1001/start").status_code == 202
    assert h("POST", "/vms/1001/restart").status_code == 202
    assert h("GET", "/vms/1001").json()["status"] == "running"


def test_vm_metrics(h, hst):
    hst.clear_log()
    r = h("GET", "/vms/1001/metrics?from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z")
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["cpu_percent"] == [[1735689600, 12.5], [1735689900, 40.0], [1735690200, 7.25]]
    assert m["uptime_s"][0] == [1735689600, 3600.0]  # milliseconds upstream
    assert m["ram_bytes"][1] == [1735689900, 2147483648.0]
    assert m["net_in_bytes"][0][1] == 4000 and m["net_out_bytes"][0][1] == 1000
    q = hst.requests("GET")[0]["query"]
    assert q == {"date_from": ["2025-01-01T00:00:00Z"], "date_to": ["2025-01-02T00:00:00Z"]}
    assert h("GET", "/vms/1001/metrics").status_code == 200  # default: the last 24 h
    r = h("GET", "/vms/1001/metrics?from=yesterday")
    assert r.status_code == 400 and "from" in r.json()["error"]


def test_datacenters_templates(h):
    dcs = h("GET", "/datacenters").json()
    assert dcs[0] == {"id": 17, "name": "nl-srv-openstack", "location": "nl",
                      "city": "Amsterdam", "continent": "Europe"}
    tpl = h("GET", "/templates").json()
    assert tpl[1] == {"id": 1010, "name": "Debian 12", "description": "Debian bookworm"}


# ---- SSH keys ----

def test_ssh_keys_every_page(h, hst):
    hst.clear_log()
    keys = h("GET", "/ssh-keys").json()
    ids = [k["id"] for k in keys]
    assert set(range(1, 8)) <= set(ids)
    pages = [x["query"].get("page") for x in hst.requests("GET", "/api/vps/v1/public-keys")]
    assert pages == [["1"], ["2"], ["3"]]
    k1 = next(k for k in keys if k["id"] == 1)
    assert k1["fingerprint"] == fingerprint(k1["public_key"])


def rsa_line(bits):
    n = (1 << (bits - 1)) | 1
    nb = b"\x00" + n.to_bytes(bits // 8, "big")
    blob = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(nb)
    return "ssh-rsa " + base64.b64encode(blob).decode()


def ecdsa_line(curve, point_len):
    t = b"ecdsa-sha2-" + curve
    blob = ssh_string(t) + ssh_string(curve) + ssh_string(b"\x04" + b"\x07" * (point_len - 1))
    return t.decode() + " " + base64.b64encode(blob).decode()


RSA1024 = rsa_line(1024)


@pytest.mark.parametrize("key,why", [
    ("not a key", "type"),
    ("ssh-ed25519", "OpenSSH"),
    ("ssh-ed25519 !!!!", "base64"),
    ("ssh-dss " + ed25519_line(1).split()[1], "type"),
    ("ssh-rsa " + ed25519_line(1).split()[1], "match"),
    (RSA1024, "2048"),
    ("", "OpenSSH"),
])
def test_ssh_key_validation(h, hst, key, why):
    hst.clear_log()
    r = h("POST", "/ssh-keys", json={"name": "k", "public_key": key})
    assert r.status_code == 400, r.text
    assert "public_key" in r.json()["error"]
    assert why in r.json()["error"]
    assert hst.requests() == []


@pytest.mark.parametrize("line", [rsa_line(2048), rsa_line(4096), ecdsa_line(b"nistp256", 65),
                                  ecdsa_line(b"nistp384", 97), ecdsa_line(b"nistp521", 133)])
def test_ssh_key_types_accepted(h, line):
    r = h("POST", "/ssh-keys", json={"name": "t", "public_key": line})
    assert r.status_code == 201, r.text
    assert r.json()["fingerprint"] == fingerprint(line)
    assert h("DELETE", f"/ssh-keys/{r.json()['id']}").status_code == 200


def test_ssh_key_add_delete_attach(h, hst):
    line = ed25519_line("new", "me@laptop")
    r = h("POST", "/ssh-keys", json={"name": "laptop", "public_key": line + "\n"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["fingerprint"] == fingerprint(line) and k["name"] == "laptop"
    assert hst.requests("POST", "/api/vps/v1/public-keys")[-1]["body"] == \
        {"name": "laptop", "key": line}
    r = h("POST", "/ssh-keys/attach", json={"vm_id": 1001, "key_ids": [k["id"], 2]})
    assert r.status_code == 200 and r.json() == {"status": "attached"}
    assert hst.requests("POST", "/api/vps/v1/public-keys/attach/1001")[-1]["body"] == \
        {"ids": [k["id"], 2]}
    assert h("POST", "/ssh-keys/attach", json={"vm_id": 1001}).status_code == 400
    assert h("DELETE", f"/ssh-keys/{k['id']}").json() == {"status": "deleted"}
    assert k["id"] not in [x["id"] for x in h("GET", "/ssh-keys").json()]
    assert h("DELETE", f"/ssh-keys/{k['id']}").status_code == 404
    assert h("POST", "/ssh-keys", json={"public_key": line}).status_code == 400


# ---- billing ----

def test_billing(h, hst):
    subs = h("GET", "/subscriptions").json()
    assert subs == [{"id": "Azz5nTwTXd2Hk1Ccs", "name": "KVM 2", "status": "active",
                     "price_cents": 1299, "renewal_price_cents": 1499, "currency": "USD",
                     "billing_period": "1 month", "auto_renew": True,
                     "created_at": "2025-02-27T11:54:22Z",
                     "expires_at": "2026-02-27T11:54:22Z",
                     "next_billing_at": "2026-01-27T11:54:22Z"}]
    cat = h("GET", "/catalog").json()
    com1 = next(c for c in cat if c["id"] == "hostingercom-domain-com-usd-1y")
    assert com1 == {"id": "hostingercom-domain-com-usd-1y",
                    "product_id": "hostingercom-domain-com", "name": ".COM Domain",
                    "category": "DOMAIN", "price_cents": 1799, "first_period_price_cents": 999,
                    "currency": "USD", "period": 1, "period_unit": "year"}
    vps = h("GET", "/catalog?category=VPS").json()
    assert [c["category"] for c in vps] == ["VPS"]
    assert h("GET", "/catalog?category=FOOD").status_code == 400
    pm = h("GET", "/payment-methods").json()
    assert pm == [{"id": 9001, "name": "Credit Card", "identifier": "**** 4242",
                   "is_default": True, "is_expired": False}]


# ---- roles, page, secrecy ----

def test_viewer_read_only(panel, admin_token, h):
    panel.create_user(admin_token, "hviewer", "viewer-pass-123", role="viewer")
    vt = panel.login("hviewer", "viewer-pass-123")
    assert call(panel, vt, "GET", "").status_code == 200
    assert call(panel, vt, "GET", "/hostinger/domains").status_code == 200
    for m, path, body in [("POST", "/hostinger/configure", {"api_key": "x"}),
                          ("POST", "/hostinger/test", None),
                          ("DELETE", "/hostinger", None),
                          ("POST", "/hostinger/dns/example.com",
                           {"type": "A", "name": "v", "content": "1.2.3.4"}),
                          ("POST", "/hostinger/domains/purchase", {"domain": "v.com",
                                                                   "item_id": "x"}),
                          ("POST", "/hostinger/vms/1001/stop", None)]:
        r = call(panel, vt, m, path, json=body)
        assert r.status_code == 403, (path, r.text)


def test_page_json(panel, admin_token):
    r = panel.request("GET", "/hosting", token=admin_token)
    assert r.status_code == 200
    assert {p["name"] for p in r.json()} == {"hostinger", "powerdns"}
    r = panel.request("GET", "/hosting", token=admin_token, headers={"Accept": "text/html"})
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]


def test_key_never_leaks(panel, admin_token, h):
    """Last: every answer of this module, the panel's log, the audit rows."""
    assert SEEN
    for body in SEEN:
        assert KEY not in body
    assert KEY not in panel.read_log()
    rows = panel.query("SELECT * FROM audit_log")
    assert rows
    assert KEY not in repr(rows)
