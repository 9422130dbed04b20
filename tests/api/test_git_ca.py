"""git.ca_bundle: a site cloned from an HTTPS git remote whose certificate
comes from a private CA. With the CA's bundle configured the clone works; with
none it fails on the certificate, whatever GIT_SSL_CAINFO the panel itself was
started with (programs get a fixed environment, never the panel's). The
remote is git's "dumb" HTTP protocol served over TLS by a small server in this
process, with a CA and certificate made by openssl for the test."""
import http.server
import os
import shutil
import ssl
import subprocess
import threading

import pytest

from gitrepo import git, make_bare_repo
from nginx_prefix import NginxPrefix, skip_without_nginx
from ports import free_port


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def make_ca(d):
    """(ca.pem, server cert, server key) for 127.0.0.1 signed by a fresh CA."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Setec Test CA",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    return (os.path.join(d, "ca.pem"), os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """https://127.0.0.1:PORT/site.git (dumb HTTP) and the CA bundle."""
    skip_without_nginx()
    if not shutil.which("git") or not shutil.which("openssl"):
        pytest.skip("git or openssl is missing")
    d = str(tmp_path_factory.mktemp("gitca"))
    ca, cert, key = make_ca(d)
    serve = os.path.join(d, "serve")
    os.makedirs(serve)
    bare, _ = make_bare_repo(serve, "site", {"index.html": "private-ca site\n"}, d)
    git("update-server-info", cwd=bare)  # what the dumb protocol reads
    port = free_port()
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), lambda *a, **kw: Quiet(*a, directory=serve, **kw))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"https://127.0.0.1:{port}/site.git", ca
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def nginx(tmp_path):
    ng = NginxPrefix(tmp_path / "nginx").start()
    yield ng
    ng.stop()


def create(panel, token, domain, repo):
    return panel.request("POST", "/sites", token=token, timeout=120,
                         json={"domain": domain, "app_type": "static", "git_repo": repo})


def test_private_ca_remote_clones_with_ca_bundle(remote, nginx, fresh_panel):
    url, ca = remote
    extra = nginx.panel_config()
    extra["git"]["ca_bundle"] = ca
    p = fresh_panel(extra=extra)
    r = create(p, p.login(), "privca.test", url)
    assert r.status_code == 201, r.text
    with open(os.path.join(nginx.webroot, "privca.test", "index.html")) as f:
        assert f.read() == "private-ca site\n"


def test_private_ca_remote_refused_without_bundle(remote, nginx, fresh_panel):
    """The panel's own environment names the CA: it must not reach git."""
    url, ca = remote
    p = fresh_panel(extra=nginx.panel_config(), env={"GIT_SSL_CAINFO": ca, "SSL_CERT_FILE": ca})
    r = create(p, p.login(), "noca.test", url)
    assert r.status_code >= 500, r.text
    assert r.json()["step"] == "git clone", r.text
    assert "certificate" in r.json()["error"].lower() or "ssl" in r.json()["error"].lower(), \
        r.text
    assert not os.path.exists(os.path.join(nginx.webroot, "noca.test"))


def test_ca_bundle_must_be_an_absolute_path(nginx, fresh_panel):
    extra = nginx.panel_config()
    extra["git"]["ca_bundle"] = "relative/ca.pem"
    p = fresh_panel(extra=extra, start=False)
    r = p.cli("check")
    assert r.returncode != 0
    assert "git.ca_bundle" in (r.stdout + r.stderr)
