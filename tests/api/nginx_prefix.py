"""A real nginx in a private prefix for API tests (system-peers.md §3).

Nothing under /etc/nginx or /var/log/nginx is touched: nginx.conf lives in
the prefix root with absolute paths for pid, logs and temp dirs, includes
<prefix>/sites-enabled/*, and listens on free ports chosen here (tests only talk to 127.0.0.1).
The panel drives it in `nginx.reload: signal` mode.

    from nginx_prefix import NginxPrefix, nginx_prefix   # the fixture too

    def test_x(nginx_prefix, fresh_panel):
        ng = nginx_prefix()                    # started; stopped at teardown
        p = fresh_panel(extra=ng.panel_config())
        ng.write_site("a.test", "<server block text>")   # by hand, enabled
        ng.reload()
        assert ng.wait_serving("a.test", "hello")

A module-scoped variant: NginxPrefix(dir).start() ... .stop() yourself.
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time

from ports import free_ports

import pytest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

PROXY_PARAMS = """# proxy parameters (test prefix)
proxy_set_header Host $host;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
"""

SSL_PARAMS = """# TLS parameters (test prefix)
ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;
ssl_session_timeout 1d;
ssl_session_cache shared:SSL:1m;
ssl_session_tickets off;
"""


def nginx_available():
    return os.access(NGINX, os.X_OK)


def skip_without_nginx():
    if not nginx_available():
        pytest.skip(f"nginx is not installed ({NGINX})")


def _alive(pid):
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class NginxPrefix:
    def __init__(self, root, own_default=True):
        """own_default=False: the prefix's catch-all server is not the
        default_server, so the panel's (nginx.default_server) takes over;
        panel_config() then turns that key on."""
        self.own_default = own_default
        self.dir = os.path.abspath(str(root))
        self.http_port, self.https_port = free_ports(2)
        self.proc = None
        for d in ("sites-available", "sites-enabled", "snippets", "www", "certbot", "logs",
                  "tmp", "run", "git"):
            os.makedirs(self.path(d), exist_ok=True)
        self.conf = self.path("nginx.conf")
        self.error_log = self.path("logs/error.log")
        self.access_log = self.path("logs/access.log")
        self.pid_file = self.path("run/nginx.pid")
        self.sites_available = self.path("sites-available")
        self.sites_enabled = self.path("sites-enabled")
        self.snippets = self.path("snippets")
        self.webroot = self.path("www")
        self.certbot_webroot = self.path("certbot")
        self.git_root = self.path("git")
        P = self.dir
        mime = "    include /etc/nginx/mime.types;\n" if os.path.exists("/etc/nginx/mime.types") \
            else ""
        # as root the workers would otherwise run as nobody, who cannot enter
        # pytest's 0700 temp dirs
        user = "user root root;\n" if os.geteuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write(f"""# test prefix {P}
{user}worker_processes 1;
pid {P}/run/nginx.pid;
error_log {P}/logs/error.log notice;
events {{ worker_connections 128; }}
http {{
{mime}    default_type application/octet-stream;
    access_log {P}/logs/access.log;
    client_body_temp_path {P}/tmp/body;
    proxy_temp_path {P}/tmp/proxy;
    fastcgi_temp_path {P}/tmp/fastcgi;
    uwsgi_temp_path {P}/tmp/uwsgi;
    scgi_temp_path {P}/tmp/scgi;
    server_names_hash_bucket_size 128;
    # unknown hosts get 404, and nginx listens even before the first site
    server {{ listen {self.http_port}{" default_server" if own_default else ""}; return 404; }}
    include {P}/sites-enabled/*;
}}
""")
        with open(self.path("snippets/proxy-params.conf"), "w") as f:
            f.write(PROXY_PARAMS)
        with open(self.path("snippets/ssl-params.conf"), "w") as f:
            f.write(SSL_PARAMS)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def panel_config(self, **nginx_overrides):
        """extra= sections for Panel/fresh_panel: the panel manages this nginx."""
        ng = {
            "binary": NGINX,
            "conf": self.conf,
            "reload": "signal",
            "error_log": self.error_log,
            "access_log": self.access_log,
            "sites_available": self.sites_available,
            "sites_enabled": self.sites_enabled,
            "snippets": self.snippets,
            "webroot": self.webroot,
            "certbot_webroot": self.certbot_webroot,
            "http_port": self.http_port,
            "https_port": self.https_port,
            # the prefix's own catch-all is the default server unless
            # own_default=False: then the panel's refuses unknown names
            "default_server": not self.own_default,
        }
        ng.update(nginx_overrides)
        return {"nginx": ng, "git": {"local_root": self.git_root}}

    # ---- the process ----

    def argv(self, *extra):
        return [NGINX, "-c", self.conf, "-e", self.error_log, *extra]

    def run(self, *args):
        """nginx with this prefix's conf: CompletedProcess (text)."""
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=30)

    def start(self):
        self.proc = subprocess.Popen(self.argv("-g", "daemon off;"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited:\n" + self.read_error_log())
            if self.master_pid():
                try:
                    socket.create_connection(("127.0.0.1", self.http_port), 0.2).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("nginx did not start:\n" + self.read_error_log())

    def master_pid(self):
        """The live master named by the pid file (after a panel restart in
        signal mode that is a daemonised one, not self.proc), else None."""
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def reload(self):
        r = self.run("-s", "reload")
        assert r.returncode == 0, r.stderr
        time.sleep(0.2)

    def stop(self):
        pids = set()
        pid = self.master_pid()
        if pid:
            pids.add(pid)
        if self.proc and self.proc.poll() is None:
            pids.add(self.proc.pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for p in pids:
            if _alive(p):
                os.kill(p, signal.SIGKILL)

    def read_error_log(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def reload_count(self):
        """Reconfigurations the master has logged (SIGHUP received)."""
        return self.read_error_log().count("reconfiguring")

    # ---- sites written by hand ----

    def write_site(self, name, text, enable=True):
        path = os.path.join(self.sites_available, name)
        with open(path, "w") as f:
            f.write(text)
        link = os.path.join(self.sites_enabled, name)
        if enable and not os.path.lexists(link):
            os.symlink(path, link)
        return path

    def static_server(self, name, body, port=None):
        """A minimal server block serving body at / for Host: name."""
        root = os.path.join(self.webroot, name)
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write(body)
        return (f"server {{\n    listen {port or self.http_port};\n"
                f"    server_name {name};\n    root {root};\n    index index.html;\n}}\n")

    # ---- requests through nginx ----

    def get(self, host, path="/", timeout=5):
        """(status, headers dict, body text) of GET path with Host: host."""
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Host": host})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode(errors="replace")
        finally:
            c.close()

    def wait_serving(self, host, text, path="/", timeout=5):
        """True once GET path for host answers 200 with text in the body
        (a reload swaps workers gracefully, so the first answers may be old)."""
        deadline = time.time() + timeout
        while True:
            try:
                st, _, body = self.get(host, path)
                if st == 200 and text in body:
                    return True
            except OSError:
                pass
            if time.time() > deadline:
                return False
            time.sleep(0.05)


@pytest.fixture
def nginx_prefix(tmp_path):
    """Factory: nginx_prefix(start=True) -> a NginxPrefix under tmp_path,
    skipped when nginx is missing, stopped (by PID) at teardown."""
    made = []

    def make(start=True):
        skip_without_nginx()
        ng = NginxPrefix(tmp_path / f"nginx{len(made)}")
        made.append(ng)
        return ng.start() if start else ng
    yield make
    for ng in made:
        ng.stop()
