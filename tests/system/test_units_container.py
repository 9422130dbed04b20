"""sys/units against a real systemd: the cmocka binary test_sys_units (built
next to the panel) runs inside a throw-away systemd container with
SETEC_UNITS_LIVE=1, where its live group installs an app unit, enables,
starts, stops, restarts it over sd-bus, fetches the app's page as the
unprivileged user, makes a unit fail and removes everything again."""
import os
import re

import pytest

from conftest import BIN
from container import Container, container_unavailable


@pytest.fixture(scope="module")
def ctr():
    reason = container_unavailable()
    if reason:
        pytest.skip(reason)
    exe = os.path.join(os.path.dirname(os.path.realpath(BIN)), "test_sys_units")
    if not os.access(exe, os.X_OK):
        pytest.skip(f"no unit test binary at {exe}")
    bindir = os.path.dirname(exe)
    # the golden files are read by the other tests of the binary
    fixtures = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "fixtures")
    with Container(binds_ro=[bindir, fixtures]) as c:
        c.exe = exe
        yield c


def test_units_live_in_container(ctr):
    r = ctr.run(["env", "SETEC_UNITS_LIVE=1", "CMOCKA_MESSAGE_OUTPUT=stdout", ctr.exe],
                timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # the live group really ran (it skips itself outside the container)
    assert re.search(r"\[\s+OK\s+\] test_live", out), out
    assert "SKIPPED" not in out, out
    # and it left nothing behind in the container's systemd
    assert not os.path.exists(ctr.path("/etc/systemd/system/app-app.live.test.service"))
    st = ctr.run(["systemctl", "show", "-p", "LoadState", "app-app.live.test.service"]).stdout
    assert st.strip() == "LoadState=not-found", st
    # systemd parsed the rendered unit without complaint (quoting, keys)
    log = ctr.run(["journalctl", "-b", "--no-pager", "-o", "cat", "-u", "init.scope"]).stdout
    log += ctr.run(["journalctl", "-b", "--no-pager", "-o", "cat", "_PID=1"]).stdout
    complaints = [ln for ln in log.splitlines() if "app-app.live.test.service:" in ln and
                  any(w in ln for w in ("Ignoring", "Invalid", "Unknown", "Failed to parse",
                                        "unknown", "not absolute"))]
    assert complaints == [], complaints
    assert "app-app.live.test.service" in log  # the check above saw systemd's messages
    # the user exists only in the container's overlay, never on the host
    assert "setec-app:" in open(ctr.path("/etc/passwd")).read()
