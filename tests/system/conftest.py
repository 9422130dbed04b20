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
