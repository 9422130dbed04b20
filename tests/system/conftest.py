"""System tests: the panel against the real system peers (ufw in a private
network namespace, useradd on an overlay /etc, journald in a throw-away
container). They need root; each skips itself where the machine cannot do
what it needs. The Panel harness is the API tests' one."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "api"))

from conftest import BIN, ROOT, Panel, free_port, write_config  # noqa: E402,F401
