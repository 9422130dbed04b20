"""The outbound client over TLS: the Hostinger fixture serves HTTPS with a
throw-away certificate that only `hosting.ca_bundle` makes trusted. The
certificate is verified (an untrusted one is a 502, nothing sent) and
sequential panel calls reuse one upstream TLS connection (counted at the
fixture)."""
import os
import secrets
import subprocess

import pytest

from hostinger_fixture import Fixture

P = "/api/hosting/providers/hostinger"
KEY = "hst-" + secrets.token_hex(16)


def make_cert(d):
    cert, key = os.path.join(d, "up.pem"), os.path.join(d, "up.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("up"))
    cert, key = make_cert(d)
    with Fixture(token=KEY, certfile=cert, keyfile=key) as f:
        f.cert = cert
        yield f


def configure(p, token, url):
    r = p.request("POST", P + "/configure", token=token, json={"api_key": KEY, "base_url": url})
    assert r.status_code == 200, r.text


def test_untrusted_certificate_is_502(fresh_panel, up):
    p = fresh_panel()
    t = p.login()
    configure(p, t, up.url)
    up.clear_log()
    r = p.request("GET", P + "/domains", token=t)
    assert r.status_code == 502, r.text
    assert up.requests() == []  # the handshake failed: no request went out
    assert KEY not in r.text


def test_one_connection_for_sequential_calls(fresh_panel, up):
    p = fresh_panel(extra={"hosting": {"ca_bundle": up.cert}})
    t = p.login()
    configure(p, t, up.url)
    assert p.request("POST", P + "/test", token=t).status_code == 200
    before = up.connections
    up.clear_log()
    for _ in range(20):
        r = p.request("GET", P + "/domains", token=t)
        assert r.status_code == 200, r.text
    assert len(up.requests("GET", "/api/domains/v1/portfolio")) == 20
    assert up.connections - before == 0  # the connection of /test served all 20
    assert KEY not in p.read_log()
