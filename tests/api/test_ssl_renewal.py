"""The scheduler's renewal path with a short-lived certificate: a real Pebble
issuing 5-minute certificates (always within the 30-day renewal window), the
HTTP-01 challenge served by a real nginx in a private prefix whose http port
is Pebble's httpPort (pebble.py, nginx_prefix.py).

A static site gets a certificate through POST /ssl/{domain}/issue; running
the seeded ssl_renew job (POST /api/scheduler/jobs/{id}/run, the path the
scheduler thread takes at 03:17 and 15:17) renews it: nginx serves a new
serial, verified against Pebble's root, and an "auto" attempt is stored.
Then the panel is restarted against a Pebble whose validations cannot reach
the challenge: the next run records a failed attempt and the dashboard
(/api/system/info) warns about the domain; running again at once is held
back by the back-off (no new attempt) and the site keeps serving the last
good certificate. Needs no root."""
import os
import shutil
import socket
import ssl
import subprocess
import time

import waiting

import pytest

import pebble
from conftest import BIN, Panel
from nginx_prefix import NginxPrefix, skip_without_nginx

GIT = shutil.which("git")
DOMAIN = "renew.example.com"
VALIDITY_S = 300


from gitrepo import make_bare_repo  # noqa: E402
from test_ssl import Env, close_env, req  # noqa: E402


def panel_extra(e, pb, account):
    extra = e.ng.panel_config()
    extra["systemd"] = {"unit_dir": os.path.join(e.dir, "units")}
    extra["acme"] = {"directory_url": pb.directory_url, "ca_bundle": pb.ca_file,
                     "account_dir": os.path.join(e.dir, account), "cert_dir": e.cert_dir,
                     "email": "admin@example.com"}
    return extra


def new_panel(e, pb, account):
    p = Panel(os.path.join(e.dir, "panel"), extra=panel_extra(e, pb, account),
              env={"SETEC_SYSTEM_BUS": "unix:path=" + os.path.join(e.dir, "no-bus")})
    e.panels.append(p)
    return p


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    skip_without_nginx()
    if not GIT:
        pytest.skip("git is not installed")
    why = pebble.unavailable()
    if why:
        pytest.skip(why)
    d = tmp_path_factory.mktemp("renewal")
    e = Env()
    e.dir = str(d)
    e.cert_dir = os.path.join(e.dir, "certs")
    os.makedirs(os.path.join(e.dir, "units"))
    os.makedirs(os.path.join(e.dir, "panel"))
    e.ng = NginxPrefix(d / "nginx").start()
    e.pebbles, e.panels = [], []
    try:
        e.pb = pebble.Pebble(d, http_port=e.ng.http_port, validity_s=VALIDITY_S).start()
        e.pebbles.append(e.pb)
        e.panel = new_panel(e, e.pb, "acme-account").start()
        e.token = e.panel.login()
    except Exception:
        for p in e.panels:
            p.stop()
        for pb in e.pebbles:
            pb.stop()
        e.ng.stop()
        raise
    yield e
    close_env(e)


