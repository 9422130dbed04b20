"""The panel serves a renewed certificate without a restart: when
server.cert/server.key change on disk, the next handshake (checked at most
once a second) uses the new pair; a broken replacement is ignored and the
previous certificate is kept."""
import os
import socket
import ssl
import subprocess
import time


def served_cert(panel):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", panel.port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def replace_pair(panel, cn):
    tls = os.path.join(panel.tmp, "tls")
    key_tmp, crt_tmp = os.path.join(tls, "k.tmp"), os.path.join(tls, "c.tmp")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key_tmp, "-out", crt_tmp,
                    "-days", "2", "-subj", f"/CN={cn}"], check=True, capture_output=True)
    os.replace(key_tmp, os.path.join(tls, "key.pem"))
    os.replace(crt_tmp, os.path.join(tls, "cert.pem"))


def cn_of(der):
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, text=True,
                         capture_output=True, check=True).stdout
    return out.strip()


def wait_for_change(panel, old, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        cur = served_cert(panel)
        if cur != old:
            return cur
        time.sleep(0.3)
    return old


def test_renewed_certificate_is_served_without_restart(fresh_panel):
    panel = fresh_panel()
    first = served_cert(panel)
    pid = panel.proc.pid
    replace_pair(panel, "renewed.example")
    second = wait_for_change(panel, first)
    assert second != first
    assert "renewed.example" in cn_of(second)
    assert panel.proc.pid == pid and panel.proc.poll() is None
    # requests still work over the new certificate
    assert panel.request("GET", "/login").status_code == 200
    assert "loaded the renewed certificate" in panel.read_log()


def test_broken_replacement_keeps_the_old_certificate(fresh_panel):
    panel = fresh_panel()
    first = served_cert(panel)
    with open(os.path.join(panel.tmp, "tls", "cert.pem"), "w") as f:
        f.write("not a certificate\n")
    time.sleep(1.5)
    assert served_cert(panel) == first
    assert "keeping the previous certificate" in panel.read_log()
