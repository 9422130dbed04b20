"""System tests: the panel against the real system peers (ufw in a private
network namespace, useradd on an overlay /etc, journald in a throw-away
container). They need root; each skips itself where the machine cannot do
what it needs. The Panel harness is the API tests' one, loaded under another
module name (both files are called conftest)."""
import importlib.util
import os
import sys

_API = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "api")
_API_CONFTEST = os.path.join(_API, "conftest.py")
sys.path.insert(0, _API)  # the harness' helper modules (ports, pebble, nginx_prefix)
_spec = importlib.util.spec_from_file_location("setec_api_conftest", _API_CONFTEST)
_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_api)

BIN, ROOT, Panel, free_port, write_config = (_api.BIN, _api.ROOT, _api.Panel, _api.free_port,
                                             _api.write_config)


HTTP_USER = "setec"  # server.user's default: the HTTP process the system tests run as


def http_user_dir(name):
    """A directory for a panel whose HTTP process drops to HTTP_USER, as it
    does by default: pytest's tmp dirs sit under a 0700 /tmp/pytest-of-root,
    which that user cannot traverse (the panel chowns what it writes, not
    the directories above). Panel's tls/ (cert and key: the panel creates
    its directory 0700 as root and chowns only the two files; the default
    places them in the data dir, which is the user's) is made here too. The
    caller removes it."""
    import tempfile
    d = tempfile.mkdtemp(prefix=f"setec-{name}-")
    os.chmod(d, 0o711)
    os.mkdir(os.path.join(d, "tls"), 0o711)
    return d


def http_process_uid(panel):
    """The uid the panel's HTTP process (the started one; the helper is its
    child) runs as."""
    with open(f"/proc/{panel.proc.pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line")
