"""An AUTARCH-shaped git repository built offline (system-peers.md §9).

The real AUTARCH cannot install without the internet; this one can: a bare
repository on branch `main` holding

* autarch_settings.conf: INI, [web] host/port
* autarch_web.py: a stdlib HTTP server answering JSON (app, dep, commit)
  that imports a package only the pip step installs
* requirements.txt: --no-index / --find-links wheels / one local wheel
* package.json without dependencies + .npmrc offline=true
* services/dns-server: a stdlib-only Go UDP DNS server (flag -config)
* data/dns/config.json: its listen address and A records

    bare, work = make_autarch_repo(root, web_port=38181, dns_port=38053)
    push_version(work, bare, "fixture-2")       # a new commit on main
    break_requirements(work, bare)              # a commit whose pip step fails
"""
import base64
import hashlib
import json
import os
import subprocess
import zipfile

DEP = "autarch_fixture_dep"
DEP_VERSION = "1.0"

WEB_PY = '''"""AUTARCH web dashboard (test fixture): settings from autarch_settings.conf [web]."""
import configparser
import http.server
import json
import os

import autarch_fixture_dep  # only there when the pip step ran

DIR = os.path.dirname(os.path.abspath(__file__))
cfg = configparser.ConfigParser()
cfg.read(os.path.join(DIR, "autarch_settings.conf"))
HOST = cfg.get("web", "host", fallback="127.0.0.1")
PORT = cfg.getint("web", "port", fallback=8181)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(DIR, "VERSION")) as f:
            commit = f.read().strip()
        body = json.dumps({"app": "autarch-web", "dep": autarch_fixture_dep.VERSION,
                           "commit": commit, "user": os.getuid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


print(f"autarch-web listening on {HOST}:{PORT}", flush=True)
http.server.HTTPServer((HOST, PORT), Handler).serve_forever()
'''

DNS_GO = '''// autarch-dns (test fixture): a stdlib-only UDP DNS server answering A
// queries from the records of its JSON config.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"log"
	"net"
	"os"
	"strings"
)

type config struct {
	Listen  string            `json:"listen_dns"`
	Records map[string]string `json:"records"`
}

func answer(q []byte, cfg *config) []byte {
	n := len(q)
	i := 12
	var labels []string
	for i < n && q[i] != 0 {
		l := int(q[i])
		if l > 63 || i+1+l > n {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > n {
		return nil
	}
	end := i + 5
	qtype := binary.BigEndian.Uint16(q[i+1 : i+3])
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	out := append([]byte{}, q[:end]...)
	out[2] = 0x84 | (q[2] & 0x01)
	out[3] = 0
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	ip := net.ParseIP(cfg.Records[name]).To4()
	if ip == nil {
		out[3] = 3
		return out
	}
	if qtype == 1 || qtype == 255 {
		binary.BigEndian.PutUint16(out[6:], 1)
		out = append(out, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		out = append(out, ip...)
	}
	return out
}

func main() {
	path := flag.String("config", "config.json", "config file")
	flag.Parse()
	cfg := config{Listen: "127.0.0.1:5353"}
	if b, err := os.ReadFile(*path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			log.Fatalf("config %s: %v", *path, err)
		}
	}
	pc, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("autarch-dns listening on %s (%d records)", cfg.Listen, len(cfg.Records))
	buf := make([]byte, 512)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil || n < 12 {
			continue
		}
		if out := answer(buf[:n], &cfg); out != nil {
			pc.WriteTo(out, addr)
		}
	}
}
'''


def _git(*args, cwd=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="fixture", GIT_AUTHOR_EMAIL="fixture@test",
               GIT_COMMITTER_NAME="fixture", GIT_COMMITTER_EMAIL="fixture@test",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_SYSTEM="/dev/null")
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"git {args}: {r.stderr}"
    return r.stdout


