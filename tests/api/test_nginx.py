"""Nginx section against a real nginx in a private prefix (nginx_prefix.py),
driven by the panel in `nginx.reload: signal` mode: status, test, reload
(refused while the config is broken, the old config keeps serving),
restart, the vhost viewer and roles."""
import os
import urllib.parse

import pytest

from conftest import Panel, assert_no_sanitizer_report
from nginx_prefix import NginxPrefix, skip_without_nginx

REFUSED = "nginx config test failed -- not reloading"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    skip_without_nginx()
    ng = NginxPrefix(tmp_path_factory.mktemp("nginx"))
    ng.write_site("a.test", ng.static_server("a.test", "site A v1\n"))
    ng.start()
    p = Panel(tmp_path_factory.mktemp("panel"), extra=ng.panel_config()).start()
    try:
        yield ng, p
    finally:
        rc = p.stop()
        ng.stop()
        assert rc == 0, "panel did not exit cleanly:\n" + p.read_log()
        assert_no_sanitizer_report(p)


@pytest.fixture(scope="module")
def token(env):
    return env[1].login()


@pytest.fixture(scope="module")
def viewer_token(env, token):
    p = env[1]
    p.create_user(token, "ngviewer", "pw-ngviewer-1", "viewer")
    return p.login("ngviewer", "pw-ngviewer-1")


def test_status_running_and_valid(env, token):
    ng, p = env
    assert ng.wait_serving("a.test", "site A v1")
    r = p.request("GET", "/nginx", token=token)
    assert r.status_code == 200, r.text
    j = r.json()
    assert set(j) >= {"running", "status", "config_test", "config_ok"}
    assert j["running"] is True
    assert j["status"] == "active"
    assert j["config_ok"] is True
    assert "syntax is ok" in j["config_test"]
    assert ng.conf in j["config_test"]


def test_one_probe_one_wording(env, token):
    """nginx runs by signal here, without nginx.service: the dashboard, the
    monitor and the nginx page all say it is active (issue 15: they used to
    say unknown, not running and active)."""
    ng, p = env
    page = p.request("GET", "/nginx", token=token).json()
    dash = p.request("GET", "/api/system/info", token=token).json()
    mon = p.request("GET", "/api/monitor/services", token=token).json()
    d = [s for s in dash["services"] if s["name"] == "Nginx"]
    m = [s for s in mon if s["name"] == "nginx"]
    assert page["status"] == "active" and page["running"] is True, page
    assert d == [{"name": "Nginx", "status": "active", "running": True}], dash["services"]
    assert len(m) == 1 and m[0]["active"] == "active" and m[0]["running"] is True, mon


def test_page_html(env, token):
    r = env[1].request("GET", "/nginx", token=token, headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "text/html" in r.headers["Content-Type"]


def test_test_ok(env, token):
    r = env[1].request("POST", "/nginx/test", token=token)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["valid"] is True
    assert "test is successful" in j["output"]


def test_reload_applies_a_new_site(env, token):
    ng, p = env
    ng.write_site("b.test", ng.static_server("b.test", "site B\n"))
    before = ng.reload_count()
    r = p.request("POST", "/nginx/reload", token=token)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "reloaded"}
    assert ng.wait_serving("b.test", "site B")
    assert ng.reload_count() > before


def test_config_viewer(env, token):
    ng, p = env
    with open(os.path.join(ng.sites_available, "a.test")) as f:
        text = f.read()
    r = p.request("GET", "/nginx/config/a.test", token=token)
    assert r.status_code == 200, r.text
    assert r.json() == {"domain": "a.test", "config": text}
    # DNS names are case-insensitive
    r = p.request("GET", "/nginx/config/A.Test", token=token)
    assert r.status_code == 200 and r.json()["domain"] == "a.test"
    r = p.request("GET", "/nginx/config/nope.test", token=token)
    assert r.status_code == 404
    assert r.json() == {"error": "config not found for nope.test"}


@pytest.mark.parametrize("domain", [
    "../x", "..", "a;b", "a b", "-x.test", "x.test;", "a{b}", "a\"b", "a'b", "a\nb",
    "../../etc/passwd", "%00", "x" * 300, "a..b", "*.test", "a_b.test"])
def test_config_viewer_hostile(env, token, domain):
    ng, p = env
    path = "/nginx/config/" + urllib.parse.quote(domain, safe="")
    r = p.request("GET", path, token=token)
    if "/" in domain or domain == "..":
        # the client or the router resolves dot segments: never one segment
        assert r.status_code in (400, 404), (domain, r.status_code, r.text)
        assert "error" in r.json()
    else:
        assert r.status_code == 400, (domain, r.status_code, r.text)
        assert "domain" in r.json()["error"]


