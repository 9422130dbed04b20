"""The trust boundary in production shape: the panel started as root by
systemd inside a throw-away container splits into an HTTP process that runs
as the unprivileged `setec` user (no capabilities, no_new_privs) and a root
helper (its child, the `setec-helper` executable beside the panel's) that
does the system changes; the HTTP process also runs under a seccomp filter.
Requests work as that user (its database, the journal through its group), and the
panel stops when the helper is gone rather than serving without it."""
import os

import pytest

# the throw-away systemd container of the journald tests, and its panel
from conftest import BIN
from test_logs_journald import ContainerPanel, ctr  # noqa: F401 (a fixture)
from waiting import wait_for


@pytest.fixture(scope="module")
def inside(ctr):
    with ctr.netns():
        tmp = os.path.join(ctr.shared, "panel")
        os.makedirs(tmp, exist_ok=True)
        p = ContainerPanel(ctr, tmp)
        p.start()
        try:
            yield p, p.login()
        finally:
            p.stop()
            assert "Sanitizer" not in p.read_log(), p.read_log()


def status(ctr, pid):
    """/proc/<pid>/status of a process of the container as a dict."""
    text = ctr.run(["cat", f"/proc/{pid}/status"]).stdout
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def processes(ctr, p):
    main = ctr.run(["systemctl", "show", "-p", "MainPID", "--value", p.unit]).stdout.strip()
    assert main and main != "0", main
    kids = ctr.run(["cat", f"/proc/{main}/task/{main}/children"]).stdout.split()
    helpers = [k for k in kids if status(ctr, k).get("Name") == "setec-helper"]
    assert len(helpers) == 1, (kids, [status(ctr, k).get("Name") for k in kids])
    return main, helpers[0]


def exe(ctr, pid):
    return ctr.run(["readlink", f"/proc/{pid}/exe"]).stdout.strip()


def test_http_process_unprivileged_helper_root(ctr, inside):
    p, token = inside
    main, helper = processes(ctr, p)
    setec = ctr.run(["id", "-u", "setec"]).stdout.strip()
    assert setec.isdigit() and setec != "0", setec
    st = status(ctr, main)
    assert st["Uid"].split() == [setec] * 4, st["Uid"]
    assert "0" not in st["Gid"].split(), st["Gid"]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(st[cap], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"] == "1"
    # and a seccomp filter (sys/sandbox: no programs, namespaces, io_uring, ...)
    assert st["Seccomp"] == "2", st["Seccomp"]
    # the journal is read through its group, never as root
    journal_gid = ctr.run(["getent", "group", "systemd-journal"]).stdout.split(":")[2]
    assert journal_gid in st["Groups"].split(), st["Groups"]
    hst = status(ctr, helper)
    assert hst["Uid"].split() == ["0"] * 4, hst["Uid"]
    # the helper is its own executable, beside the panel's (not a fork of it)
    bindir = os.path.dirname(os.path.realpath(BIN))
    assert exe(ctr, main) == os.path.join(bindir, "setec-manager"), exe(ctr, main)
    assert exe(ctr, helper) == os.path.join(bindir, "setec-helper"), exe(ctr, helper)
    helper_env = ctr.run(["cat", f"/proc/{helper}/environ"]).stdout.split("\0")
    assert not [e for e in helper_env if e.startswith("SETEC_ADMIN_PASSWORD=")], helper_env
    # one filter more than the helper (which starts the programs) has from the unit
    assert int(st["Seccomp_filters"]) == int(hst["Seccomp_filters"]) + 1, (st, hst)
    # the HTTP process holds the database and answers as that user
    r = p.request("GET", "/api/auth/status", token=token)
    assert r.status_code == 200, r.text
    r = p.request("GET", "/api/logs/system?lines=5", token=token)
    assert r.status_code == 200, r.text
    assert r.json()["logs"].strip(), r.text
    # its files are the unprivileged user's, the helper's log says it started
    assert "serving as setec" in p.read_log()


def test_panel_stops_without_helper(ctr, inside):
    p, token = inside
    main, helper = processes(ctr, p)
    ctr.run(["kill", "-9", helper])
    # it stops, and as a failure: systemd's Restart=on-failure starts both again
    wait_for(lambda: ctr.run(["systemctl", "is-failed", p.unit]).stdout.strip() == "failed",
             timeout=10, what="the panel to fail once its root helper is gone")
    assert "without the root helper" in p.read_log()
