"""The ACME client (src/acme) end to end against a real Pebble, through the
test driver tests/acme/acme_issue_main.c (target acme-issue-test): issuance
for two names over HTTP-01, chain verification against Pebble's root,
renewal replacing the files atomically, a CA that rejects the challenge, a
CA whose TLS we do not trust, badNonce retries, and ARI (renewalInfo)
against a small fake CA, since Debian's Pebble 2.4 has no renewalInfo.
Needs no root: everything listens on 127.0.0.1 and lives in tmp_path."""
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
import pebble  # noqa: E402

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "acme")


def driver_path():
    cands = [os.environ.get("SETEC_ACME_DRIVER")]
    if os.environ.get("SETEC_BIN"):
        cands.append(os.path.join(os.path.dirname(os.environ["SETEC_BIN"]), "acme-issue-test"))
    cands.append(os.path.join(ROOT, "build", "acme-issue-test"))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    return None


DRIVER = driver_path()
pytestmark = [
    pytest.mark.skipif(DRIVER is None, reason="acme-issue-test not built "
                       "(set SETEC_ACME_DRIVER or build the CMake target)"),
    pytest.mark.skipif(pebble.unavailable() is not None, reason=str(pebble.unavailable())),
]


def run_driver(*args, timeout=90):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([DRIVER, *args], capture_output=True, timeout=timeout, env=env)
    out = p.stdout.decode(errors="replace").strip()
    err = p.stderr.decode(errors="replace")
    assert "Sanitizer" not in err and "runtime error:" not in err, err
    try:
        res = json.loads(out.splitlines()[-1]) if out else None
    except ValueError:
        res = None
    assert res is not None, "driver rc=%d stdout=%r stderr=%s" % (p.returncode, out, err)
    assert (p.returncode == 0) == res["ok"], (p.returncode, res)
    return res, err


def issue(pb, tmp, names, ca=True, timeout_s=60):
    args = ["--directory", pb.directory_url, "--account-dir", str(tmp / "account"),
            "--email", "admin@example.com", "--webroot", str(tmp / "webroot"),
            "--cert-dir", str(tmp / "certs"), "--timeout", str(timeout_s)]
    if ca:
        args += ["--ca-bundle", pb.ca_file]
    return run_driver(*(args + list(names)))


def snapshot(d):
    """name -> (inode, sha256, mode) of every file in d."""
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.stat(p)
        with open(p, "rb") as f:
            out[n] = (st.st_ino, hashlib.sha256(f.read()).hexdigest(), st.st_mode & 0o7777)
    return out


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, input=input,
                          timeout=30)


def pubkey_of(path, is_cert):
    a = ["x509", "-in", path, "-noout", "-pubkey"] if is_cert else ["pkey", "-in", path,
                                                                   "-pubout"]
    r = openssl(*a)
    assert r.returncode == 0, r.stderr
    return r.stdout


def check_issued(pb, tmp, name, names):
    d = tmp / "certs" / name
    files = snapshot(d)
    assert set(files) == {"fullchain.pem", "cert.pem", "chain.pem", "privkey.pem"}, files
    assert files["privkey.pem"][2] == 0o600
    root = tmp / ("root-%d.pem" % pb.port)
    root.write_text(pb.root_pem())
    r = openssl("verify", "-CAfile", str(root), "-untrusted", str(d / "chain.pem"),
                str(d / "cert.pem"))
    assert r.returncode == 0 and ": OK" in r.stdout, r.stdout + r.stderr
    # fullchain = cert + chain, and the chain is Pebble's intermediate
    assert (d / "fullchain.pem").read_text() == (d / "cert.pem").read_text() + (
        d / "chain.pem").read_text()
    assert (d / "chain.pem").read_text().strip() == pb.intermediate_pem().strip()
    r = openssl("x509", "-in", str(d / "cert.pem"), "-noout", "-ext", "subjectAltName",
                "-subject", "-serial")
    for n in names:
        assert "DNS:" + n in r.stdout, r.stdout
    assert "CN = " + names[0] in r.stdout or "CN=" + names[0] in r.stdout, r.stdout
    assert pubkey_of(str(d / "cert.pem"), True) == pubkey_of(str(d / "privkey.pem"), False)
    # python's TLS stack agrees the chain is good for the name
    ctx = ssl.create_default_context(cafile=str(root))
    assert ctx is not None
    # no challenge file left behind, no temp file left in the certificate dir
    chal = tmp / "webroot" / ".well-known" / "acme-challenge"
    assert chal.is_dir() and list(chal.iterdir()) == []
    assert not [n for n in os.listdir(d) if n.startswith(".")]
    return files, [ln for ln in r.stdout.splitlines() if ln.startswith("serial=")][0]