def _wheel(path):
    """A pure-python wheel of DEP, made by hand (no setuptools, no network)."""
    di = f"{DEP}-{DEP_VERSION}.dist-info"
    files = {
        f"{DEP}.py": f'VERSION = "{DEP_VERSION}"\n',
        f"{di}/METADATA": f"Metadata-Version: 2.1\nName: autarch-fixture-dep\n"
                          f"Version: {DEP_VERSION}\n",
        f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: setec-tests\nRoot-Is-Purelib: true\n"
                       "Tag: py3-none-any\n",
    }

    def digest(text):
        d = hashlib.sha256(text.encode()).digest()
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
    record = "".join(f"{p},sha256={digest(c)},{len(c)}\n" for p, c in files.items())
    with zipfile.ZipFile(path, "w") as z:
        for p, c in files.items():
            z.writestr(p, c)
        z.writestr(f"{di}/RECORD", record + f"{di}/RECORD,,\n")


def _write(work, rel, text):
    p = os.path.join(work, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)


def settings_text(web_port=38181):
    return ("[autarch]\nfirst_run = false\nmodules_path = modules\nllm_backend = none\n\n"
            f"[web]\nhost = 127.0.0.1\nport = {web_port}\nsecret_key =\n")


def make_autarch_repo(root, name="autarch", web_port=38181, dns_port=38053,
                      records=None):
    """Bare repository <root>/<name>.git (branch main) and its work tree
    <root>/<name>-work. Returns (bare, work)."""
    work = os.path.join(root, name + "-work")
    os.makedirs(work)
    _git("init", "-q", "-b", "main", cwd=work)
    _write(work, "autarch_settings.conf", settings_text(web_port))
    _write(work, "autarch_web.py", WEB_PY)
    _write(work, "VERSION", "fixture-1\n")
    # pip reads options from the file; a relative --find-links is taken
    # relative to the requirements file
    _write(work, "requirements.txt",
           f"--no-index\n--find-links wheels\nautarch-fixture-dep=={DEP_VERSION}\n")
    os.makedirs(os.path.join(work, "wheels"))
    _wheel(os.path.join(work, "wheels", f"{DEP}-{DEP_VERSION}-py3-none-any.whl"))
    _write(work, "package.json", json.dumps({"name": "autarch-hw-libs", "version": "1.0.0",
                                             "private": True, "dependencies": {}}) + "\n")
    _write(work, ".npmrc", "offline=true\naudit=false\nfund=false\nupdate-notifier=false\n")
    _write(work, "services/dns-server/go.mod", "module example.test/autarch-dns\n\ngo 1.19\n")
    _write(work, "services/dns-server/main.go", DNS_GO)
    recs = records or {"autarch.test.": "10.0.0.7", "dns.autarch.test.": "10.0.0.53"}
    _write(work, "data/dns/config.json",
           json.dumps({"listen_dns": f"127.0.0.1:{dns_port}", "records": recs}) + "\n")
    _write(work, "core/__init__.py", "# placeholder: the tree looks like AUTARCH\n")
    _write(work, ".gitignore", "venv/\nnode_modules/\nservices/dns-server/autarch-dns\n"
                               "__pycache__/\n.cache/\nresults/\ndossiers/\nmodels/\n")
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", "AUTARCH fixture 1", cwd=work)
    bare = os.path.join(root, name + ".git")
    _git("clone", "-q", "--bare", work, bare)
    return bare, work


def commit_file(work, bare, rel, text, message):
    """Commit rel=text in work and push it to bare; the new commit's hash."""
    _write(work, rel, text)
    _git("add", "-A", cwd=work)
    _git("commit", "-q", "-m", message, cwd=work)
    _git("push", "-q", bare, "main", cwd=work)
    return _git("rev-parse", "HEAD", cwd=work).strip()


def push_version(work, bare, version):
    return commit_file(work, bare, "VERSION", version + "\n", "version " + version)


def break_requirements(work, bare):
    """A commit whose pip step cannot succeed offline."""
    return commit_file(work, bare, "requirements.txt",
                       "--no-index\n--find-links wheels\nno-such-package-setec==9.9\n",
                       "broken requirements")


def head(bare):
    """(hash, subject) of main in bare."""
    out = _git("--git-dir", bare, "log", "-1", "--format=%H%n%s", "main")
    h, s = out.split("\n", 1)
    return h, s.strip()


if __name__ == "__main__":
    import sys
    import tempfile
    d = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    print(make_autarch_repo(d))
