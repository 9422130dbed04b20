"""SSL/TLS end to end: the panel's own ACME client against a real Pebble
(pebble.py), with the HTTP-01 challenge served by a real nginx in a private
prefix (nginx_prefix.py) whose http_port is Pebble's httpPort (Pebble's DNS
answers 127.0.0.1 for every name).

A static site with an alias is created from a local bare repository, its
certificate issued; the site is then fetched over HTTPS through nginx with
the chain verified against Pebble's root, the alias checked in the SAN,
/api/ssl/status checked against the served certificate; a forced renewal
changes the served serial. Certificates of other tools under acme.cert_dir
are listed. A second panel on the same data pointed at a Pebble that cannot
reach the challenge gets a clear error with the ACME problem type, a failed
attempt row, and the site keeps serving the old certificate. Validation
(400), unknown sites (404), a running issuance (409, against an ACME server
that never answers) and viewers (403) are covered too. Needs no root."""
import datetime
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import waiting

import pytest

import pebble
from conftest import Panel, assert_no_sanitizer_report
from nginx_prefix import skip_without_nginx, NginxPrefix

GIT = shutil.which("git")
DOMAIN = "shop.example.com"
ALIAS = "www.shop.example.com"
ACME_ERR = "urn:ietf:params:acme:error:"


from gitrepo import make_bare_repo  # noqa: E402


class Env:
    pass


def acme_config(e, pb):
    return {"directory_url": pb.directory_url, "ca_bundle": pb.ca_file,
            "account_dir": os.path.join(e.dir, "acme-account"),
            "cert_dir": e.cert_dir, "email": "admin@example.com"}


def panel_extra(e, pb_or_url, ca_file=None):
    extra = e.ng.panel_config()
    extra["systemd"] = {"unit_dir": os.path.join(e.dir, "units")}
    if isinstance(pb_or_url, str):
        extra["acme"] = {"directory_url": pb_or_url, "ca_bundle": ca_file,
                         "account_dir": os.path.join(e.dir, "acme-account-other"),
                         "cert_dir": e.cert_dir, "email": ""}
    else:
        extra["acme"] = acme_config(e, pb_or_url)
    return extra


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    skip_without_nginx()
    if not GIT:
        pytest.skip("git is not installed")
    why = pebble.unavailable()
    if why:
        pytest.skip(why)
    d = tmp_path_factory.mktemp("ssl")
    e = Env()
    e.dir = str(d)
    e.cert_dir = os.path.join(e.dir, "certs")
    os.makedirs(os.path.join(e.dir, "units"))
    os.makedirs(os.path.join(e.dir, "panel"))
    e.ng = NginxPrefix(d / "nginx").start()
    e.pebbles = []
    e.panels = []
    try:
        e.pb = pebble.Pebble(d, http_port=e.ng.http_port).start()
        e.pebbles.append(e.pb)
        e.panel = Panel(d / "panel", extra=panel_extra(e, e.pb),
                        env={"SETEC_SYSTEM_BUS": "unix:path=" + str(d / "no-bus")})
        e.panels.append(e.panel)
        e.panel.start()
        e.token = e.panel.login()
    except Exception:
        for pb in e.pebbles:
            pb.stop()
        e.ng.stop()
        raise
    yield e
    close_env(e)


def close_env(e):
    """Stop every panel, Pebble and the nginx of an Env; fail when a panel
    did not exit cleanly or a sanitizer reported something."""
    problems = []
    for p in e.panels:
        running = p.proc is not None and p.proc.poll() is None
        rc = p.stop()
        if running and rc != 0:
            problems.append("panel exited %s:\n%s" % (rc, p.read_log()[-3000:]))
    for pb in e.pebbles:
        pb.stop()
    e.ng.stop()
    assert not problems, problems
    for p in e.panels:
        assert_no_sanitizer_report(p)


def req(e, method, path, **kw):
    kw.setdefault("timeout", 180)
    return e.panel.request(method, path, token=e.token, **kw)


