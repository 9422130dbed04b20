"""What third-party checkers say (issue 11): testssl.sh against the panel's
own TLS and against a TLS vhost the panel wrote (with the ssl-params snippet
`setup` writes) shows no "NOT ok" line; the gixy nginx analyser finds
nothing in the generated config. Each skips with its reason when the tool is
absent. Slow (testssl makes hundreds of handshakes): minutes, not seconds."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import Panel
from nginx_prefix import NginxPrefix, skip_without_nginx

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")
GIXY = shutil.which("gixy")

# Certificate checks (-S) are left out: a self-signed certificate is "NOT ok"
# by nature (chain of trust, no CRL/OCSP). What is checked is what the panel
# chooses: protocols, ciphers, forward secrecy, the known vulnerabilities.
TESTSSL_ARGS = ["--color", "0", "--quiet", "--warnings", "batch", "--nodns", "min",
                "-p", "-s", "-f", "-U"]
# The panel closes a connection that asks to renegotiate; testssl 3.0 can
# report that as a client-initiated renegotiation finding.
KNOWN_FALSE_POSITIVE = re.compile(r"Client-Initiated Renegotiation")


def not_ok_lines(out):
    return [line for line in out.splitlines()
            if "NOT ok" in line and not KNOWN_FALSE_POSITIVE.search(line)]


def run_testssl(target, ip="127.0.0.1"):
    r = subprocess.run([TESTSSL, *TESTSSL_ARGS, "--ip", ip, target], capture_output=True,
                       text=True, timeout=1500)
    assert "Done" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    skip_without_nginx()
    d = tmp_path_factory.mktemp("checkers")
    ng = NginxPrefix(d / "nginx", own_default=False).start()
    units = d / "units"
    units.mkdir()
    extra = ng.panel_config()
    extra["systemd"] = {"unit_dir": str(units)}
    os.makedirs(d / "panel")
    p = Panel(d / "panel", extra=extra,
              env={"SETEC_SYSTEM_BUS": "unix:path=" + str(d / "no-bus")})
    # setup writes the snippets (ssl-params.conf) and the panel's unit
    r = p.cli("setup")
    assert r.returncode == 0, r.stdout + r.stderr
    p.start()
    tok = p.login()
    cert = os.path.join(p.tmp, "tls", "cert.pem")
    key = os.path.join(p.tmp, "tls", "key.pem")
    r = p.request("POST", "/sites", token=tok, timeout=120,
                  json={"domain": "tls.test", "ssl_enabled": True, "ssl_cert_path": cert,
                        "ssl_key_path": key})
    assert r.status_code == 201, r.text
    yield ng, p, str(units)
    p.stop()
    ng.stop()


def test_unit_sets_limits(env):
    _, _, units = env
    with open(os.path.join(units, "setec-manager.service")) as f:
        unit = f.read()
    assert re.search(r"^LimitNOFILE=\d+$", unit, re.M), unit
    assert "PrivateTmp=yes" in unit


@pytest.mark.skipif(not TESTSSL, reason="testssl.sh is not installed (Debian package testssl.sh)")
def test_testssl_panel(env):
    _, p, _ = env
    out = run_testssl(f"127.0.0.1:{p.port}")
    assert not_ok_lines(out) == [], out
    assert "TLS 1.2    offered" in out and "TLS 1.3    offered" in out
    assert re.search(r"TLS 1\.1 +not offered", out) and re.search(r"TLS 1 +not offered", out)
    assert re.search(r"Obsolete CBC ciphers.*not offered", out), out


@pytest.mark.skipif(not TESTSSL, reason="testssl.sh is not installed (Debian package testssl.sh)")
def test_testssl_vhost(env):
    ng, _, _ = env
    out = run_testssl(f"tls.test:{ng.https_port}")
    assert not_ok_lines(out) == [], out
    assert re.search(r"Obsolete CBC ciphers.*not offered", out), out


@pytest.mark.skipif(not GIXY, reason="gixy is not installed (not packaged for Debian 12; "
                    "PyPI only)")
def test_gixy_finds_nothing(env):
    ng, _, _ = env
    r = subprocess.run([GIXY, ng.conf], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "No issues found" in r.stdout, r.stdout + r.stderr
