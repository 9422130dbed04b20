"""The panel's own certificate over ACME (server.acme_hostname): a real
Pebble (pebble.py) validates HTTP-01 through a real nginx in a private
prefix (nginx_prefix.py), as in test_ssl.py whose helpers are reused.

POST /ssl/panel/issue puts the panel host's challenge vhost into nginx,
orders the certificate and installs it as server.cert / server.key; the
running panel (same PID) then serves it, chained to Pebble's root, for
panel.example.com. A renewal changes the served serial; /api/ssl/status
lists the certificate with "panel": true; viewers get 403, a panel without
the key 400, and a restarted panel against a Pebble whose validations fail
gets 502 with the ACME problem while the old certificate stays served.
Needs no root."""
import os
import socket
import ssl
import stat

import pytest

import pebble
from conftest import Panel
from nginx_prefix import skip_without_nginx, NginxPrefix
from test_ssl import ACME_ERR, Env, close_env, panel_extra, req, rfc3339, wait_for

HOST = "panel.example.com"


def extra_for(e, pb):
    extra = panel_extra(e, pb)
    extra["server"] = {"acme_hostname": HOST}
    return extra


def start_panel(e, pb, password=None):
    p = Panel(os.path.join(e.dir, "panel"), extra=extra_for(e, pb),
              env={"SETEC_SYSTEM_BUS": "unix:path=" + os.path.join(e.dir, "no-bus")})
    if password:
        p.password = password
    e.panels.append(p)
    p.start()
    e.panel = p
    e.token = p.login()
    return p


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    skip_without_nginx()
    why = pebble.unavailable()
    if why:
        pytest.skip(why)
    d = tmp_path_factory.mktemp("panelcert")
    e = Env()
    e.dir = str(d)
    e.cert_dir = os.path.join(e.dir, "certs")
    os.makedirs(os.path.join(e.dir, "units"))
    os.makedirs(os.path.join(e.dir, "panel"))
    e.ng = NginxPrefix(d / "nginx").start()
    e.pebbles = []
    e.panels = []
    try:
        # a week: inside the 30-day renewal window from the start
        e.pb = pebble.Pebble(d, http_port=e.ng.http_port, validity_s=7 * 86400).start()
        e.pebbles.append(e.pb)
        start_panel(e, e.pb)
    except Exception:
        for pb in e.pebbles:
            pb.stop()
        e.ng.stop()
        raise
    yield e
    close_env(e)


