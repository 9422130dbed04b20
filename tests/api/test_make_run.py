"""`make run` as the README promises: scripts/dev-run.sh starts the panel on
https://127.0.0.1:9090 with the development config under ./var and a
private nginx for the sites on :8080, prints the admin login, and a site
created right after it is served. The script runs from a copy of the pieces
it uses (its var/ in a temp dir, the binaries under test as build/), so a
developer's own var/ is never touched. Ports 9090 and 8080 are the
script's; the test skips when something else holds them."""
import os
import re
import shutil
import signal
import socket
import subprocess

import pytest
import requests

from conftest import BIN, HELPER, ROOT
from waiting import wait_for

PANEL, SITES = 9090, 8080


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture
def dev(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("dev-run.sh installs what is missing as root")
    if not shutil.which("nginx") and not os.access("/usr/sbin/nginx", os.X_OK):
        pytest.skip("nginx is not installed")
    for port in (PANEL, SITES):
        if not port_free(port):
            pytest.skip(f"port {port} is in use (a running `make run`?)")
    tree = tmp_path / "checkout"
    for rel in ("scripts/dev-run.sh", "scripts/install-deps.sh", "etc/dev.yaml"):
        os.makedirs(tree / os.path.dirname(rel), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), tree / rel)
    os.makedirs(tree / "build")
    os.symlink(os.path.realpath(BIN), tree / "build" / "setec-manager")
    os.symlink(HELPER, tree / "build" / "setec-helper")
    log = open(tmp_path / "dev-run.log", "wb")
    proc = subprocess.Popen([str(tree / "scripts" / "dev-run.sh")], cwd=tree, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def read_log():
        with open(tmp_path / "dev-run.log", errors="replace") as f:
            return f.read()

    try:
        wait_for(lambda: "listening on https://127.0.0.1:9090/" in read_log()
                 or proc.poll() is not None, timeout=60, what="make run to listen")
        assert proc.poll() is None, read_log()
        yield tree, read_log
    finally:
        # Ctrl-C, as the script says: the panel stops, its trap stops nginx
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    pid = tree / "var" / "nginx" / "run" / "nginx.pid"
    wait_for(lambda: not pid.exists(), timeout=10, what="the private nginx to stop")


def test_make_run_then_create_a_site(dev):
    tree, read_log = dev
    out = read_log()
    m = re.search(r"login: admin / (\S+)", out)
    assert m, out
    with open(tree / "var" / "data" / "initial-admin-password") as f:
        assert f.read().strip() == m.group(1)
    base = f"https://127.0.0.1:{PANEL}"
    r = requests.post(f"{base}/login", json={"username": "admin", "password": m.group(1)},
                      verify=False, timeout=10)
    assert r.status_code == 200, r.text
    auth = {"Authorization": "Bearer " + r.json()["token"]}
    r = requests.post(f"{base}/sites", json={"domain": "hello.test"}, headers=auth,
                      verify=False, timeout=60)
    assert r.status_code == 201, r.text

    def served():
        try:
            g = requests.get(f"http://127.0.0.1:{SITES}/", headers={"Host": "hello.test"},
                             timeout=2)
            return g.status_code == 200 and "<h1>hello.test</h1>" in g.text
        except requests.RequestException:
            return False

    wait_for(served, timeout=15, what="the new site through the private nginx")
    assert os.path.isfile(tree / "var" / "www" / "hello.test" / "index.html")