def test_config_viewer_only_regular_files(env, token):
    ng, p = env
    # a directory or a symlink in sites-available is not a config to show
    os.makedirs(os.path.join(ng.sites_available, "dir.test"), exist_ok=True)
    os.symlink("/etc/hostname", os.path.join(ng.sites_available, "link.test"))
    for d in ("dir.test", "link.test"):
        r = p.request("GET", "/nginx/config/" + d, token=token)
        assert r.status_code == 404, (d, r.text)


def test_broken_config_refused_and_old_config_serves(env, token):
    ng, p = env
    broken = os.path.join(ng.sites_enabled, "broken")
    with open(broken, "w") as f:
        f.write("bogus_directive on;\n")
    # also a change that must not go live: a.test gets new content by config
    a_cfg = os.path.join(ng.sites_available, "a.test")
    with open(a_cfg) as f:
        a_old = f.read()
    os.makedirs(os.path.join(ng.webroot, "a2"), exist_ok=True)
    with open(os.path.join(ng.webroot, "a2", "index.html"), "w") as f:
        f.write("site A v2\n")
    with open(a_cfg, "w") as f:
        f.write(a_old.replace(os.path.join(ng.webroot, "a.test"), os.path.join(ng.webroot, "a2")))
    try:
        r = p.request("POST", "/nginx/test", token=token)
        assert r.status_code == 200
        j = r.json()
        assert j["valid"] is False
        assert "unknown directive" in j["output"] and "bogus_directive" in j["output"]

        r = p.request("GET", "/nginx", token=token)
        assert r.json()["config_ok"] is False
        assert r.json()["running"] is True

        before = ng.reload_count()
        r = p.request("POST", "/nginx/reload", token=token)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == REFUSED
        assert "bogus_directive" in r.json()["output"]
        assert ng.reload_count() == before, "nginx was signalled despite the failed test"
        # the old configuration keeps serving
        st, _, body = ng.get("a.test")
        assert st == 200 and "site A v1" in body
        assert ng.wait_serving("b.test", "site B")
    finally:
        os.unlink(broken)
        with open(a_cfg, "w") as f:
            f.write(a_old)
    r = p.request("POST", "/nginx/reload", token=token)
    assert r.status_code == 200, r.text


def test_viewer_reads_but_cannot_act(env, viewer_token):
    p = env[1]
    assert p.request("GET", "/nginx", token=viewer_token).status_code == 200
    assert p.request("GET", "/nginx/config/a.test", token=viewer_token).status_code == 200
    before = env[0].reload_count()
    for path in ("/nginx/reload", "/nginx/restart", "/nginx/test"):
        r = p.request("POST", path, token=viewer_token)
        assert r.status_code == 403, (path, r.text)
        assert "error" in r.json()
    assert env[0].reload_count() == before


def test_unauthenticated(env):
    p = env[1]
    assert p.request("GET", "/nginx").status_code == 401
    assert p.request("GET", "/nginx/config/a.test").status_code == 401
    for path in ("/nginx/reload", "/nginx/restart", "/nginx/test"):
        assert p.request("POST", path).status_code == 401


def test_audit_rows(env, token):
    p = env[1]
    r = p.request("POST", "/nginx/test", token=token)
    assert r.status_code == 200
    rows = p.query("SELECT action FROM audit_log WHERE action LIKE '%nginx/test%'")
    assert rows, p.query("SELECT action FROM audit_log")


def test_restart_starts_a_new_master(env, token):
    ng, p = env
    old = ng.master_pid()
    assert old
    r = p.request("POST", "/nginx/restart", token=token)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "restarted"}
    new = ng.master_pid()
    assert new and new != old
    assert ng.wait_serving("a.test", "site A v1")
    r = p.request("GET", "/nginx", token=token)
    assert r.json()["running"] is True and r.json()["status"] == "active"


def test_stopped_nginx_reports_inactive(env, token):
    ng, p = env
    ng.stop()
    r = p.request("GET", "/nginx", token=token)
    assert r.status_code == 200
    assert r.json()["running"] is False
    assert r.json()["status"] == "inactive"
    # a restart brings it back (signal mode starts a daemonised master)
    r = p.request("POST", "/nginx/restart", token=token)
    assert r.status_code == 200, r.text
    assert ng.master_pid()
    assert ng.wait_serving("a.test", "site A v1")


def test_missing_binary(fresh_panel, tmp_path):
    skip_without_nginx()
    ng = NginxPrefix(tmp_path / "ng")
    p = fresh_panel(extra=ng.panel_config(binary="/nonexistent/nginx"))
    t = p.login()
    r = p.request("POST", "/nginx/test", token=t)
    assert r.status_code == 200 and r.json()["valid"] is False
    r = p.request("POST", "/nginx/reload", token=t)
    assert r.status_code == 503, r.text
    r = p.request("GET", "/nginx", token=t)
    assert r.status_code == 200
    assert r.json()["config_ok"] is False and r.json()["running"] is False