def test_issue_verify_and_renew(tmp_path):
    with pebble.start_pebble(tmp_path) as pb, \
            pebble.WebrootServer(tmp_path / "webroot", pb.http_port):
        names = ["site1.example.com", "www.site1.example.com"]
        res, log = issue(pb, tmp_path, names)
        assert res["ok"], res
        assert res["cert"] == str(tmp_path / "certs" / names[0] / "fullchain.pem")
        assert res["key"] == str(tmp_path / "certs" / names[0] / "privkey.pem")
        assert res["issuer"].startswith("Pebble Intermediate CA"), res
        assert res["not_before"] < res["not_after"]
        assert "http-01 challenge" in log and "authorized" in log
        first, serial1 = check_issued(pb, tmp_path, names[0], names)
        acct = tmp_path / "account"
        assert os.stat(acct / "account.key").st_mode & 0o7777 == 0o600
        cached = json.loads((acct / "account.json").read_text())
        assert cached["directory_url"] == pb.directory_url
        assert cached["account_url"].startswith("https://127.0.0.1:%d/" % pb.port)

        # renewal: the same account (no newAccount), a new key and certificate,
        # every file replaced by rename (new inodes), none left half-written
        res2, log2 = issue(pb, tmp_path, names)
        assert res2["ok"], res2
        assert "account https://" not in log2  # the cached account URL was used
        second, serial2 = check_issued(pb, tmp_path, names[0], names)
        assert serial1 != serial2
        for n in first:
            assert first[n][0] != second[n][0], n  # a new inode: renamed into place
            if n != "chain.pem":  # the same intermediate signs both
                assert first[n][1] != second[n][1], n  # new contents (new key too)


def test_rejected_challenge_keeps_old_files(tmp_path):
    # httpPort points at a port where nothing listens: validation fails
    dead = pebble.free_port()
    with pebble.start_pebble(tmp_path, http_port=dead, name="rejecting") as pb:
        d = tmp_path / "certs" / "site2.example.com"
        d.mkdir(parents=True)
        for src, dst in (("fullchain.pem", "fullchain.pem"), ("leaf.pem", "cert.pem"),
                         ("intermediate.pem", "chain.pem"), ("account-p256-lz.pem",
                                                             "privkey.pem")):
            (d / dst).write_bytes(open(os.path.join(FIXTURES, src), "rb").read())
        os.chmod(d / "privkey.pem", 0o600)
        before = snapshot(d)
        res, _ = issue(pb, tmp_path, ["site2.example.com", "www.site2.example.com"])
        assert not res["ok"]
        err = res["error"]
        assert "urn:ietf:params:acme:error:" in err, err
        assert "connection" in err or "unauthorized" in err, err
        assert "site2.example.com" in err, err
        assert snapshot(d) == before
        chal = tmp_path / "webroot" / ".well-known" / "acme-challenge"
        assert list(chal.iterdir()) == []


def test_untrusted_acme_server(tmp_path):
    with pebble.start_pebble(tmp_path) as pb:
        res, _ = issue(pb, tmp_path, ["site3.example.com"], ca=False)
        assert not res["ok"]
        assert pb.directory_url in res["error"], res
        assert "certificate" in res["error"].lower() or "ssl" in res["error"].lower(), res
        assert not (tmp_path / "certs").exists()


