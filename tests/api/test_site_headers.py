"""Per-site security headers and body size (issue 11) against a real nginx in
a private prefix: `max_body_size` and `security_headers` are optional on
POST /sites and PUT /sites/{id}, shown on the site object, rendered into the
vhost (which `nginx -t` accepts in the transaction) and served by nginx; bad
values are 400 naming the field with nothing written; a create in the seed's
shape, without them, gets today's vhost."""
import http.client
import os

import pytest

from site_env import start_env, stop_env
from waiting import wait_for

DEFAULT_HEADERS = (
    "add_header X-Content-Type-Options nosniff always;",
    "add_header Referrer-Policy strict-origin-when-cross-origin always;",
    "add_header X-Frame-Options SAMEORIGIN always;",
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = start_env(tmp_path_factory.mktemp("headers"))
    yield e
    stop_env(e)


def req(e, method, path, **kw):
    kw.setdefault("timeout", 120)
    return e.panel.request(method, path, token=e.token, **kw)


def vhost(e, domain):
    path = os.path.join(e.ng.sites_available, domain)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def headers_of(e, host):
    """The headers (lower-case names) nginx answers GET / for host with."""
    _, hdrs, _ = e.ng.get(host)
    return {k.lower(): v for k, v in hdrs.items()}


def post_status(e, host, length):
    """The status nginx answers a POST announcing length body bytes with
    (nginx decides from Content-Length; no body is sent)."""
    c = http.client.HTTPConnection("127.0.0.1", e.ng.http_port, timeout=5)
    try:
        c.putrequest("POST", "/", skip_host=True)
        c.putheader("Host", host)
        c.putheader("Content-Length", str(length))
        c.endheaders()
        return c.getresponse().status
    finally:
        c.close()


def site_id(e, domain):
    rows = e.panel.query("SELECT id FROM sites WHERE domain = ?", domain)
    return rows[0][0] if rows else None


def test_seed_create_keeps_todays_vhost(env):
    e = env
    r = req(e, "POST", "/sites", json={"domain": "plain.test"})
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"id", "domain", "app_type", "enabled", "app_port", "deployment_id"}
    text = vhost(e, "plain.test")
    assert "    client_max_body_size 64m;\n" in text  # nginx.client_max_body_size
    for line in DEFAULT_HEADERS:
        assert line in text
    assert "Content-Security-Policy" not in text
    site = req(e, "GET", f"/sites/{r.json()['id']}").json()["Site"]
    assert site["max_body_size"] == ""
    assert site["security_headers"] == "default"
    listed = [s for s in req(e, "GET", "/sites").json() if s["domain"] == "plain.test"]
    assert listed[0]["max_body_size"] == "" and listed[0]["security_headers"] == "default"
    assert e.ng.wait_serving("plain.test", "plain.test")
    h = headers_of(e, "plain.test")
    assert h["x-frame-options"] == "SAMEORIGIN"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"


def test_create_with_size_and_strict(env):
    e = env
    r = req(e, "POST", "/sites", json={"domain": "big.test", "max_body_size": "200m",
                                       "security_headers": "strict"})
    assert r.status_code == 201, r.text
    text = vhost(e, "big.test")
    assert "    client_max_body_size 200m;\n" in text
    assert "client_max_body_size 64m;" not in text
    assert "add_header X-Frame-Options DENY always;" in text
    assert "add_header Content-Security-Policy \"frame-ancestors 'none'\" always;" in text
    site = req(e, "GET", f"/sites/{r.json()['id']}").json()["Site"]
    assert site["max_body_size"] == "200m"
    assert site["security_headers"] == "strict"
    assert e.ng.wait_serving("big.test", "big.test")
    h = headers_of(e, "big.test")
    assert h["x-frame-options"] == "DENY"
    assert h["content-security-policy"] == "frame-ancestors 'none'"
    assert h["x-content-type-options"] == "nosniff"


def test_put_changes_vhost(env):
    e = env
    r = req(e, "POST", "/sites", json={"domain": "small.test", "max_body_size": "1k"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert e.ng.wait_serving("small.test", "small.test")
    assert post_status(e, "small.test", 2048) == 413
    assert post_status(e, "small.test", 512) != 413

    # off: the headers are gone from the vhost and from the answers
    r = req(e, "PUT", f"/sites/{sid}", json={"security_headers": "off"})
    assert r.status_code == 200, r.text
    assert r.json()["security_headers"] == "off"
    assert r.json()["max_body_size"] == "1k"
    text = vhost(e, "small.test")
    assert "add_header" not in text
    assert "    client_max_body_size 1k;\n" in text
    wait_for(lambda: "x-frame-options" not in headers_of(e, "small.test"),
             what="the reloaded vhost without headers", errors=(OSError,))
    h = headers_of(e, "small.test")
    assert "x-content-type-options" not in h and "referrer-policy" not in h

    # "" is the config's size again; default headers back
    r = req(e, "PUT", f"/sites/{sid}", json={"max_body_size": "", "security_headers": "default"})
    assert r.status_code == 200, r.text
    assert r.json()["max_body_size"] == ""
    text = vhost(e, "small.test")
    assert "    client_max_body_size 64m;\n" in text
    for line in DEFAULT_HEADERS:
        assert line in text
    wait_for(lambda: post_status(e, "small.test", 2048) != 413,
             what="the config's body size served", errors=(OSError,))
    row = e.panel.query("SELECT max_body_size, security_headers FROM sites WHERE id = ?", sid)
    assert tuple(row[0]) == ("", "default")


BAD = [
    ({"max_body_size": "10m; include /etc/shadow"}, "max_body_size"),
    ({"max_body_size": "10m;\n include /etc/shadow"}, "max_body_size"),
    ({"max_body_size": "5g"}, "max_body_size"),
    ({"max_body_size": "10mb"}, "max_body_size"),
    ({"max_body_size": "big"}, "max_body_size"),
    ({"max_body_size": 10}, "max_body_size"),
    ({"security_headers": "none"}, "security_headers"),
    ({"security_headers": "Strict"}, "security_headers"),
    ({"security_headers": ""}, "security_headers"),
    ({"security_headers": True}, "security_headers"),
]


@pytest.mark.parametrize("extra,field", BAD)
def test_create_refuses_bad_values(env, extra, field):
    e = env
    r = req(e, "POST", "/sites", json={"domain": "bad.test", **extra})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field), r.text
    assert site_id(e, "bad.test") is None
    assert vhost(e, "bad.test") is None
    assert not os.path.exists(os.path.join(e.ng.webroot, "bad.test"))


@pytest.mark.parametrize("extra,field", BAD)
def test_update_refuses_bad_values(env, extra, field):
    e = env
    sid = site_id(e, "keep.test")
    if sid is None:
        r = req(e, "POST", "/sites", json={"domain": "keep.test", "max_body_size": "2m"})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
    before = vhost(e, "keep.test")
    row = e.panel.query("SELECT max_body_size, security_headers, updated_at FROM sites"
                        " WHERE id = ?", sid)
    r = req(e, "PUT", f"/sites/{sid}", json=extra)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field), r.text
    assert vhost(e, "keep.test") == before
    assert e.panel.query("SELECT max_body_size, security_headers, updated_at FROM sites"
                         " WHERE id = ?", sid) == row


def test_new_site_defaults(env):
    e = env
    r = req(e, "GET", "/sites/new")
    assert r.status_code == 200
    d = r.json()
    assert d["max_body_size"] == "" and d["max_body_size_default"] == "64m"
    assert d["security_headers"] == "default"
    assert d["security_headers_modes"] == ["default", "strict", "off"]
