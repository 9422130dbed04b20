"""AUTARCH end to end in a throw-away systemd container (container.py): the
panel runs as root inside it and installs the offline AUTARCH-shaped
fixture (tests/api/autarch_fixture.py) from a bare repository in the
container's /srv/git. A broken requirements file fails the install at "pip
install" and leaves nothing that blocks the retry; the retry installs (the
autarch user, clone with core.fileMode false, then venv, pip, npm as that
user, permissions, units
not started); the status reports every seed field; starting without the DNS
binary reports autarch-dns's failure; DNS build, start (the web app answers
on its port as the autarch user, the DNS server answers a query), update
after a new commit (reported and served), restart, stop."""
import os
import pwd
import socket
import struct
import time

import pytest
import requests
import waiting

from autarch_fixture import break_requirements, commit_file, make_autarch_repo, push_version
from conftest import BIN
from container import SYSTEM_CONFIG, Container, container_unavailable
from test_logs_journald import ContainerPanel

INSTALL_DIR = "/var/www/autarch"
WEB_PORT = 38181
DNS_PORT = 38053
JOB_TIMEOUT = 600


@pytest.fixture(scope="module")
def ctr(tmp_path_factory):
    reason = container_unavailable()
    if reason:
        pytest.skip(reason)
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"no panel binary at {BIN}")
    for tool in ("/usr/bin/git", "/usr/bin/npm", "/usr/bin/go"):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} is missing")
    if os.system("/usr/bin/python3 -c 'import ensurepip' 2>/dev/null") != 0:
        pytest.skip("python3-venv is missing")
    shared = str(tmp_path_factory.mktemp("autarch-ctr"))
    bindir = os.path.dirname(os.path.realpath(BIN))
    with Container(binds=[shared], binds_ro=[bindir]) as c:
        c.shared = shared
        yield c


@pytest.fixture(scope="module")
def repo(ctr):
    """(bare, work) as host paths, in the container's /srv/git: the autarch
    user, which pulls, must reach the source repository (the shared dir
    lies below pytest's 0700 directory)."""
    root = ctr.path("/srv/git")
    os.makedirs(root)
    return make_autarch_repo(root, web_port=WEB_PORT, dns_port=DNS_PORT)


def in_ctr(ctr, host_path):
    """The container's name of a host path below its root."""
    return "/" + os.path.relpath(host_path, ctr.path("/"))


@pytest.fixture(scope="module")
def inside(ctr, repo):
    bare, _ = repo
    with ctr.netns():
        tmp = os.path.join(ctr.shared, "panel")
        os.makedirs(tmp, exist_ok=True)
        # the container's nginx is there for a site in front of AUTARCH
        p = ContainerPanel(ctr, tmp, extra={
            **SYSTEM_CONFIG,
            "autarch": {"install_dir": INSTALL_DIR, "git_repo": in_ctr(ctr, bare),
                        "git_branch": "main", "web_port": WEB_PORT},
            "git": {"local_root": os.path.dirname(in_ctr(ctr, bare))},
        })
        p.start()
        try:
            yield p, p.login()
        finally:
            ctr.run(["systemctl", "stop", "autarch-web", "autarch-dns"])
            rc = p.stop()
            log = p.read_log()
            assert rc == 0, log
            assert "Sanitizer" not in log and "runtime error:" not in log, log


def call(inside, method, path, **kw):
    p, tok = inside
    kw.setdefault("timeout", JOB_TIMEOUT)
    return p.request(method, path, token=tok, **kw)


def git_out(ctr, *args):
    r = ctr.run(["git", "-c", f"safe.directory={INSTALL_DIR}", "-C", INSTALL_DIR, *args])
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def unit_prop(ctr, unit, prop):
    return ctr.run(["systemctl", "show", "-p", prop, "--value", unit]).stdout.strip()


def web_get(timeout=30, want=None):
    """The fixture web app's JSON once it answers (and contains want)."""
    last = [None]

    def answers():
        try:
            r = requests.get(f"http://127.0.0.1:{WEB_PORT}/", timeout=2)
            last[0] = f"{r.status_code} {r.text!r}"
            if r.status_code == 200 and (want is None or want in r.text):
                return r.json()
        except requests.RequestException as e:
            last[0] = repr(e)
        return None

    j = waiting.wait_for(answers, timeout)
    assert j is not None, f"autarch-web never answered {want!r}: {last[0]}"
    return j


def dns_query(name, timeout=30):
    """The IPv4 answer of the fixture DNS server for name (A)."""
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        try:
            s.sendto(q, ("127.0.0.1", DNS_PORT))
            data, _ = s.recvfrom(512)
            assert data[:2] == q[:2] and data[3] & 0x0f == 0, data
            ancount = struct.unpack(">H", data[6:8])[0]
            assert ancount == 1, data
            return socket.inet_ntoa(data[-4:])
        except (OSError, socket.timeout) as e:
            assert time.monotonic() < deadline, f"no DNS answer: {e!r}"
        finally:
            s.close()