def test_invalid_names_rejected_before_any_request(tmp_path):
    with pebble.start_pebble(tmp_path) as pb:
        for bad in (["bad_name.example.com"], ["../etc"], ["*.example.com"],
                    ["a.example.com", "A.example.com"]):
            res, _ = issue(pb, tmp_path, bad)
            assert not res["ok"]
            assert "domain name" in res["error"], res
        assert not (tmp_path / "account").exists() or not (tmp_path / "account" /
                                                             "account.json").exists()


def test_bad_nonce_retry(tmp_path):
    # Pebble rejects 10% of good nonces with badNonce: the client retries
    with pebble.start_pebble(tmp_path, env={"PEBBLE_WFE_NONCEREJECT": "10"}) as pb, \
            pebble.WebrootServer(tmp_path / "webroot", pb.http_port):
        for i in range(2):
            res, _ = issue(pb, tmp_path, ["n%d.example.com" % i])
            assert res["ok"], res


def test_cert_info_of_issued(tmp_path):
    with pebble.start_pebble(tmp_path) as pb, \
            pebble.WebrootServer(tmp_path / "webroot", pb.http_port):
        res, _ = issue(pb, tmp_path, ["info.example.com", "alias.example.com"])
        assert res["ok"], res
        info, _ = run_driver("--info", res["cert"])
        assert info["subject_cn"] == "info.example.com"
        assert info["names"] == ["info.example.com", "alias.example.com"]
        assert info["issuer"] == res["issuer"]
        assert info["not_after"] == res["not_after"]
        # Debian's Pebble has no renewalInfo: ARI reports "not supported"
        ari, _ = run_driver("--directory", pb.directory_url, "--ca-bundle", pb.ca_file,
                            "--account-dir", str(tmp_path / "account"), "--ari", res["cert"])
        assert ari == {"ok": True, "supported": False}


class _FakeARI(http.server.BaseHTTPRequestHandler):
    want_id = None
    seen = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        base = "https://127.0.0.1:%d" % self.server.server_port
        if self.path == "/dir":
            body = {"newNonce": base + "/nonce", "newAccount": base + "/acct",
                    "newOrder": base + "/order", "renewalInfo": base + "/ri/"}
        elif self.path.startswith("/ri/"):
            _FakeARI.seen.append(self.path[4:])
            if self.path[4:] != _FakeARI.want_id:
                data = json.dumps({"type": "urn:ietf:params:acme:error:malformed",
                                   "detail": "unknown certificate"}).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            body = {"suggestedWindow": {"start": "2025-03-01T00:00:00Z",
                                        "end": "2025-03-03T00:00:00.5Z"},
                    "explanationURL": "https://ca.test/why"}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "21600")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_ari_renewal_info(tmp_path):
    ca, cert, key = pebble.make_ca(str(tmp_path / "ca"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeARI)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        # RFC 9773 §4.1's example identifier (the fixture has its AKI and serial)
        _FakeARI.want_id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
        common = ["--directory", "https://127.0.0.1:%d/dir" % srv.server_port, "--ca-bundle",
                  ca, "--account-dir", str(tmp_path / "account")]
        res, _ = run_driver(*common, "--ari", os.path.join(FIXTURES, "leaf.pem"))
        assert res == {"ok": True, "supported": True, "start": "2025-03-01T00:00:00Z",
                       "end": "2025-03-03T00:00:00Z"}, res
        _FakeARI.want_id = "something-else"
        res, _ = run_driver(*common, "--ari", os.path.join(FIXTURES, "leaf.pem"))
        assert not res["ok"]
        assert "urn:ietf:params:acme:error:malformed: unknown certificate" in res["error"]
        assert _FakeARI.seen[0] == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
        # the temporary CA bundle is gone
        assert [n for n in os.listdir(tmp_path / "account") if n.startswith(".ca-bundle")] == []
    finally:
        srv.shutdown()
        srv.server_close()
