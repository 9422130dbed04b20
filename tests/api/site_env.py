"""A panel in front of a private nginx (nginx_prefix.py), as the site tests
use it: a unit directory of its own, no system bus unless asked (unit
operations fail fast instead of waiting), logged in as the admin."""
import os

from conftest import Panel, assert_no_sanitizer_report
from nginx_prefix import NginxPrefix, skip_without_nginx


class Env:
    pass


def start_env(d, extra=None, own_default=True, units=True, bus=False, many_logins=False):
    """extra: config sections merged over nginx's; bus=True: the panel looks
    for the system bus itself (SETEC_SYSTEM_BUS unset)."""
    skip_without_nginx()
    ng = NginxPrefix(d / "nginx", own_default=own_default).start()
    cfg = ng.panel_config()
    e = Env()
    e.ng, e.dir = ng, str(d)
    if units:
        e.units = str(d / "units")
        os.makedirs(e.units, exist_ok=True)
        cfg["systemd"] = {"unit_dir": e.units}
    cfg.update(extra or {})
    os.makedirs(d / "panel", exist_ok=True)
    p = Panel(d / "panel", extra=cfg, many_logins=many_logins,
              env=None if bus else {"SETEC_SYSTEM_BUS": "unix:path=" + str(d / "no-bus")})
    if bus:
        p.env.pop("SETEC_SYSTEM_BUS", None)
    try:
        p.start()
    except Exception:
        ng.stop()
        raise
    e.panel = p
    e.token = p.login()
    return e


def stop_env(e):
    """Stops the panel and nginx; fails when the panel did not exit cleanly
    or a sanitizer reported something."""
    rc = e.panel.stop()
    e.ng.stop()
    assert rc == 0, "panel did not exit cleanly:\n" + e.panel.read_log()
    assert_no_sanitizer_report(e.panel)