def test_broken_requirements_leave_nothing(ctr, repo, inside):
    bare, work = repo
    break_requirements(work, bare)
    r = call(inside, "POST", "/autarch/install")
    assert r.status_code == 500, r.text
    assert r.json()["error"].startswith("pip install failed: "), r.text
    job = call(inside, "GET", f"/api/jobs/{r.json()['job_id']}").json()
    assert not os.path.exists(ctr.path(INSTALL_DIR)), (os.listdir(ctr.path(INSTALL_DIR)),
                                                       job["output"][-3000:])
    assert not os.path.exists(ctr.path("/etc/systemd/system/autarch-web.service"))
    assert ctr.run(["getent", "passwd", "autarch"]).returncode != 0
    st = call(inside, "GET", "/autarch/status").json()
    assert st["installed"] is False and st["git_commit"] == ""


def test_install(ctr, repo, inside):
    bare, work = repo
    with open(os.path.join(work, "requirements.txt"), "w") as f:
        f.write("--no-index\n--find-links wheels\nautarch-fixture-dep==1.0\n")
    commit_file(work, bare, "requirements.txt",
                "--no-index\n--find-links wheels\nautarch-fixture-dep==1.0\n",
                "Restore requirements")
    t0 = time.time()
    r = call(inside, "POST", "/autarch/install")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "installed"}
    print(f"install: {time.time() - t0:.1f} s")
    assert call(inside, "POST", "/autarch/install").status_code == 409

    assert git_out(ctr, "config", "core.fileMode") == "false"
    pw = ctr.run(["getent", "passwd", "autarch"]).stdout.strip().split(":")
    uid, gid = int(pw[2]), int(pw[3])
    assert uid < 1000  # a system user
    st = os.stat(ctr.path(INSTALL_DIR + "/autarch_settings.conf"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o600)
    for d in ("data", "data/certs", "data/dns", "results", "dossiers", "models"):
        s = os.stat(ctr.path(f"{INSTALL_DIR}/{d}"))
        assert s.st_uid == uid, d
    assert os.stat(ctr.path(INSTALL_DIR + "/autarch_web.py")).st_uid == uid
    for unit in ("autarch-web", "autarch-dns"):
        text = open(ctr.path(f"/etc/systemd/system/{unit}.service")).read()
        assert "User=autarch" in text
        assert unit_prop(ctr, unit, "LoadState") == "loaded"
        assert unit_prop(ctr, unit, "ActiveState") == "inactive"
        assert unit_prop(ctr, unit, "UnitFileState") == "disabled"
    dns_unit = open(ctr.path("/etc/systemd/system/autarch-dns.service")).read()
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW" in dns_unit
    # the permission step left git clean: a later pull works
    assert git_out(ctr, "status", "--porcelain") == ""


def test_status_fields(ctr, inside):
    st = call(inside, "GET", "/autarch/status").json()
    short = git_out(ctr, "log", "-1", "--format=%h %s")
    assert st == {
        "installed": True, "install_dir": INSTALL_DIR, "git_commit": short,
        "venv_ready": True, "pip_packages": st["pip_packages"],
        "web_running": False, "web_status": "inactive",
        "dns_running": False, "dns_status": "inactive",
    }
    assert short.endswith(" Restore requirements")
    listed = ctr.run([f"{INSTALL_DIR}/venv/bin/pip", "list", "--format=freeze"]).stdout
    assert st["pip_packages"] == len(listed.split()), listed
    assert "autarch-fixture-dep==1.0" in listed


def test_config_through_the_helper(ctr, inside):
    """The settings file is the autarch user's (0600): the HTTP process, as
    setec, reads and replaces it through the root helper."""
    path = f"{INSTALL_DIR}/autarch_settings.conf"
    r = call(inside, "GET", "/autarch/config")
    assert r.status_code == 200, r.text
    with open(ctr.path(path)) as f:
        assert r.json() == {"config": f.read()}
    text = r.json()["config"] + "\n[panel]\nnote = set from the panel\n"
    r = call(inside, "PUT", "/autarch/config", json={"config": text})
    assert r.status_code == 200, r.text
    st = os.stat(ctr.path(path))
    assert st.st_mode & 0o777 == 0o600
    assert str(st.st_uid) == ctr.run(["id", "-u", "autarch"]).stdout.strip()
    assert call(inside, "GET", "/autarch/config").json() == {"config": text}


def test_start_without_dns_binary_names_it(ctr, inside):
    r = call(inside, "POST", "/autarch/start")
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["error"].startswith("autarch-dns: "), body
    assert body["units"]["autarch-web"] == "active"
    assert body["units"]["autarch-dns"] != "active"
    got = web_get()
    assert got["app"] == "autarch-web" and got["dep"] == "1.0" and got["commit"] == "fixture-1"
    pw = ctr.run(["getent", "passwd", "autarch"]).stdout.split(":")
    assert got["user"] == int(pw[2])  # not root
    r = call(inside, "POST", "/autarch/stop")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stopped",
                        "units": {"autarch-web": "inactive", "autarch-dns": r.json()["units"]["autarch-dns"]}}


