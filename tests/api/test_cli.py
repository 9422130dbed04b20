"""The command line (CONTRACT.md §1) and what serve leaves on disk."""
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess

import pytest

from conftest import BIN, FIXTURES, HELPER, Panel, write_config


def run(*args, input=None, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([BIN, *args], input=input, capture_output=True, text=True, timeout=30,
                          env=e)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def login_status(p, username, password):
    return p.request("POST", "/login",
                     json={"username": username, "password": password}).status_code


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    assert re.match(r"^setec-manager \S+\n$", r.stdout), r.stdout
    r = run("--help")
    assert r.returncode == 0
    for word in ("serve", "setup", "admin add", "admin passwd", "admin list", "admin delete",
                 "check", "--config", "--password-stdin"):
        assert word in r.stdout, word
    assert run("-h").returncode == 0
    assert run("-V").stdout == run("--version").stdout


def test_unknown_command_exit_2():
    r = run("frobnicate")
    assert r.returncode == 2
    assert "frobnicate" in r.stderr and "Usage" in r.stderr
    r = run("-c")
    assert r.returncode == 2


def test_admin_commands(fresh_panel):
    p = fresh_panel(many_logins=True)
    # the only admin cannot be deleted
    r = p.cli("admin", "delete", "admin")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "last admin" in r.stderr
    assert login_status(p, "admin", p.password) == 200

    r = p.cli("admin", "add", "bob", "--password-stdin", input="bob-secret-1\n")
    assert r.returncode == 0, r.stderr
    assert "bob" in r.stdout
    assert "bob-secret-1" not in r.stdout + r.stderr
    tok = p.login("bob", "bob-secret-1")
    st = p.request("GET", "/api/auth/status", token=tok).json()
    assert st["username"] == "bob" and st["role"] == "admin"

    r = p.cli("admin", "add", "bob", "--password-stdin", input="other\n")
    assert r.returncode == 1 and "exists" in r.stderr

    r = p.cli("admin", "add", "vera", "--role", "viewer", "--password-stdin", input="vera-pw\n")
    assert r.returncode == 0, r.stderr
    vtok = p.login("vera", "vera-pw")
    assert p.request("GET", "/api/auth/status", token=vtok).json()["role"] == "viewer"

    r = p.cli("admin", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "USERNAME" in lines[0]
    rows = {ln.split()[1]: ln.split()[2] for ln in lines[1:] if ln.strip()}
    assert rows == {"admin": "admin", "bob": "admin", "vera": "viewer"}, r.stdout
    assert "$" not in r.stdout  # no hashes

    r = p.cli("admin", "passwd", "bob", "--password-stdin", input="bob-secret-2\n")
    assert r.returncode == 0, r.stderr
    assert login_status(p, "bob", "bob-secret-1") == 401
    assert login_status(p, "bob", "bob-secret-2") == 200

    r = p.cli("admin", "passwd", "nobody", "--password-stdin", input="x\n")
    assert r.returncode == 1 and "no such user" in r.stderr

    # with a second admin, the first one can go
    r = p.cli("admin", "delete", "vera")
    assert r.returncode == 0, r.stderr
    assert p.request("GET", "/api/auth/status", token=vtok).status_code == 401
    r = p.cli("admin", "delete", "bob")
    assert r.returncode == 0
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 401
    r = p.cli("admin", "delete", "bob")
    assert r.returncode == 1 and "no such user" in r.stderr
    r = p.cli("admin", "delete", "admin")
    assert r.returncode == 1


def test_admin_argument_errors(fresh_panel):
    p = fresh_panel()
    for args in (("admin", "add", "-o", "--password-stdin"),
                 ("admin", "add", "Bad:Name", "--password-stdin"),
                 ("admin", "add", "carl", "--role", "root", "--password-stdin"),
                 ("admin", "add", "carl", "--bogus"),
                 ("admin",),
                 ("admin", "frob", "carl")):
        r = p.cli(*args, input="pw\n")
        assert r.returncode == 2, (args, r.returncode, r.stderr)
    # an empty password is refused
    r = p.cli("admin", "add", "carl", "--password-stdin", input="\n")
    assert r.returncode != 0
    # no terminal and no --password-stdin: refuse rather than hang
    r = p.cli("admin", "add", "carl", input="")
    assert r.returncode != 0 and "--password-stdin" in r.stderr
    names = [ln.split()[1] for ln in p.cli("admin", "list").stdout.splitlines()[1:]]
    assert names == ["admin"]


def test_check_exit_codes(tmp_path):
    good = tmp_path / "good.yaml"
    base = {"server": {"tls": False, "host": "127.0.0.1", "port": 9999},
            "database": {"path": str(tmp_path / "data" / "setec.db")},
            "logging": {"file": ""}}
    write_config(good, dict(base, nginx={"binary": "/bin/true"}))
    r = run("-c", str(good), "check")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "0 problems" in r.stdout

    bad = tmp_path / "bad.yaml"
    write_config(bad, dict(base, nginx={"binary": str(tmp_path / "no-such-nginx")}))
    r = run("-c", str(bad), "check")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "problem" in r.stdout and "nginx.binary" in r.stdout


def test_missing_config_means_defaults_with_warning(tmp_path):
    missing = tmp_path / "nope" / "config.yaml"
    r = run("-c", str(missing), "check")
    assert r.returncode in (0, 1), r.stderr
    assert "not found" in r.stderr, r.stderr
    assert str(missing) in r.stderr
    assert r.stderr.count("not found") == 1, r.stderr


def test_bad_config_value(tmp_path):
    cfg = tmp_path / "c.yaml"
    write_config(cfg, {"server": {"port": 70000}, "logging": {"file": ""}})
    r = run("-c", str(cfg), "check")
    assert r.returncode == 1
    assert "server.port" in r.stderr, r.stderr
    r = run("-c", str(cfg), "serve")
    assert r.returncode == 1 and "server.port" in r.stderr
    write_config(cfg, {"server": {"tls": "maybe"}, "logging": {"file": ""}})
    r = run("-c", str(cfg), "check")
    assert r.returncode == 1 and "server.tls" in r.stderr, r.stderr


def test_first_start_generates_password(fresh_panel):
    p = fresh_panel(start=False)
    del p.env["SETEC_ADMIN_PASSWORD"]
    p.start()
    path = os.path.join(p.data_dir, "initial-admin-password")
    # stderr is no terminal (under systemd it is the journal): the password
    # goes only to the 0600 file, and the log says where it is
    log = p.wait_log(r"initial-admin-password")
    assert log and "mode 0600" in log, p.read_log()
    assert mode(path) == 0o600
    with open(path) as f:
        pw = f.read().strip()
    assert len(pw) >= 12
    assert pw not in p.read_log()
    assert not re.search(r"password: \S", p.read_log())
    assert login_status(p, "admin", pw) == 200
    assert login_status(p, "admin", p.password) == 401
    # a restart does not make a new one
    assert p.stop() == 0
    p.start()
    with open(path) as f:
        assert f.read().strip() == pw
    assert login_status(p, "admin", pw) == 200
    assert pw not in p.read_log()


def test_first_start_password_shown_on_a_terminal(tmp_path):
    """At an interactive terminal (`setec-manager setup` by hand, `make run`)
    the person who started it sees the password."""
    import pty
    import select
    p = Panel(tmp_path)
    del p.env["SETEC_ADMIN_PASSWORD"]
    master, slave = pty.openpty()
    try:
        r = subprocess.run([BIN, "-c", p.config, "setup"], env=p.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=slave, timeout=60)
        os.close(slave)
        slave = -1
        out = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0, out
    with open(os.path.join(p.data_dir, "initial-admin-password")) as f:
        pw = f.read().strip()
    assert re.search(rb"password: " + re.escape(pw.encode()), out), out


def test_dev_run_reads_the_password_file():
    """`make run` (scripts/dev-run.sh) shows the developer the admin login
    from the file, not from the panel's output."""
    script = os.path.join(os.path.dirname(BIN), "..", "scripts", "dev-run.sh")
    if not os.path.exists(script):
        script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "dev-run.sh")
    with open(script) as f:
        text = f.read()
    assert "initial-admin-password" in text and 'cat "$pwfile"' in text


def test_env_password_is_used(fresh_panel):
    p = fresh_panel()
    assert login_status(p, "admin", p.password) == 200
    assert not os.path.exists(os.path.join(p.data_dir, "initial-admin-password"))
    assert p.password not in p.read_log()


def test_port_taken(fresh_panel):
    p = fresh_panel(start=False)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", p.port))
        s.listen(1)
        r = p.cli("serve")
    assert r.returncode != 0
    assert str(p.port) in r.stderr, r.stderr
    assert "server.port" in r.stderr, r.stderr


def test_sigterm_graceful(fresh_panel):
    p = fresh_panel()
    tok = p.login()
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 200
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(15) == 0
    assert "stopped" in p.read_log()


def test_sigint_graceful(fresh_panel):
    p = fresh_panel()
    p.proc.send_signal(signal.SIGINT)
    assert p.proc.wait(15) == 0


def test_sighup_keeps_running(fresh_panel):
    p = fresh_panel()
    p.proc.send_signal(signal.SIGHUP)
    tok = p.login()
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 200
    assert p.proc.poll() is None


def test_files_and_modes(fresh_panel):
    p = fresh_panel()
    p.login()
    key = os.path.join(p.data_dir, ".jwt_key")
    assert mode(key) == 0o600
    assert os.path.getsize(key) == 32
    db = os.path.join(p.data_dir, "setec.db")
    assert mode(db) == 0o600, oct(mode(db))
    key_pem = os.path.join(p.tmp, "tls", "key.pem")
    assert mode(key_pem) == 0o600
    # the key survives a restart, so tokens do too
    tok = p.login()
    with open(key, "rb") as f:
        before = f.read()
    assert p.stop() == 0
    p.start()
    with open(key, "rb") as f:
        assert f.read() == before
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 200


def test_wrong_size_jwt_key_refused(fresh_panel):
    p = fresh_panel(start=False)
    os.makedirs(p.data_dir, mode=0o700)
    with open(os.path.join(p.data_dir, ".jwt_key"), "wb") as f:
        f.write(b"short")
    r = p.cli("serve")
    assert r.returncode == 1
    assert ".jwt_key" in r.stderr
    with open(os.path.join(p.data_dir, ".jwt_key"), "rb") as f:
        assert f.read() == b"short"  # never silently replaced


def test_reference_database_is_adopted(fresh_panel):
    # the fixture's audit row is from March 2026: keep it from the retention
    p = fresh_panel(start=False, many_logins=True, extra={"audit": {"max_age_days": 36500}})
    os.makedirs(p.data_dir, mode=0o700)
    with open(os.path.join(FIXTURES, "reference-schema.sql")) as f:
        schema = f.read()
    con = sqlite3.connect(os.path.join(p.data_dir, "setec.db"))
    con.executescript(schema)
    con.close()
    p.start()

    # the reference's bcrypt admin logs in with its password; no new admin made
    assert login_status(p, "admin", p.password) == 401
    tok = p.login("admin", "autarch")
    users = p.request("GET", "/panel/users", token=tok).json()
    assert [u["username"] for u in users] == ["admin"]
    assert users[0]["id"] == 1 and users[0]["role"] == "admin"
    assert users[0]["created_at"] == "2026-03-01T09:15:42Z"
    assert not os.path.exists(os.path.join(p.data_dir, "initial-admin-password"))
    # a second login works too (after any rehash of the bcrypt hash)
    tok2 = p.login("admin", "autarch")
    assert p.request("GET", "/api/auth/status", token=tok2).json()["username"] == "admin"
    assert login_status(p, "admin", "Autarch") == 401

    # every other row is still there
    q = p.query
    assert q("SELECT domain, app_type, app_port FROM sites") == [("example.com", "python", 8000)]
    assert q("SELECT site_id, action, status FROM deployments") == [(1, "deploy", "success")]
    assert q("SELECT job_type, schedule FROM cron_jobs") == [("ssl_renew", "0 3 * * *")]
    assert q("SELECT id, client_ip FROM float_sessions") == [
        ("6f1c2e9a-3b7d-4c1e-9a55-0d2f7e8b1c34", "198.51.100.4")]
    assert q("SELECT id, size_bytes FROM backups") == [(1, 1048576)]
    assert q("SELECT username, ip, action, detail FROM audit_log WHERE id = 1") == [
        ("admin", "203.0.113.7", "site.create", "example.com")]
    # the dashboard counts the reference's site
    info = p.request("GET", "/api/system/info", token=tok).json()
    assert info["site_count"] == 1



def helper_of(p):
    """The pid of the panel's one child, its root helper."""
    with open(f"/proc/{p.proc.pid}/task/{p.proc.pid}/children") as f:
        kids = f.read().split()
    assert len(kids) == 1, kids
    return kids[0]


def sig_mask(pid, field):
    """The signals of a SigBlk/SigIgn/... line of /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == field:
                bits = int(v, 16)
                return {s for s in range(1, 65) if bits >> (s - 1) & 1}
    raise KeyError(field)


# an argv prefix: serve started with SIGUSR1 blocked and SIGUSR2 ignored, as
# a supervisor may leave them (both survive execve)
ODD_SIGNALS = ["/usr/bin/python3", "-c",
               "import os, signal, sys\n"
               "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n"
               "signal.signal(signal.SIGUSR2, signal.SIG_IGN)\n"
               "os.execv(sys.argv[1], sys.argv[1:])"]


def test_helper_is_its_own_executable(fresh_panel):
    p = fresh_panel(env={"SETEC_TEST_SECRET": "not-for-the-helper",
                         "SETEC_JOURNAL_DIR": "/nonexistent-journal"}, wrap=ODD_SIGNALS)
    assert signal.SIGUSR1 in sig_mask(p.proc.pid, "SigBlk")
    assert signal.SIGUSR2 in sig_mask(p.proc.pid, "SigIgn")
    pid = helper_of(p)
    assert os.readlink(f"/proc/{pid}/exe") == HELPER
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")[:-1]
    assert argv == [HELPER.encode(), b"--config", p.config.encode(), b"--fd", b"3"], argv
    # a fixed PATH and only what the helper side reads: no admin password,
    # nothing else of the panel's environment
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if e)
    assert env[b"PATH"] == b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env[b"SETEC_JOURNAL_DIR"] == b"/nonexistent-journal"
    assert b"SETEC_TEST_SECRET" not in env and b"SETEC_ADMIN_PASSWORD" not in env, env
    # stdin/out/err, the control socket and its own signalfd: nothing of
    # the HTTP process (database, listening socket, log file)
    fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert fds.keys() == {0, 1, 2, 3, 4}, fds
    assert fds[3].startswith("socket:") and fds[4] == "anon_inode:[signalfd]", fds
    # signals: none of serve's (or its parent's) blocked or ignored ones; only
    # what the helper's main() sets up itself: SIGTERM, SIGINT and SIGHUP
    # blocked (it ends when serve closes the control socket, so a SIGTERM to
    # the whole unit does not cut a call short), SIGCHLD taken by its
    # signalfd, SIGPIPE ignored
    assert sig_mask(pid, "SigBlk") == {signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                                       signal.SIGCHLD}
    assert sig_mask(pid, "SigIgn") == {signal.SIGPIPE}
    # the panel serves, and said which helper it started
    tok = p.login()
    assert p.request("GET", "/api/auth/status", token=tok).status_code == 200
    assert "root helper pid " + pid in p.read_log()


def test_serve_refuses_without_the_helper(fresh_panel, tmp_path):
    p = fresh_panel(start=False)
    bindir = tmp_path / "bin"
    os.makedirs(bindir)
    copy = bindir / "setec-manager"
    shutil.copy2(os.path.realpath(BIN), copy)
    helper = bindir / "setec-helper"

    def serve():
        r = subprocess.run([str(copy), "-c", p.config, "serve"], env=p.env, capture_output=True,
                           text=True, timeout=30)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", p.port), timeout=1).close()
        return r

    r = serve()
    assert r.returncode == 1, r.stderr
    assert f"the root helper {helper} is missing or not executable" in r.stderr, r.stderr
    # `check` says so too
    r = subprocess.run([str(copy), "-c", p.config, "check"], env=p.env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1, r.stdout
    assert f"problem: the root helper {helper} is missing or not executable" in r.stdout, r.stdout
    # not executable
    shutil.copy2(HELPER, helper)
    os.chmod(helper, 0o644)
    r = serve()
    assert r.returncode == 1, r.stderr
    assert f"the root helper {helper} is missing or not executable" in r.stderr, r.stderr
    # a helper that does not start (no ELF): named too, nothing served
    with open(helper, "w") as f:
        f.write("not a program\n")
    os.chmod(helper, 0o755)
    r = serve()
    assert r.returncode == 1, r.stderr
    assert f"cannot start the root helper {helper}: Exec format error" in r.stderr, r.stderr
    # beside it, the same binary serves, with that helper
    shutil.copy2(HELPER, helper)
    p.wrap = ["/bin/sh", "-c", 'shift; exec "$0" "$@"', str(copy)]  # in place of BIN
    p.start()
    assert os.readlink(f"/proc/{p.proc.pid}/exe") == str(copy)
    assert os.readlink(f"/proc/{helper_of(p)}/exe") == str(helper)


def test_helper_is_not_a_command():
    for argv in ([], ["--config", "/nonexistent"], ["--config", "/x", "--fd", "0"],
                 ["--config", "/x", "--fd", "1"], ["--fd", "3"]):
        r = subprocess.run([HELPER, *argv], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (argv, r.stderr)
        assert "setec-helper" in r.stderr, r.stderr
