"""`setup --firewall` applies ufw's default rule set with the real ufw, in a
private network + mount namespace (tests/system/ufw-ns.sh): 22, 80, 443 and
the panel port allowed, 53 tcp+udp only when AUTARCH DNS is installed."""
import os
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT, write_config

NS = os.path.join(ROOT, "tests", "system", "ufw-ns.sh")


def _need():
    if os.geteuid() != 0:
        pytest.skip("needs root (network and mount namespaces)")
    for prog in ("ufw", "unshare", "ip", "iptables"):
        if not shutil.which(prog):
            pytest.skip(f"{prog} is not installed")


def _host_state():
    ipt = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    with open("/etc/ufw/ufw.conf") as f:
        return ipt, f.read()


def _setup_and_status(tmp_path, with_dns):
    units = tmp_path / "units"
    units.mkdir()
    if with_dns:
        (units / "autarch-dns.service").write_text("[Service]\nExecStart=/bin/true\n")
    cfg = tmp_path / "config.yaml"
    write_config(cfg, {
        "server": {"host": "127.0.0.1", "port": 9443, "cert": str(tmp_path / "tls/c.pem"),
                   "key": str(tmp_path / "tls/k.pem")},
        "database": {"path": str(tmp_path / "data/setec.db")},
        "backups": {"dir": str(tmp_path / "data/backups")},
        "nginx": {"sites_available": str(tmp_path / "ng/a"), "sites_enabled": str(tmp_path / "ng/e"),
                  "snippets": str(tmp_path / "ng/s"), "webroot": str(tmp_path / "www"),
                  "certbot_webroot": str(tmp_path / "www/certbot")},
        "systemd": {"unit_dir": str(units)},
        "acme": {"account_dir": str(tmp_path / "data/acme")},
        "logging": {"file": ""},
    })
    script = f'"{BIN}" -c "{cfg}" setup --firewall && ufw status verbose'
    env = dict(os.environ, SETEC_ADMIN_PASSWORD="x-setup-test")
    return subprocess.run([NS, str(tmp_path / "ufw"), "--net", "--", "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("with_dns", [False, True])
def test_setup_firewall_defaults(tmp_path, with_dns):
    _need()
    before = _host_state()
    r = _setup_and_status(tmp_path, with_dns)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "Status: active" in out
    assert "Default: deny (incoming), allow (outgoing)" in out
    for port in ("22/tcp", "80/tcp", "443/tcp", "9443/tcp"):
        assert any(line.startswith(port) and "ALLOW IN" in line for line in out.splitlines()), \
            (port, out)
    has53 = [line for line in out.splitlines() if line.startswith("53 ")]
    assert bool(has53) == with_dns, out
    if with_dns:  # tcp and udp: ufw shows a protocol-less rule
        assert not any(line.startswith("53/tcp") for line in out.splitlines()), out
    # the host's firewall never changed
    assert _host_state() == before
