"""GET /api/system/info (seed: Dashboard)."""
import os
import platform
import re
import socket

SIZE = re.compile(r"^\d+(\.\d)? (B|KB|MB|GB|TB|PB)$")
UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4, "PB": 1024 ** 5}
SYSTEMD_STATES = {"active", "inactive", "failed", "activating", "deactivating", "reloading",
                  "maintenance", "refreshing", "unknown"}
DEFAULT_SERVICES = ["Nginx", "AUTARCH Web", "AUTARCH DNS", "Setec Manager", "UFW"]


def size_bytes(s):
    n, u = s.split()
    return float(n) * UNITS[u]


def info(panel, token):
    r = panel.request("GET", "/api/system/info", token=token)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r


def test_every_seed_field_with_its_type(panel, admin_token):
    d = info(panel, admin_token).json()
    seed_fields = {"hostname", "os", "arch", "cpus", "uptime", "load_avg", "mem_total",
                   "mem_used", "mem_percent", "disk_total", "disk_used", "disk_percent",
                   "site_count", "services"}
    assert seed_fields <= set(d), seed_fields - set(d)

    assert isinstance(d["hostname"], str) and d["hostname"]
    assert d["hostname"] == socket.gethostname()
    assert d["os"] == "linux"
    machine = platform.machine()
    expected_arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine)
    assert isinstance(d["arch"], str) and d["arch"]
    if expected_arch:
        assert d["arch"] == expected_arch
    assert isinstance(d["cpus"], int) and not isinstance(d["cpus"], bool)
    assert d["cpus"] == os.cpu_count()
    assert isinstance(d["uptime"], str) and d["uptime"].startswith("up ")
    assert re.fullmatch(r"up( \d+d)?( \d+h)?( \d+m)?", d["uptime"]), d["uptime"]

    assert isinstance(d["load_avg"], str)
    la = d["load_avg"].split()
    assert len(la) == 3, d["load_avg"]
    with open("/proc/loadavg") as f:
        real = [float(x) for x in f.read().split()[:3]]
    for got, want in zip(la, real):
        assert re.fullmatch(r"\d+\.\d\d", got), d["load_avg"]
        assert abs(float(got) - want) < 5

    for k in ("mem_total", "mem_used", "disk_total", "disk_used"):
        assert isinstance(d[k], str) and SIZE.match(d[k]), (k, d[k])
    for k in ("mem_percent", "disk_percent"):
        assert isinstance(d[k], (int, float)) and not isinstance(d[k], bool), (k, d[k])
        assert 0 <= d[k] <= 100, (k, d[k])
    assert size_bytes(d["mem_used"]) <= size_bytes(d["mem_total"]) * 1.05
    assert size_bytes(d["disk_used"]) <= size_bytes(d["disk_total"]) * 1.05

    assert d["site_count"] == 0 and isinstance(d["site_count"], int)

    assert isinstance(d["services"], list)
    for s in d["services"]:
        assert set(s) == {"name", "status", "running"}, s
        assert isinstance(s["name"], str) and s["name"]
        assert s["status"] in SYSTEMD_STATES, s
        assert isinstance(s["running"], bool)
        if s["status"] != "active" and s["name"] != "Setec Manager":
            assert s["running"] is False, s


def test_memory_matches_proc(panel, admin_token):
    d = info(panel, admin_token).json()
    with open("/proc/meminfo") as f:
        mem = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
    total = mem["MemTotal"]
    assert abs(size_bytes(d["mem_total"]) - total) / total < 0.1, (d["mem_total"], total)
    st = os.statvfs("/")
    disk_total = st.f_blocks * st.f_frsize
    assert abs(size_bytes(d["disk_total"]) - disk_total) / disk_total < 0.1, d["disk_total"]


def test_percentages_have_one_decimal(panel, admin_token):
    """The seed shows 41.0 and 29.5: rounded to one decimal, and encoded that
    way (not 17.100000000000001)."""
    text = info(panel, admin_token).text
    for k in ("mem_percent", "disk_percent"):
        m = re.search(r'"%s":\s*(-?[0-9.eE+-]+)' % k, text)
        assert m, text
        assert re.fullmatch(r"\d{1,3}(\.\d)?", m.group(1)), (k, m.group(1))


def test_default_services(panel, admin_token):
    d = info(panel, admin_token).json()
    assert [s["name"] for s in d["services"]] == DEFAULT_SERVICES
    if not os.path.isdir("/run/systemd/system"):
        # no systemd on this machine: nothing can be known, but that the
        # panel answering runs (test_monitor.py test_services_the_panel_itself)
        assert all(s["status"] == "unknown" for s in d["services"])
        assert all(s["running"] is (s["name"] == "Setec Manager") for s in d["services"]), d


def test_configured_services(fresh_panel):
    p = fresh_panel(extra={"monitor": {"services": ["nginx", "cron", "setec-manager"]}})
    tok = p.login()
    d = info(p, tok).json()
    assert [s["name"] for s in d["services"]] == ["Nginx", "cron", "Setec Manager"]


def test_no_services_is_empty_list(fresh_panel):
    p = fresh_panel(extra={"monitor": {"services": []}})
    tok = p.login()
    r = info(p, tok)
    assert r.json()["services"] == []
    assert '"services":[]' in r.text.replace(" ", "")


def test_requires_auth(panel):
    r = panel.request("GET", "/api/system/info")
    assert r.status_code == 401 and set(r.json()) == {"error"}
