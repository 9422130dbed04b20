"""System users for real: the panel runs in a private mount namespace whose
/etc, /home, /var/log and /var/mail are throw-away overlays
(tests/system/users-ns.sh), so POST/DELETE /users run the real useradd,
chpasswd, pkill and userdel. What they did is read back through
/proc/<panel pid>/root (the namespace's view). The host's account files must
be byte-identical at the end."""
import grp
import hashlib
import os
import shutil
import subprocess
import time
import warnings

with warnings.catch_warnings():  # deprecated in 3.11, still in Debian 12's python3 (libxcrypt)
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

import pytest

from conftest import HTTP_USER, Panel, ROOT, http_process_uid, http_user_dir

NS = os.path.join(ROOT, "tests", "system", "users-ns.sh")
UID_MIN = 47000  # the overlay's login.defs: clear of UIDs used on the host
HOST_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/shells",
              "/etc/login.defs", "/etc/pam.d/chpasswd")
ACCOUNT_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow")


def md5s(paths, prefix=""):
    out = {}
    for p in paths:
        with open(prefix + p, "rb") as f:
            out[p] = hashlib.md5(f.read()).hexdigest()
    return out


def machine_can_do_it(tmp):
    if os.geteuid() != 0:
        return "needs root (mount namespaces, overlayfs, useradd)"
    for tool in ("unshare", "nsenter", "setpriv", "useradd", "userdel", "chpasswd", "pkill",
                 "groupadd"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    probe = os.path.join(tmp, "probe")
    os.makedirs(probe)
    r = subprocess.run([NS, probe, "/bin/sh", "-c", "grep -q ' /etc overlay ' /proc/self/mounts"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return "cannot make an overlay /etc in a mount namespace: " + (r.stderr or "").strip()
    return None


@pytest.fixture(scope="module")
def host_before():
    before = md5s(HOST_FILES)
    yield before
    assert md5s(HOST_FILES) == before, "the host's account files changed"


@pytest.fixture(scope="module")
def ns_panel(tmp_path_factory, host_before):
    tmp = str(tmp_path_factory.mktemp("sysusers"))
    why = machine_can_do_it(tmp)
    if why:
        pytest.skip(why)
    # the overlay's /etc/shells: the host's list without rbash, plus /bin/false
    shells = os.path.join(tmp, "shells")
    with open("/etc/shells") as src, open(shells, "w") as dst:
        for line in src:
            if "rbash" not in line:
                dst.write(line)
        dst.write("/bin/false\n")
    state = os.path.join(tmp, "ns")
    os.makedirs(state)
    # the HTTP process runs as HTTP_USER (the default): the accounts change
    # only through the root helper
    pdir = http_user_dir("sysusers")
    p = Panel(pdir, wrap=[NS, state], extra={"server": {"user": HTTP_USER}},
              env={"USERS_NS_SHELLS": shells, "USERS_NS_UID_MIN": str(UID_MIN)})
    p.start()
    p.ns_root = f"/proc/{p.proc.pid}/root"
    assert http_process_uid(p) == int(ns_entry(p, "/etc/passwd", HTTP_USER)[2])
    # Everything below writes through ns_root: make sure it is the overlay.
    with open(f"/proc/{p.proc.pid}/mountinfo") as f:
        mounts = f.read()
    assert " /etc " in mounts and "overlay" in mounts, mounts
    assert md5s(("/etc/shells",), p.ns_root) != md5s(("/etc/shells",))
    p.token = p.login()
    yield p
    rc = p.stop()
    assert rc == 0, p.read_log()
    assert "ERROR: AddressSanitizer" not in p.read_log()
    assert not os.listdir(state), "the namespace's tmpfs leaked onto the host"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(pdir, ignore_errors=True)


def ns_file(panel, path):
    with open(panel.ns_root + path) as f:
        return f.read()


def ns_entry(panel, path, name):
    for line in ns_file(panel, path).splitlines():
        if line.split(":", 1)[0] == name:
            return line.split(":")
    return None


def ns_run(panel, *argv, **kw):
    """Run argv inside the panel's mount namespace."""
    return subprocess.run(["nsenter", "-t", str(panel.proc.pid), "-m", "--", *argv],
                          capture_output=True, text=True, timeout=30, **kw)


def api(panel, method, path, **kw):
    return panel.request(method, path, token=panel.token, **kw)


def assert_error(r, status, contains=None):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and body["error"]
    if contains:
        assert contains in body["error"], body


def verify_password(panel, name, password):
    sp = ns_entry(panel, "/etc/shadow", name)
    assert sp, f"{name} not in the overlay's shadow"
    h = sp[1]
    assert h.startswith(("$y$", "$6$")), h
    return crypt.crypt(password, h) == h


def test_create_user(ns_panel, host_before):
    pw = "S3cret pass $(id) `x` ;|&"
    r = api(ns_panel, "POST", "/users",
            json={"username": "su_deploy", "password": pw, "shell": "/bin/bash"})
    assert r.status_code == 201, r.text
    assert r.json() == {"status": "created", "username": "su_deploy"}
    pwent = ns_entry(ns_panel, "/etc/passwd", "su_deploy")
    assert pwent and pwent[5] == "/home/su_deploy" and pwent[6] == "/bin/bash", pwent
    uid = int(pwent[2])
    assert UID_MIN <= uid < UID_MIN + 1000
    assert ns_entry(ns_panel, "/etc/group", "su_deploy")[2] == pwent[3]  # own group
    assert verify_password(ns_panel, "su_deploy", pw)
    assert not verify_password(ns_panel, "su_deploy", pw + "x")
    st = os.stat(ns_panel.ns_root + "/home/su_deploy")
    assert st.st_uid == uid
    lst = api(ns_panel, "GET", "/users").json()
    assert {"username": "su_deploy", "uid": str(uid), "home_dir": "/home/su_deploy",
            "shell": "/bin/bash"} in lst
    # the host never saw any of it
    assert md5s(ACCOUNT_FILES) == {k: host_before[k] for k in ACCOUNT_FILES}
    assert not os.path.exists("/home/su_deploy")


def test_default_shell_and_form(ns_panel):
    r = api(ns_panel, "POST", "/users", data={"username": "su_form", "password": "pw-form"})
    assert r.status_code == 303 and r.headers["Location"] == "/users", r.text
    assert ns_entry(ns_panel, "/etc/passwd", "su_form")[6] == "/bin/bash"
    assert verify_password(ns_panel, "su_form", "pw-form")


def test_duplicate_409(ns_panel):
    before = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    assert_error(api(ns_panel, "POST", "/users",
                     json={"username": "su_deploy", "password": "other"}), 409, "su_deploy")
    assert_error(api(ns_panel, "POST", "/users",
                     json={"username": "root", "password": "other"}), 409)
    assert md5s(ACCOUNT_FILES, ns_panel.ns_root) == before


def test_existing_group_409(ns_panel):
    # no such user, but --user-group cannot create its group: useradd exit 9
    r = ns_run(ns_panel, "groupadd", "--", "su_grp")
    assert r.returncode == 0, r.stderr
    before = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    assert_error(api(ns_panel, "POST", "/users",
                     json={"username": "su_grp", "password": "pw"}), 409)
    assert md5s(ACCOUNT_FILES, ns_panel.ns_root) == before
    assert ns_entry(ns_panel, "/etc/passwd", "su_grp") is None


HOSTILE = [
    {"username": "-o", "password": "pw"},
    {"username": "--badname", "password": "pw"},
    {"username": "a:b", "password": "pw"},
    {"username": "x\nroot", "password": "pw"},
    {"username": "root\n", "password": "pw"},
    {"username": "../x", "password": "pw"},
    {"username": "su_h", "password": "a:b"},
    {"username": "su_h", "password": "x\nroot:owned"},
    {"username": "su_deploy", "password": "x\nroot:owned"},
    {"username": "su_h", "password": "x\r\nroot:owned"},
    {"username": "su_h", "password": "p" * 512},
    {"username": "su_h", "password": "p" * 1024},
    {"username": "su_h", "password": "pw", "shell": "/bin/rbash"},  # host lists it, overlay not
    {"username": "su_h", "password": "pw", "shell": "/bin/nope"},
    {"username": "su_h", "password": "pw", "shell": "-o"},
]


def test_hostile_inputs_change_nothing(ns_panel):
    before = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    root_hash = ns_entry(ns_panel, "/etc/shadow", "root")[1]
    for body in HOSTILE:
        r = api(ns_panel, "POST", "/users", json=body)
        assert r.status_code == 400, (body, r.status_code, r.text)
    for name in ("-o", "a:b", "x%0Aroot", "Root"):
        r = api(ns_panel, "DELETE", "/users/" + name)
        assert r.status_code == 400, (name, r.text)
    assert md5s(ACCOUNT_FILES, ns_panel.ns_root) == before
    assert ns_entry(ns_panel, "/etc/shadow", "root")[1] == root_hash
    assert not os.path.exists(ns_panel.ns_root + "/home/su_h")


def test_longest_password_and_overlay_shell(ns_panel):
    pw = "L" * 511
    r = api(ns_panel, "POST", "/users",
            json={"username": "su_long", "password": pw, "shell": "/bin/false"})
    assert r.status_code == 201, r.text
    assert ns_entry(ns_panel, "/etc/passwd", "su_long")[6] == "/bin/false"
    assert verify_password(ns_panel, "su_long", pw)


def test_chpasswd_failure_rolls_back(ns_panel):
    pam = ns_panel.ns_root + "/etc/pam.d/chpasswd"
    with open(pam) as f:
        saved = f.read()
    before = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    try:
        with open(pam, "w") as f:
            f.write("password requisite pam_deny.so\n")
        r = api(ns_panel, "POST", "/users", json={"username": "su_rb", "password": "pw"})
        assert_error(r, 500, "chpasswd")
    finally:
        with open(pam, "w") as f:
            f.write(saved)
    assert ns_entry(ns_panel, "/etc/passwd", "su_rb") is None
    assert ns_entry(ns_panel, "/etc/group", "su_rb") is None
    assert not os.path.exists(ns_panel.ns_root + "/home/su_rb")
    now = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    assert now["/etc/passwd"] == before["/etc/passwd"]
    assert now["/etc/group"] == before["/etc/group"]


def test_delete_ends_processes_and_removes_home(ns_panel):
    uid = int(ns_entry(ns_panel, "/etc/passwd", "su_deploy")[2])
    proc = subprocess.Popen(["nsenter", "-t", str(ns_panel.proc.pid), "-m", "--", "setpriv",
                             f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                             "sleep", "300"])
    try:
        deadline = time.time() + 5
        while time.time() < deadline:  # setpriv has switched user
            if os.stat(f"/proc/{proc.pid}").st_uid == uid:
                break
            time.sleep(0.02)
        assert os.stat(f"/proc/{proc.pid}").st_uid == uid
        r = api(ns_panel, "DELETE", "/users/su_deploy")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "deleted"}
        assert proc.wait(5) != 0  # killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert ns_entry(ns_panel, "/etc/passwd", "su_deploy") is None
    assert ns_entry(ns_panel, "/etc/shadow", "su_deploy") is None
    assert ns_entry(ns_panel, "/etc/group", "su_deploy") is None
    assert not os.path.exists(ns_panel.ns_root + "/home/su_deploy")
    assert "su_deploy" not in [u["username"] for u in api(ns_panel, "GET", "/users").json()]
    assert_error(api(ns_panel, "DELETE", "/users/su_deploy"), 404)


def test_delete_protected(ns_panel):
    before = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    # an account named autarch in the overlay is protected whatever its UID
    r = ns_run(ns_panel, "useradd", "--user-group", "--", "autarch")
    assert r.returncode == 0, r.stderr
    mid = md5s(ACCOUNT_FILES, ns_panel.ns_root)
    for name in ("root", "daemon", "nobody", "autarch"):
        assert_error(api(ns_panel, "DELETE", "/users/" + name), 403, name)
    assert md5s(ACCOUNT_FILES, ns_panel.ns_root) == mid != before
    assert os.path.isdir(ns_panel.ns_root + "/root")
    assert_error(api(ns_panel, "DELETE", "/users/su_never_existed"), 404)


def test_delete_form_user_and_list(ns_panel):
    r = api(ns_panel, "DELETE", "/users/su_form")
    assert r.status_code == 200 and r.json() == {"status": "deleted"}, r.text
    r = api(ns_panel, "DELETE", "/users/su_long")
    assert r.status_code == 200, r.text
    names = [u["username"] for u in api(ns_panel, "GET", "/users").json()]
    assert "su_form" not in names and "su_long" not in names
    assert "autarch" in names


def test_host_untouched(ns_panel, host_before):
    assert md5s(HOST_FILES) == host_before
    for name in ("su_deploy", "su_form", "su_long", "su_grp", "su_rb", "autarch"):
        with pytest.raises(KeyError):
            grp.getgrnam(name)
        assert not os.path.exists("/home/" + name)