def tls_fetch(e, host, cadata, path="/"):
    """(peer certificate dict, DER, response text) of GET path over HTTPS
    through nginx, verifying the chain against cadata and the name host."""
    ctx = ssl.create_default_context(cadata=cadata)
    with socket.create_connection(("127.0.0.1", e.ng.https_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (path, host)).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return s.getpeercert(), s.getpeercert(binary_form=True), data.decode(
                errors="replace")


def served_serial(e, host, cadata):
    return tls_fetch(e, host, cadata)[0]["serialNumber"]


def wait_for(fn, timeout=10):
    """fn() until it returns something true (nginx swaps workers
    gracefully after a reload); the last value."""
    return waiting.wait_for(fn, timeout, errors=(OSError, ssl.SSLError))


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def status_of(e, domain):
    r = req(e, "GET", "/api/ssl/status")
    assert r.status_code == 200, r.text
    got = [c for c in r.json() if c["domain"] == domain]
    assert len(got) == 1, r.json()
    return got[0]


def attempts(e, domain):
    r = req(e, "GET", "/api/ssl/attempts?domain=" + domain)
    assert r.status_code == 200, r.text
    return r.json()


# ---- the empty state and validation (nothing runs) ----

def test_status_empty_list(env):
    r = req(env, "GET", "/api/ssl/status")
    assert r.status_code == 200, r.text
    assert r.json() == []
    r = req(env, "GET", "/ssl")
    assert r.status_code == 200 and r.json() == []
    r = req(env, "GET", "/api/ssl/attempts")
    assert r.status_code == 200 and r.json() == []


def test_page_html(env):
    r = req(env, "GET", "/ssl", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("bad", ["bad_name.example.com", "-x.example.com", "a..b",
                                 "x" * 64 + ".com", "%2e%2e", "a%20b.com"])
def test_invalid_domain_400(env, bad):
    for action in ("issue", "renew"):
        r = req(env, "POST", f"/ssl/{bad}/{action}")
        assert r.status_code in (400, 404), r.text
        if r.status_code == 400:
            assert "domain" in r.json()["error"]
    assert env.panel.query("SELECT COUNT(*) FROM cert_attempts")[0][0] == 0


def test_invalid_domain_is_400_exactly(env):
    r = req(env, "POST", "/ssl/bad_name.example.com/issue")
    assert r.status_code == 400
    assert r.json() == {"error": "domain must be a valid DNS host name"}
    r = req(env, "GET", "/api/ssl/attempts?domain=bad;name")
    assert r.status_code == 400


def test_unknown_site_404(env):
    r = req(env, "POST", "/ssl/nosite.example.com/issue")
    assert r.status_code == 404, r.text
    assert "nosite.example.com" in r.json()["error"]
    r = req(env, "POST", "/ssl/nosite.example.com/renew")
    assert r.status_code == 404
    # nothing ordered: Pebble saw no new-order
    assert env.panel.query("SELECT COUNT(*) FROM cert_attempts")[0][0] == 0


def test_requires_auth(env):
    r = env.panel.request("POST", f"/ssl/{DOMAIN}/issue")
    assert r.status_code == 401
    r = env.panel.request("GET", "/api/ssl/status")
    assert r.status_code == 401


# ---- issuance through nginx ----

def test_issue_serves_https_with_pebble_chain(env):
    e = env
    bare, _ = make_bare_repo(e.ng.git_root, "shop", {"index.html": "<h1>shop over tls</h1>\n"},
                          e.dir)
    r = req(e, "POST", "/sites", json={"domain": DOMAIN, "aliases": ALIAS, "git_repo": bare})
    assert r.status_code == 201, r.text
    e.site_id = r.json()["id"]
    assert e.ng.wait_serving(DOMAIN, "shop over tls")

    # renewing before there is a certificate says so
    r = req(e, "POST", f"/ssl/{DOMAIN}/renew")
    assert r.status_code == 404 and "issue one first" in r.json()["error"], r.text

    r = req(e, "POST", f"/ssl/{DOMAIN}/issue")
    assert r.status_code == 200, r.text + "\n" + e.panel.read_log()[-3000:]
    cert = os.path.join(e.cert_dir, DOMAIN, "fullchain.pem")
    assert r.json() == {"status": "issued", "cert": cert}
    for f in ("fullchain.pem", "privkey.pem", "cert.pem", "chain.pem"):
        assert os.path.isfile(os.path.join(e.cert_dir, DOMAIN, f)), f
    assert os.stat(os.path.join(e.cert_dir, DOMAIN, "privkey.pem")).st_mode & 0o077 == 0
    # the challenge files are gone
    chal = os.path.join(e.ng.certbot_webroot, ".well-known", "acme-challenge")
    assert not os.path.isdir(chal) or os.listdir(chal) == []

    # the site row
    row = e.panel.query("SELECT ssl_enabled, ssl_cert_path, ssl_key_path, ssl_auto FROM sites"
                        " WHERE domain = ?", DOMAIN)[0]
    assert row == (1, cert, os.path.join(e.cert_dir, DOMAIN, "privkey.pem"), 1)

    # the vhost serves TLS with Pebble's chain, for the domain and the alias
    root = e.pb.root_pem()
    e.root = root
    peer = wait_for(lambda: tls_fetch(e, DOMAIN, root))
    assert peer, "nginx does not serve %s over TLS:\n%s" % (DOMAIN, e.ng.read_error_log())
    pc, der, body = peer
    assert "shop over tls" in body
    sans = [v for k, v in pc["subjectAltName"] if k == "DNS"]
    assert sorted(sans) == sorted([DOMAIN, ALIAS])
    issuer = dict(x[0] for x in pc["issuer"])["commonName"]
    assert "Pebble" in issuer
    pc2, _, body2 = tls_fetch(e, ALIAS, root)
    assert "shop over tls" in body2 and pc2["serialNumber"] == pc["serialNumber"]
    # a client that does not trust Pebble's root refuses it
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_fetch(e, DOMAIN, open(e.pb.ca_file).read())
    e.serial1 = pc["serialNumber"]
    e.not_before = ssl.cert_time_to_seconds(pc["notBefore"])
    e.not_after = ssl.cert_time_to_seconds(pc["notAfter"])

    # plain http now redirects to https, the challenge location stays
    got = wait_for(lambda: (lambda g: g if g[0] == 301 else None)(e.ng.get(DOMAIN)))
    assert got and got[1]["Location"] == f"https://{DOMAIN}:{e.ng.https_port}/", got

    # status: the real dates and issuer
    s = status_of(e, DOMAIN)
    assert s["issuer"] == issuer
    assert s["not_before"] == rfc3339(e.not_before)
    assert s["not_after"] == rfc3339(e.not_after)
    assert s["days_left"] == int((e.not_after - time.time()) // 86400)
    assert s["auto_renew"] is True and s["managed"] is True
    assert s["cert_path"] == cert
    assert s["last_result"] == "success" and s["last_error"] is None
    assert s["last_attempt_at"].endswith("Z")
    for k in ("domain", "issuer", "not_before", "not_after", "days_left", "auto_renew"):
        assert k in s
    # /ssl answers the same list as JSON
    assert req(e, "GET", "/ssl").json() == req(e, "GET", "/api/ssl/status").json()

    a = attempts(e, DOMAIN)
    assert len(a) == 1
    assert a[0]["kind"] == "issue" and a[0]["result"] == "success"
    assert a[0]["not_after"] == rfc3339(e.not_after) and a[0]["error"] is None


def test_forced_renewal_changes_served_certificate(env):
    e = env
    if not getattr(e, "serial1", None):
        pytest.skip("issuance failed")
    before = os.stat(os.path.join(e.cert_dir, DOMAIN, "fullchain.pem")).st_ino
    r = req(e, "POST", f"/ssl/{DOMAIN}/renew")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "renewed"}
    assert os.stat(os.path.join(e.cert_dir, DOMAIN, "fullchain.pem")).st_ino != before
    serial2 = wait_for(lambda: (lambda s: s if s != e.serial1 else None)(
        served_serial(e, DOMAIN, e.root)))
    assert serial2 and serial2 != e.serial1, "nginx still serves the old certificate"
    e.serial2 = serial2
    a = attempts(e, DOMAIN)
    assert [x["kind"] for x in a] == ["renew", "issue"]
    assert all(x["result"] == "success" for x in a)
    assert status_of(e, DOMAIN)["last_result"] == "success"


def test_certbot_certificates_are_listed(env):
    e = env
    d = os.path.join(e.cert_dir, "legacy.example.com")
    os.makedirs(d, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(d, "privkey.pem"),
                    "-out", os.path.join(d, "cert.pem"), "-days", "10",
                    "-subj", "/CN=legacy.example.com/O=Old Certbot CA"],
                   check=True, capture_output=True, timeout=30)
    # a directory without certificate files and a README are ignored
    os.makedirs(os.path.join(e.cert_dir, "empty.example.com"), exist_ok=True)
    with open(os.path.join(e.cert_dir, "README"), "w") as f:
        f.write("certbot\n")
    lst = req(e, "GET", "/api/ssl/status").json()
    assert [c["domain"] for c in lst] == sorted(c["domain"] for c in lst)
    assert "empty.example.com" not in [c["domain"] for c in lst]
    s = status_of(e, "legacy.example.com")
    assert s["managed"] is False and s["auto_renew"] is False
    assert s["issuer"] == "legacy.example.com"
    assert s["days_left"] in (9, 10)
    assert s["not_before"].endswith("Z") and s["not_after"].endswith("Z")
    # not a site: cannot be issued through the panel
    assert req(e, "POST", "/ssl/legacy.example.com/issue").status_code == 404
    shutil.rmtree(d)
    shutil.rmtree(os.path.join(e.cert_dir, "empty.example.com"))
    os.unlink(os.path.join(e.cert_dir, "README"))


# ---- roles ----

def test_viewer_reads_but_cannot_issue(env):
    e = env
    e.panel.create_user(e.token, "sslviewer", "pw-sslviewer-1", "viewer")
    vt = e.panel.login("sslviewer", "pw-sslviewer-1")
    r = e.panel.request("GET", "/api/ssl/status", token=vt)
    assert r.status_code == 200
    r = e.panel.request("GET", "/api/ssl/attempts", token=vt)
    assert r.status_code == 200
    n = len(attempts(e, DOMAIN))
    for action in ("issue", "renew"):
        r = e.panel.request("POST", f"/ssl/{DOMAIN}/{action}", token=vt)
        assert r.status_code == 403, r.text
    assert len(attempts(e, DOMAIN)) == n


# ---- one order per domain at a time ----

class SilentServer:
    """Accepts TCP connections and never answers (an ACME server that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Event()
        self.stopping = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            except OSError:
                pass
            c.close()
        self.t.join(5)


def test_concurrent_issue_409(env, fresh_panel):
    e = env
    srv = SilentServer()
    try:
        p = fresh_panel(extra=panel_extra(e, "https://127.0.0.1:%d/dir" % srv.port,
                                          e.pb.ca_file),
                        env={"SETEC_SYSTEM_BUS": "unix:path=" + os.path.join(e.dir, "no-bus")})
        tok = p.login()
        r = p.request("POST", "/sites", token=tok, json={"domain": "busy.example.com"},
                      timeout=60)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        first = {}

        def issue():
            first["r"] = p.request("POST", "/ssl/busy.example.com/issue", token=tok,
                                   timeout=120)
        t = threading.Thread(target=issue)
        t.start()
        assert srv.accepted.wait(20), "the panel never contacted the ACME server"
        r = p.request("POST", "/ssl/busy.example.com/issue", token=tok)
        assert r.status_code == 409, r.text
        assert "already running" in r.json()["error"]
        r = p.request("POST", "/ssl/busy.example.com/renew", token=tok)
        assert r.status_code in (404, 409), r.text
        srv.close()
        t.join(120)
        assert not t.is_alive()
        r1 = first["r"]
        assert r1.status_code == 502, r1.text
        assert r1.json()["error"]
        # the site is untouched and the lock is released
        assert p.query("SELECT ssl_enabled, ssl_cert_path FROM sites WHERE id = ?",
                       sid) == [(0, "")]
        rows = p.query("SELECT kind, result, error FROM cert_attempts"
                       " WHERE domain = 'busy.example.com'")
        assert len(rows) == 1 and rows[0][:2] == ("issue", "failed") and rows[0][2], rows
        r = p.request("POST", "/ssl/busy.example.com/issue", token=tok, timeout=60)
        assert r.status_code == 502, r.text  # runs again (refused now), not 409
        assert p.request("DELETE", f"/sites/{sid}", token=tok, timeout=60).status_code == 200
    finally:
        srv.close()


# ---- a CA that cannot validate: clear error, the site keeps serving ----

def test_rejected_challenge_keeps_site_serving(env):
    """Last in the module: the panel is restarted on the same data against
    a Pebble whose HTTP-01 validations go to a port where nothing listens."""
    e = env
    if not getattr(e, "serial2", None):
        pytest.skip("issuance/renewal failed")
    bad = pebble.Pebble(e.dir, http_port=pebble.free_port(), name="pebble-bad").start()
    e.pebbles.append(bad)
    rc = e.panel.stop()
    assert rc == 0, e.panel.read_log()
    password = e.panel.password
    p2 = Panel(os.path.join(e.dir, "panel"), extra=panel_extra(e, bad),
               env={"SETEC_SYSTEM_BUS": "unix:path=" + os.path.join(e.dir, "no-bus")})
    p2.password = password
    e.panels.append(p2)
    p2.start()
    e.panel = p2
    e.token = p2.login()
    vhost = os.path.join(e.ng.sites_available, DOMAIN)
    with open(vhost) as f:
        vhost_before = f.read()
    pem_before = open(os.path.join(e.cert_dir, DOMAIN, "fullchain.pem")).read()

    r = req(e, "POST", f"/ssl/{DOMAIN}/renew")
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert ACME_ERR in err, err  # the problem type reaches the client
    assert "connection" in err or "refused" in err, err
    # nothing changed: files, vhost, row, served certificate
    assert open(os.path.join(e.cert_dir, DOMAIN, "fullchain.pem")).read() == pem_before
    with open(vhost) as f:
        assert f.read() == vhost_before
    assert served_serial(e, DOMAIN, e.root) == e.serial2
    assert "shop over tls" in tls_fetch(e, DOMAIN, e.root)[2]
    a = attempts(e, DOMAIN)
    assert a[0]["kind"] == "renew" and a[0]["result"] == "failed"
    assert a[0]["error"] == err
    s = status_of(e, DOMAIN)
    assert s["last_result"] == "failed" and s["last_error"] == err
    assert s["not_after"] == rfc3339(ssl.cert_time_to_seconds(
        tls_fetch(e, DOMAIN, e.root)[0]["notAfter"]))

    # a site without a certificate keeps serving plain http
    r = req(e, "POST", "/sites", json={"domain": "plain.example.com"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    with open(os.path.join(e.ng.webroot, "plain.example.com", "index.html"), "w") as f:
        f.write("plain site\n")
    assert e.ng.wait_serving("plain.example.com", "plain site")
    r = req(e, "POST", "/ssl/plain.example.com/issue")
    assert r.status_code == 502, r.text
    assert ACME_ERR in r.json()["error"]
    assert e.ng.wait_serving("plain.example.com", "plain site")
    assert p2.query("SELECT ssl_enabled, ssl_cert_path FROM sites WHERE id = ?",
                    pid) == [(0, "")]
    assert not os.path.exists(os.path.join(e.cert_dir, "plain.example.com", "fullchain.pem"))
    rows = p2.query("SELECT kind, result FROM cert_attempts WHERE domain = 'plain.example.com'")
    assert rows == [("issue", "failed")]