def test_dns_build_and_start(ctr, inside):
    t0 = time.time()
    r = call(inside, "POST", "/autarch/dns/build", headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    def ended():
        j = call(inside, "GET", f"/api/jobs/{job_id}").json()
        return j if j["state"] not in ("queued", "running") else None
    job = waiting.wait_for(ended, JOB_TIMEOUT, f"job {job_id} to end")
    assert job["state"] == "done", job
    assert job["kind"] == "autarch_dns_build"
    print(f"dns build: {time.time() - t0:.1f} s")
    assert os.access(ctr.path(INSTALL_DIR + "/services/dns-server/autarch-dns"), os.X_OK)
    assert os.path.isdir(ctr.path(INSTALL_DIR + "/.cache/go"))

    r = call(inside, "POST", "/autarch/start")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "started",
                        "units": {"autarch-web": "active", "autarch-dns": "active"}}
    assert web_get()["commit"] == "fixture-1"
    assert dns_query("autarch.test") == "10.0.0.7"
    st = call(inside, "GET", "/autarch/status").json()
    assert (st["web_running"], st["web_status"], st["dns_running"], st["dns_status"]) == \
        (True, "active", True, "active")
    # a synchronous rebuild restarts the running DNS unit
    pid = unit_prop(ctr, "autarch-dns", "MainPID")
    r = call(inside, "POST", "/autarch/dns/build")
    assert r.status_code == 200 and r.json() == {"status": "built"}, r.text
    assert unit_prop(ctr, "autarch-dns", "MainPID") != pid
    assert dns_query("dns.autarch.test") == "10.0.0.53"


def test_update_serves_the_new_commit(ctr, repo, inside):
    bare, work = repo
    new = push_version(work, bare, "fixture-2")
    r = call(inside, "POST", "/autarch/update")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "updated"}
    st = call(inside, "GET", "/autarch/status").json()
    assert st["git_commit"] == new[:7] + " version fixture-2"
    assert web_get(want="fixture-2")["commit"] == "fixture-2"
    assert st["web_running"] and st["dns_running"]


def test_autarch_site_serves_autarch_through_nginx(ctr, inside):
    """A site of app_type autarch is nginx in front of the installed AUTARCH
    (autarch.web_port): no repository, user or unit of its own; its status
    is autarch-web's, and deleting it leaves AUTARCH running."""
    if ctr.run(["systemctl", "is-active", "nginx.service"]).stdout.strip() != "active":
        ctr.run(["systemctl", "start", "nginx.service"])
    domain = "autarch-front.setec.test"
    r = call(inside, "POST", "/sites", json={"domain": domain, "app_type": "autarch"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert site["app_type"] == "autarch" and site["app_port"] == WEB_PORT, site

    def through_nginx():
        try:
            r = requests.get("http://127.0.0.1/", headers={"Host": domain}, timeout=2)
            return r.json() if r.status_code == 200 and "fixture-2" in r.text else None
        except (requests.RequestException, ValueError):
            return None

    j = waiting.wait_for(through_nginx, 15, what="the AUTARCH page through nginx")
    assert j["commit"] == "fixture-2"
    d = call(inside, "GET", f"/sites/{site['id']}").json()["Site"]
    assert d["status"] == "active" and d["running"] is True, d
    assert not os.path.exists(ctr.path(f"/etc/systemd/system/app-{domain}.service"))
    assert ctr.run(["id", f"setec-s{site['id']}"]).returncode != 0
    r = call(inside, "DELETE", f"/sites/{site['id']}")
    assert r.status_code == 200, r.text
    assert unit_prop(ctr, "autarch-web", "ActiveState") == "active"
    assert not os.path.exists(ctr.path(f"/etc/nginx/sites-enabled/{domain}"))


def test_restart_and_stop(ctr, inside):
    pid = unit_prop(ctr, "autarch-web", "MainPID")
    r = call(inside, "POST", "/autarch/restart")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "restarted",
                        "units": {"autarch-web": "active", "autarch-dns": "active"}}
    assert unit_prop(ctr, "autarch-web", "MainPID") != pid
    web_get()
    r = call(inside, "POST", "/autarch/stop")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "stopped",
                        "units": {"autarch-web": "inactive", "autarch-dns": "inactive"}}
    st = call(inside, "GET", "/autarch/status").json()
    assert not st["web_running"] and not st["dns_running"]