def tls_fetch(e, host, cadata):
    """(peer certificate dict, response text) of GET / over HTTPS through
    nginx, the chain verified against cadata and the name host."""
    ctx = ssl.create_default_context(cadata=cadata)
    with socket.create_connection(("127.0.0.1", e.ng.https_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % host).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return s.getpeercert(), data.decode(errors="replace")


def wait_for(fn, timeout=10):
    return waiting.wait_for(fn, timeout, errors=(OSError, ssl.SSLError))


def ssl_renew_job(e):
    r = req(e, "GET", "/api/scheduler/jobs")
    assert r.status_code == 200, r.text
    jobs = [j for j in r.json() if j["job_type"] == "ssl_renew"]
    assert len(jobs) == 1, r.json()
    return jobs[0]


def run_job(e, job_id):
    r = req(e, "POST", f"/api/scheduler/jobs/{job_id}/run")
    assert r.status_code == 200, r.text + "\n" + e.panel.read_log()[-3000:]
    return r.json()


def renew_jobs(e):
    """The cert_renew jobs on DOMAIN, newest first."""
    r = req(e, "GET", "/api/jobs?kind=cert_renew")
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return [j for j in items if j["kind"] == "cert_renew" and j["subject"] == "domain:" + DOMAIN]


def wait_renewal_job(e, known):
    """The scheduler only starts the renewal: wait for the new cert_renew job to end."""
    def ended():
        new = [j for j in renew_jobs(e) if j["id"] not in known]
        return new if new and all(j["state"] not in ("queued", "running") for j in new) else None
    new = wait_for(ended, timeout=120)
    assert new, "no scheduled cert_renew job ended:\n" + e.panel.read_log()[-3000:]
    assert len(new) == 1, new
    r = req(e, "GET", f"/api/jobs/{new[0]['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def attempt_rows(e):
    return e.panel.query("SELECT id, kind, result, error FROM cert_attempts WHERE domain = ?"
                         " ORDER BY id", DOMAIN)


def warnings_for(e, domain):
    r = req(e, "GET", "/api/system/info")
    assert r.status_code == 200, r.text
    return [w for w in r.json()["warnings"] if w.get("domain") == domain]


def require_ssl_routes(e):
    routes = subprocess.run([BIN, "routes"], capture_output=True, text=True, timeout=30).stdout
    if "/ssl/{domain}/issue" not in routes:
        pytest.skip("POST /ssl/{domain}/issue is not in this build's route table")


def test_scheduled_run_renews_short_lived_certificate(env):
    e = env
    require_ssl_routes(e)
    bare, _ = make_bare_repo(e.ng.git_root, "renew", {"index.html": "<h1>renewed site</h1>\n"},
                          e.dir)
    r = req(e, "POST", "/sites", json={"domain": DOMAIN, "git_repo": bare})
    assert r.status_code == 201, r.text
    assert e.ng.wait_serving(DOMAIN, "renewed site")
    r = req(e, "POST", f"/ssl/{DOMAIN}/issue")
    assert r.status_code == 200, r.text + "\n" + e.panel.read_log()[-3000:]

    e.root = e.pb.root_pem()
    got = wait_for(lambda: tls_fetch(e, DOMAIN, e.root))
    assert got, "nginx does not serve %s over TLS:\n%s" % (DOMAIN, e.ng.read_error_log())
    pc, body = got
    assert "renewed site" in body
    life = ssl.cert_time_to_seconds(pc["notAfter"]) - ssl.cert_time_to_seconds(pc["notBefore"])
    assert life <= VALIDITY_S + 60, pc  # a short-lived certificate: due at once
    serial1 = pc["serialNumber"]
    before = attempt_rows(e)
    assert [(k, res) for _, k, res, _ in before] == [("issue", "success")]

    job = ssl_renew_job(e)
    assert job["enabled"] and job["has_handler"]
    known = {j["id"] for j in renew_jobs(e)}
    out = run_job(e, job["id"])
    assert out["ok"] is True and out["result"] == 1, out  # one renewal started
    assert out["last_run"] and out["next_run"] == job["next_run"]
    assert ssl_renew_job(e)["last_run"] == out["last_run"]

    # the renewal ran as a cert_renew job of the engine, with its output
    rj = wait_renewal_job(e, known)
    assert rj["state"] == "done" and rj["error"] is None, rj
    assert rj["subject"] == "domain:" + DOMAIN
    assert rj["output"], rj

    # nginx serves the new certificate, chained to Pebble's root
    serial2 = wait_for(lambda: (lambda s: s if s != serial1 else None)(
        tls_fetch(e, DOMAIN, e.root)[0]["serialNumber"]))
    assert serial2 and serial2 != serial1, "nginx still serves the old certificate"
    assert "renewed site" in tls_fetch(e, DOMAIN, e.root)[1]
    new = attempt_rows(e)[len(before):]
    assert [(k, res, err) for _, k, res, err in new] == [("auto", "success", None)], new
    assert warnings_for(e, DOMAIN) == []
    e.serial2 = serial2


def test_failed_renewal_warns_and_backs_off(env):
    e = env
    if not getattr(e, "serial2", None):
        pytest.skip("the successful renewal did not happen")
    # a CA whose HTTP-01 validations go to a port where nothing listens
    bad = pebble.Pebble(e.dir, http_port=pebble.free_port(), validity_s=VALIDITY_S,
                        name="pebble-bad").start()
    e.pebbles.append(bad)
    password = e.panel.password
    assert e.panel.stop() == 0, e.panel.read_log()
    p2 = new_panel(e, bad, "acme-account-bad")
    p2.password = password
    p2.start()
    e.panel = p2
    e.token = p2.login()

    job = ssl_renew_job(e)
    before = attempt_rows(e)
    known = {j["id"] for j in renew_jobs(e)}
    out = run_job(e, job["id"])
    assert out["ok"] is True and out["result"] == 1, out  # one renewal started
    rj = wait_renewal_job(e, known)
    assert rj["state"] == "failed" and rj["kind"] == "cert_renew", rj
    new = attempt_rows(e)[len(before):]
    assert len(new) == 1 and new[0][1:3] == ("auto", "failed"), new
    err = new[0][3]
    assert err and "urn:ietf:params:acme:error:" in err, err

    w = warnings_for(e, DOMAIN)
    assert len(w) == 1, w
    assert w[0]["kind"] == "ssl_renewal"
    assert "renewal failed" in w[0]["message"] and err[:60] in w[0]["message"], w
    assert err[:60] in rj["error"], rj
    # the site keeps serving the last good certificate
    assert tls_fetch(e, DOMAIN, e.root)[0]["serialNumber"] == e.serial2

    # at once again: held back by the back-off, no new attempt, no job
    known = {j["id"] for j in renew_jobs(e)}
    out = run_job(e, job["id"])
    assert out["ok"] is True and out["result"] == 0, out
    assert {j["id"] for j in renew_jobs(e)} == known
    assert attempt_rows(e) == before + new
    assert len(warnings_for(e, DOMAIN)) == 1