def panel_cert(e, cadata):
    """The certificate the panel's own TLS endpoint serves for HOST,
    verified against cadata (dict, DER)."""
    ctx = ssl.create_default_context(cadata=cadata)
    with socket.create_connection(("127.0.0.1", e.panel.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            return s.getpeercert(), s.getpeercert(binary_form=True)


def pebble_cadata(e):
    return e.pb.root_pem() + e.pb.intermediate_pem()


def panel_jobs(e, kind):
    r = req(e, "GET", f"/api/jobs?kind={kind}")
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return [j for j in items if j["kind"] == kind]


def status_entry(e):
    r = req(e, "GET", "/api/ssl/status")
    assert r.status_code == 200, r.text
    entries = r.json()
    got = [c for c in entries if c["panel"]]
    assert len(got) == 1, entries
    return got[0]


def server_paths(e):
    return (os.path.join(e.panel.tmp, "tls", "cert.pem"),
            os.path.join(e.panel.tmp, "tls", "key.pem"))


# ---- before any issuance ----

def test_status_lists_the_self_signed_panel_certificate(env):
    s = status_entry(env)
    assert s["domain"] == HOST and s["managed"] is True
    assert s["cert_path"] == server_paths(env)[0]
    assert s["auto_renew"] is False  # self-signed: not renewed over ACME
    assert s["last_result"] is None


def test_renew_without_an_acme_certificate_404(env):
    r = req(env, "POST", "/ssl/panel/renew")
    assert r.status_code == 404, r.text
    assert "issue one first" in r.json()["error"]
    assert env.panel.query("SELECT COUNT(*) FROM cert_attempts") == [(0,)]


def test_viewer_cannot_issue(env):
    e = env
    e.panel.create_user(e.token, "pcviewer", "pw-pcviewer-1", "viewer")
    vt = e.panel.login("pcviewer", "pw-pcviewer-1")
    for action in ("issue", "renew"):
        r = e.panel.request("POST", f"/ssl/panel/{action}", token=vt)
        assert r.status_code == 403, r.text
    r = e.panel.request("GET", "/api/ssl/status", token=vt)
    assert r.status_code == 200 and any(c["panel"] for c in r.json())
    assert e.panel.query("SELECT COUNT(*) FROM cert_attempts") == [(0,)]


def test_unset_hostname_400(fresh_panel):
    p = fresh_panel()
    token = p.login()
    for action in ("issue", "renew"):
        r = p.request("POST", f"/ssl/panel/{action}", token=token)
        assert r.status_code == 400, r.text
        assert r.json() == {"error": "server.acme_hostname is not set"}
    r = p.request("GET", "/api/ssl/status", token=token)
    assert r.status_code == 200 and not any(c["panel"] for c in r.json())


# ---- issuance: the running panel serves the new certificate ----

def test_issue_is_served_without_restart(env):
    e = env
    pid = e.panel.proc.pid
    cert, key = server_paths(e)
    cadata = pebble_cadata(e)
    # the self-signed certificate does not verify against Pebble
    with pytest.raises(ssl.SSLCertVerificationError):
        panel_cert(e, cadata)

    r = req(e, "POST", "/ssl/panel/issue")
    assert r.status_code == 200, r.text + e.panel.read_log()[-2000:]
    assert r.json() == {"status": "issued", "cert": cert}

    got = wait_for(lambda: panel_cert(e, cadata), timeout=3)
    assert got, "the panel does not serve the new certificate:\n" + e.panel.read_log()[-2000:]
    pc, _ = got
    assert [v for k, v in pc["subjectAltName"] if k == "DNS"] == [HOST]
    assert "Pebble" in dict(x[0] for x in pc["issuer"])["commonName"]
    assert e.panel.proc.poll() is None and e.panel.proc.pid == pid
    e.serial1 = pc["serialNumber"]

    # the installed pair: the key private, no temp files left
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert open(cert).read() == open(os.path.join(e.cert_dir, HOST, "fullchain.pem")).read()
    assert open(key).read() == open(os.path.join(e.cert_dir, HOST, "privkey.pem")).read()
    assert sorted(os.listdir(os.path.dirname(cert))) == ["cert.pem", "key.pem"]

    # the challenge vhost stays (renewals need it): everything else goes to the panel
    vhost = os.path.join(e.ng.sites_available, "setec-panel_" + HOST)
    text = open(vhost).read()
    assert "/.well-known/acme-challenge/" in text and e.ng.certbot_webroot in text
    assert os.path.realpath(os.path.join(e.ng.sites_enabled, "setec-panel_" + HOST)) == vhost
    code, headers, _ = e.ng.get(HOST, "/anything?x=1")
    assert code == 301, (code, headers)
    assert headers["Location"] == f"https://{HOST}:{e.panel.port}/anything?x=1"

    s = status_entry(e)
    assert s["domain"] == HOST and s["auto_renew"] is True
    assert s["not_after"] == rfc3339(ssl.cert_time_to_seconds(pc["notAfter"]))
    assert s["last_result"] == "success" and s["last_error"] is None
    rows = e.panel.query("SELECT domain, kind, result FROM cert_attempts")
    assert rows == [(HOST, "issue", "success")]
    # the order ran as a job of the engine, not on the request worker
    j = panel_jobs(e, "cert_issue")
    assert len(j) == 1 and j[0]["state"] == "done" and j[0]["subject"] == "domain:" + HOST, j


def test_renew_serves_a_new_serial(env):
    e = env
    if not getattr(e, "serial1", None):
        pytest.skip("issuance failed")
    pid = e.panel.proc.pid
    r = req(e, "POST", "/ssl/panel/renew")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "renewed", "cert": server_paths(e)[0]}
    cadata = pebble_cadata(e)
    serial2 = wait_for(lambda: (lambda s: s if s != e.serial1 else None)(
        panel_cert(e, cadata)[0]["serialNumber"]), timeout=3)
    assert serial2 and serial2 != e.serial1, "the panel still serves the old certificate"
    assert e.panel.proc.poll() is None and e.panel.proc.pid == pid
    e.serial2 = serial2
    rows = e.panel.query("SELECT kind, result FROM cert_attempts ORDER BY id")
    assert rows == [("issue", "success"), ("renew", "success")]
    # newest first: the renewal before any certificate (404) failed as a job too
    j = panel_jobs(e, "cert_renew")
    assert [x["state"] for x in j] == ["done", "failed"], j
    assert j[0]["subject"] == "domain:" + HOST and "issue one first" in j[1]["error"], j


def test_async_renew_is_a_job_and_a_second_one_is_busy(env):
    e = env
    if not getattr(e, "serial2", None):
        pytest.skip("issuance/renewal failed")
    r = e.panel.request("POST", "/ssl/panel/renew", token=e.token,
                        headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    body = r.json()
    jid = body["job_id"]
    assert body["status"] == "renewing" and body["domain"] == HOST
    assert r.headers["Location"] == f"/api/jobs/{jid}"
    r2 = req(e, "POST", "/ssl/panel/renew")
    if r2.status_code == 409:  # the first one still runs: the busy answer names it
        assert str(jid) in r2.json()["error"], r2.text
    else:
        assert r2.status_code == 200, r2.text
    done = wait_for(lambda: (lambda j: j if j["state"] not in ("queued", "running") else None)(
        req(e, "GET", f"/api/jobs/{jid}").json()), timeout=120)
    assert done and done["state"] == "done" and done["kind"] == "cert_renew", done
    assert done["subject"] == "domain:" + HOST
    cadata = pebble_cadata(e)
    serial = wait_for(lambda: (lambda s: s if s != e.serial2 else None)(
        panel_cert(e, cadata)[0]["serialNumber"]), timeout=3)
    assert serial and serial != e.serial2
    e.serial2 = serial


def test_scheduled_renewal_renews_the_panel_certificate(env):
    e = env
    if not getattr(e, "serial2", None):
        pytest.skip("issuance/renewal failed")
    r = req(e, "GET", "/api/scheduler/jobs")
    assert r.status_code == 200, r.text
    job = [j for j in r.json() if j["job_type"] == "ssl_renew"][0]
    known = {j["id"] for j in panel_jobs(e, "cert_renew")}
    r = req(e, "POST", f"/api/scheduler/jobs/{job['id']}/run")
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["result"] == 1, r.json()  # one renewal started
    # the scheduler only started it: a cert_renew job on the panel's host name
    rj = wait_for(lambda: [j for j in panel_jobs(e, "cert_renew") if j["id"] not in known
                           and j["state"] not in ("queued", "running")], timeout=120)
    assert rj and len(rj) == 1 and rj[0]["state"] == "done", rj
    assert rj[0]["subject"] == "domain:" + HOST
    cadata = pebble_cadata(e)
    serial3 = wait_for(lambda: (lambda s: s if s != e.serial2 else None)(
        panel_cert(e, cadata)[0]["serialNumber"]), timeout=3)
    assert serial3 and serial3 != e.serial2
    e.serial2 = serial3
    rows = e.panel.query("SELECT kind, result FROM cert_attempts ORDER BY id DESC LIMIT 1")
    assert rows == [("auto", "success")]


# ---- last: a CA that cannot validate ----

def test_rejected_challenge_keeps_the_old_certificate(env):
    e = env
    if not getattr(e, "serial2", None):
        pytest.skip("issuance/renewal failed")
    cadata = pebble_cadata(e)
    bad = pebble.Pebble(e.dir, http_port=pebble.free_port(), name="pebble-bad").start()
    e.pebbles.append(bad)
    rc = e.panel.stop()
    assert rc == 0, e.panel.read_log()
    start_panel(e, bad, password=e.panel.password)
    cert, key = server_paths(e)
    before = open(cert).read(), open(key).read()

    r = req(e, "POST", "/ssl/panel/renew")
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert ACME_ERR in err, err
    assert (open(cert).read(), open(key).read()) == before
    assert panel_cert(e, cadata)[0]["serialNumber"] == e.serial2
    rows = e.panel.query("SELECT domain, kind, result, error FROM cert_attempts"
                         " ORDER BY id DESC LIMIT 1")
    assert rows == [(HOST, "renew", "failed", err)]
    s = status_entry(e)
    assert s["last_result"] == "failed" and s["last_error"] == err
