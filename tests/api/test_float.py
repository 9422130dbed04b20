"""Float Mode (CONTRACT §7): sessions, the WebSocket upgrade, RFC 6455 and
the binary frame protocol against an emulated USB device.

The panel runs under usb-emu (tests/usb/usb_emu.c, built with the project
when libumockdev-dev is installed): umockdev's testbed gives it the "Float
Dongle" of tests/fixtures/usb (1209:0001, bus 1 device 5) and our ioctl
handler answers its transfers. Without usb-emu or umockdev the tests that
need the device skip, saying why."""
import ctypes
import json
import os
import struct
import subprocess

import waiting

import pytest

from conftest import BIN, FIXTURES, Panel, assert_no_sanitizer_report
from wsclient import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, OP_CONT, WS, HandshakeError

EMU = os.path.join(os.path.dirname(BIN), "usb-emu")
DEVICE_FILE = os.path.join(FIXTURES, "usb", "float-dongle.umockdev")
DEV = (1 << 8) | 5  # bus 1, device 5
DEVICE_DESCRIPTOR = bytes.fromhex("120100020000004009120100000101020301")


def emu_problem():
    if not os.path.exists(EMU):
        return f"{EMU} not built (install libumockdev-dev and rebuild)"
    try:
        r = subprocess.run([EMU, DEVICE_FILE, "--", "true"], capture_output=True, timeout=20)
    except OSError as e:
        return f"usb-emu cannot run: {e}"
    if r.returncode != 0:
        return "usb-emu cannot run here: " + r.stderr.decode(errors="replace")[-300:]
    return None


_problem = emu_problem()
needs_emu = pytest.mark.skipif(_problem is not None, reason=_problem or "")


def emu_panel(tmp, wrap=(), tls=True, **float_cfg):
    cfg = {"enabled": True, "max_sessions": 100}
    cfg.update(float_cfg)
    # ASan must come first among the libraries; usb-emu preloads umockdev
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    return Panel(tmp, extra={"float": cfg}, env=env, wrap=[*wrap, EMU, DEVICE_FILE, "--"],
                 tls=tls, many_logins=True).start()


def stop_panel(p):
    rc = p.stop()
    assert rc == 0, "panel did not exit cleanly:\n" + p.read_log()
    assert_no_sanitizer_report(p)


@pytest.fixture(scope="module")
def fp(tmp_path_factory):
    if _problem:
        pytest.skip(_problem)
    p = emu_panel(tmp_path_factory.mktemp("float"))
    yield p
    stop_panel(p)


@pytest.fixture(scope="module")
def tok(fp):
    return fp.login()


# ---------- frames ----------

def frame(t, payload=b""):
    return struct.pack("!BI", t, len(payload)) + payload


def reply(ws):
    """(type, payload) of the next float frame; app pings (0xFE) skipped."""
    while True:
        op, data = ws.recv_message()
        assert op == OP_BINARY, (op, data)
        t, n = struct.unpack("!BI", data[:5])
        assert len(data) == 5 + n
        if t != 0xFE:
            return t, data[5:]


def error_code(ws):
    t, p = reply(ws)
    assert t == 0xE0, (hex(t), p)
    return struct.unpack("!H", p[:2])[0]


def register(p, token, agent="pytest"):
    r = p.request("POST", "/float/register", token=token, json={"user_agent": agent})
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


def connect(p, token, sid=None):
    sid = sid or register(p, token)
    return WS(p, f"/float/ws?session={sid}", {"Authorization": "Bearer " + token}), sid


def session(p, token, sid):
    for s in p.request("GET", "/float/sessions", token=token).json():
        if s["id"] == sid:
            return s
    return None


def wait_for(cond, timeout=5):
    return waiting.wait_for(cond, timeout)


def parse_enum(p):
    n = struct.unpack("!H", p[:2])[0]
    off, devs = 2, []
    for _ in range(n):
        vid, pid, dev, cls, sub = struct.unpack("!HHHBB", p[off:off + 8])
        off += 8
        strs = []
        for _ in range(3):
            ln = struct.unpack("!H", p[off:off + 2])[0]
            strs.append(p[off + 2:off + 2 + ln].decode())
            off += 2 + ln
        devs.append({"vid": vid, "pid": pid, "dev": dev, "class": cls, "sub": sub,
                     "strings": strs})
    assert off == len(p)
    return devs


def open_dev(ws, dev=DEV):
    ws.send_binary(frame(0x03, struct.pack("!H", dev)))
    t, p = reply(ws)
    assert t == 0x04
    return p[2]


def control(ws, rt, req, value, index, length, data=b"", timeout=1000, dev=DEV):
    ws.send_binary(frame(0x07, struct.pack("!HBBHHHI", dev, rt, req, value, index, length,
                                           timeout) + data))
    t, p = reply(ws)
    assert t == 0x08, (hex(t), p)
    assert struct.unpack("!H", p[:2])[0] == dev
    return p[2], p[3:]


def bulk_out(ws, ep, data, timeout=1000):
    ws.send_binary(frame(0x10, struct.pack("!HBI", DEV, ep, timeout) + data))
    t, p = reply(ws)
    assert t == 0x12 and p[2] == ep
    return p[3], struct.unpack("!I", p[4:8])[0]


def bulk_in(ws, ep, length, timeout=1000):
    ws.send_binary(frame(0x11, struct.pack("!HBII", DEV, ep, timeout, length)))
    t, p = reply(ws)
    assert t == 0x12 and p[2] == ep
    return p[3], p[4:]


# ---------- HTTP side ----------

def test_register_and_list(fp, tok):
    sid = register(fp, tok, "FloatClient/1.0")
    r = fp.request("POST", "/float/register", token=tok, json={"user_agent": "x"})
    assert r.json()["expires_in"] == "24h"
    s = session(fp, tok, sid)
    assert s["client_ip"] == "127.0.0.1"
    assert s["client_agent"] == "FloatClient/1.0"
    assert s["username"] == "admin" and s["user_id"] >= 1
    assert s["usb_bridge"] is False and s["last_ping"] is None
    assert s["expires_at"] > s["connected_at"]
    for x in (sid, r.json()["session_id"]):
        assert fp.request("DELETE", f"/float/sessions/{x}", token=tok).json() == \
            {"status": "disconnected"}
    assert session(fp, tok, sid) is None
    assert fp.request("DELETE", f"/float/sessions/{sid}", token=tok).status_code == 404


def test_disabled_is_503(fresh_panel):
    p = fresh_panel()
    t = p.login()
    r = p.request("POST", "/float/register", token=t, json={})
    assert r.status_code == 503 and r.json() == {"error": "Float Mode is disabled"}
    with pytest.raises(HandshakeError) as e:
        WS(p, "/float/ws?session=x", {"Authorization": "Bearer " + t})
    assert e.value.status == 503
    assert p.request("GET", "/float/sessions", token=t).json() == []


def test_upgrade_errors_are_json(fp, tok):
    hdr = {"Authorization": "Bearer " + tok}
    for path, status in (("/float/ws", 400), ("/float/ws?session=nope", 404)):
        with pytest.raises(HandshakeError) as e:
            WS(fp, path, hdr)
        assert e.value.status == status
        assert "error" in json.loads(e.value.body)
    sid = register(fp, tok)
    with pytest.raises(HandshakeError) as e:
        WS(fp, f"/float/ws?session={sid}", hdr | {"Sec-WebSocket-Version": "8"})
    assert e.value.status == 426 and e.value.headers["sec-websocket-version"] == "13"
    for bad in ({"Sec-WebSocket-Key": "short"}, {"Upgrade": "h2c"}):
        with pytest.raises(HandshakeError) as e:
            WS(fp, f"/float/ws?session={sid}", hdr | bad)
        assert e.value.status == 400
    with pytest.raises(HandshakeError) as e:
        WS(fp, f"/float/ws?session={sid}", {})
    assert e.value.status == 401
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


def test_roles_and_other_users_session(fp, tok):
    fp.create_user(tok, "viewer1", "viewer-pass-123", role="viewer")
    fp.create_user(tok, "admin2", "admin2-pass-123", role="admin")
    vt = fp.login("viewer1", "viewer-pass-123")
    at = fp.login("admin2", "admin2-pass-123")
    assert fp.request("POST", "/float/register", token=vt, json={}).status_code == 403
    sid = register(fp, tok)
    for t in (vt, at):
        with pytest.raises(HandshakeError) as e:
            WS(fp, f"/float/ws?session={sid}", {"Authorization": "Bearer " + t})
        assert e.value.status == 403
    assert fp.request("DELETE", f"/float/sessions/{sid}", token=vt).status_code == 403
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


def test_cookie_upgrade_needs_same_origin(fp, tok):
    sid = register(fp, tok)
    cookie = {"Cookie": "setec_token=" + tok}
    for origin in (None, "https://evil.example", f"http://127.0.0.1:{fp.port}"):
        with pytest.raises(HandshakeError) as e:
            WS(fp, f"/float/ws?session={sid}", cookie | {"Origin": origin})
        assert e.value.status == 403
    ws = WS(fp, f"/float/ws?session={sid}", cookie | {"Origin": f"https://127.0.0.1:{fp.port}"})
    ws.send_binary(frame(0x01))
    assert reply(ws)[0] == 0x02
    ws.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


# ---------- the protocol against the emulated device ----------

@needs_emu
def test_enumerate_lists_the_device_with_its_strings(fp, tok):
    ws, sid = connect(fp, tok)
    ws.send_binary(frame(0x01))
    t, p = reply(ws)
    assert t == 0x02
    assert parse_enum(p) == [{"vid": 0x1209, "pid": 0x0001, "dev": DEV, "class": 0, "sub": 0,
                              "strings": ["Setec Test", "Float Dongle", "FLT0001"]}]
    s = wait_for(lambda: (session(fp, tok, sid) or {}).get("last_ping") and session(fp, tok, sid))
    assert s["usb_bridge"] is True and s["last_ping"]
    ws.close()
    assert wait_for(lambda: session(fp, tok, sid)["usb_bridge"] is False)
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


@needs_emu
def test_control_bulk_interrupt(fp, tok):
    ws, sid = connect(fp, tok)
    assert open_dev(ws) == 0
    assert open_dev(ws) == 0  # again in the same session: still ours
    st, data = control(ws, 0x80, 6, 0x0100, 0, 18)
    assert (st, data) == (0, DEVICE_DESCRIPTOR)
    st, data = control(ws, 0x80, 6, 0x0302, 0x0409, 255)
    assert st == 0 and data[2:].decode("utf-16-le") == "Float Dongle"
    st, data = control(ws, 0xC0, 0x01, 0, 0, 4)
    assert (st, data) == (0, bytes([0, 1, 2, 3]))
    st, data = control(ws, 0x40, 0x02, 0, 0, 3, b"abc")
    assert (st, data) == (0, b"")
    # an unsupported request stalls
    assert control(ws, 0x80, 0x55, 0, 0, 8) == (1, b"")
    # bulk OUT, then IN echoes
    assert bulk_out(ws, 0x01, b"hello float") == (0, 11)
    assert bulk_in(ws, 0x81, 64) == (0, b"hello float")
    # nothing queued: the IN times out with status 2
    assert bulk_in(ws, 0x81, 64, timeout=150) == (2, b"")
    ws.send_binary(frame(0x20, struct.pack("!HBII", DEV, 0x82, 1000, 8)))
    t, p = reply(ws)
    assert t == 0x21 and p[:4] == struct.pack("!HBB", DEV, 0x82, 0)
    assert p[4:7] == b"INT" and len(p[4:]) == 8
    ws.send_binary(frame(0x05, struct.pack("!H", DEV)))
    assert reply(ws) == (0x06, struct.pack("!HB", DEV, 0))
    # after Close a transfer is refused
    ws.send_binary(frame(0x11, struct.pack("!HBII", DEV, 0x81, 100, 8)))
    assert error_code(ws) == 0x0060
    ws.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


@needs_emu
def test_errors(fp, tok):
    ws, sid = connect(fp, tok)
    ws.send_frame(OP_TEXT, b"hello")
    assert error_code(ws) == 0x0001
    ws.send_binary(b"\x01\x00")
    assert error_code(ws) == 0x0002
    ws.send_binary(struct.pack("!BI", 0x03, 10) + b"\x00")
    assert error_code(ws) == 0x0002
    for t in (0x42, 0xFE, 0x02):
        ws.send_binary(frame(t))
        assert error_code(ws) == 0x0003
    ws.send_binary(frame(0xFF))  # the client's answer to an app ping: ignored
    for t, short, code in ((0x03, b"\x01", 0x0010), (0x05, b"", 0x0020), (0x10, b"\x01\x05", 0x0030),
                           (0x11, b"\x01\x05\x81", 0x0030), (0x20, b"\x01", 0x0040),
                           (0x07, b"\x01\x05\x80\x06", 0x0050)):
        ws.send_binary(frame(t, short))
        assert error_code(ws) == code, hex(t)
    ws.send_binary(frame(0x03, struct.pack("!H", 0x0999)))
    assert error_code(ws) == 0x0011
    # a transfer before Open
    ws.send_binary(frame(0x10, struct.pack("!HBI", DEV, 1, 100) + b"x"))
    assert error_code(ws) == 0x0060
    ws.send_binary(frame(0x07, struct.pack("!HBBHHHI", DEV, 0x80, 6, 0x100, 0, 18, 100)))
    assert error_code(ws) == 0x0060
    assert open_dev(ws) == 0
    ws.send_binary(frame(0x11, struct.pack("!HBII", DEV, 0x81, 100, 65537)))
    assert error_code(ws) == 0x0070
    ws.send_binary(frame(0x20, struct.pack("!HBII", DEV, 0x82, 100, 1 << 20)))
    assert error_code(ws) == 0x0070
    # the connection is still good
    ws.send_binary(frame(0x01))
    assert reply(ws)[0] == 0x02
    ws.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


@needs_emu
def test_device_busy_in_another_session_until_released(fp, tok):
    ws1, s1 = connect(fp, tok)
    ws2, s2 = connect(fp, tok)
    assert open_dev(ws1) == 0
    assert open_dev(ws2) == 8
    # the session holding it is deleted: its socket closes (1000) and the device is free
    assert fp.request("DELETE", f"/float/sessions/{s1}", token=tok).status_code == 200
    assert ws1.close_code(timeout=3) == 1000
    assert ws1.wait_eof()
    assert wait_for(lambda: open_dev(ws2) == 0)
    # a crash (TCP reset without a close frame) releases as well
    ws2.sock.close()
    ws3, s3 = connect(fp, tok)
    assert wait_for(lambda: open_dev(ws3) == 0)
    ws3.close()
    for s in (s2, s3):
        fp.request("DELETE", f"/float/sessions/{s}", token=tok)


@needs_emu
def test_second_socket_replaces_the_first(fp, tok):
    ws1, sid = connect(fp, tok)
    assert open_dev(ws1) == 0
    ws2, _ = connect(fp, tok, sid)
    assert ws1.close_code() == 1000
    ws2.send_binary(frame(0x01))
    assert reply(ws2)[0] == 0x02
    # what the first socket opened was released with it
    assert wait_for(lambda: open_dev(ws2) == 0)
    ws2.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


@needs_emu
def test_allowed_devices(tmp_path):
    p = emu_panel(tmp_path, allowed_devices=["dead:beef"])
    try:
        t = p.login()
        ws, _ = connect(p, t)
        ws.send_binary(frame(0x01))
        assert reply(ws) == (0x02, b"\x00\x00")
        ws.send_binary(frame(0x03, struct.pack("!H", DEV)))
        assert error_code(ws) == 0x0011
        ws.close()
    finally:
        stop_panel(p)
    os.makedirs(tmp_path / "b")
    p = emu_panel(tmp_path / "b", allowed_devices=["1209:0001"])
    try:
        t = p.login()
        ws, _ = connect(p, t)
        assert open_dev(ws) == 0
        ws.close()
    finally:
        stop_panel(p)


def libusb_path():
    """The file the dynamic linker loads for libusb-1.0.so.0, or None."""
    try:
        ctypes.CDLL("libusb-1.0.so.0")
    except OSError:
        return None
    with open("/proc/self/maps") as f:
        for line in f:
            if "/libusb-1.0.so" in line:
                return line.split()[-1]
    return None


# an argv prefix: the panel in its own mount namespace where the file of
# libusb-1.0.so.0 is empty ($0: its path)
HIDE_LIBUSB = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind /dev/null "$0" && exec "$@"']


@needs_emu
def test_without_libusb_open_fails_naming_it(tmp_path):
    lib = libusb_path()
    if not lib:
        pytest.skip("libusb-1.0.so.0 is not installed")
    r = subprocess.run([*HIDE_LIBUSB, lib, "true"], capture_output=True)
    if r.returncode != 0:
        pytest.skip("no mount namespace here: " + r.stderr.decode(errors="replace")[-200:])
    p = emu_panel(tmp_path, wrap=[*HIDE_LIBUSB, lib])
    try:
        t = p.login()
        ws, _ = connect(p, t)
        ws.send_binary(frame(0x01))  # listing reads sysfs: no libusb needed
        t, payload = reply(ws)
        assert t == 0x02 and len(parse_enum(payload)) == 1
        for _ in range(2):  # every Open says so, the log once
            ws.send_binary(frame(0x03, struct.pack("!H", DEV)))
            t, payload = reply(ws)
            assert t == 0xE0
            assert payload == struct.pack("!H", 0x0004) + (
                b"USB is not available on this server: cannot load libusb-1.0.so.0")
        ws.send_binary(frame(0x01))  # the connection is still good
        assert reply(ws)[0] == 0x02
        ws.close()
        assert p.read_log().count("error: float: cannot load libusb-1.0.so.0: ") == 1
    finally:
        stop_panel(p)


# ---------- RFC 6455 ----------

def test_ping_close_handshake(fp, tok):
    ws, sid = connect(fp, tok)
    ws.send_frame(OP_PING, b"are you there")
    assert ws.recv_frame() == (OP_PONG, True, b"are you there")
    ws.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
    op, fin, data = ws.recv_frame()
    assert op == OP_CLOSE and struct.unpack("!H", data[:2])[0] == 1000
    assert ws.wait_eof()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


def test_fragmented_message_is_reassembled(fp, tok):
    ws, sid = connect(fp, tok)
    msg = frame(0x03, b"\x01")  # Open, too short: error 0x0010
    ws.send_frame(OP_BINARY, msg[:2], fin=False)
    ws.send_frame(OP_PING, b"p")  # a control frame between fragments
    ws.send_frame(OP_CONT, msg[2:4], fin=False)
    ws.send_frame(OP_CONT, msg[4:], fin=True)
    assert ws.recv_frame() == (OP_PONG, True, b"p")
    assert error_code(ws) == 0x0010
    ws.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


def test_64k_message_accepted_larger_closes_1009(fp, tok):
    ws, sid = connect(fp, tok)
    # an Enumerate with trailing bytes up to exactly 65,536 (ignored)
    ws.send_binary(frame(0x01) + b"\0" * (65536 - 5))
    assert reply(ws)[0] == 0x02
    ws.send_frame(OP_BINARY, b"a" * 40000, fin=False)
    ws.send_frame(OP_CONT, b"b" * 25537, fin=True)
    assert ws.close_code() == 1009
    assert ws.wait_eof()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


@pytest.mark.parametrize("how,code", [
    ("unmasked", 1002), ("rsv", 1002), ("continuation", 1002), ("bad_reason", 1007),
    ("bad_text", 1007), ("long_ping", 1002), ("bad_code", 1002)])
def test_protocol_violations_close(fp, tok, how, code):
    ws, sid = connect(fp, tok)
    if how == "unmasked":
        ws.send_frame(OP_BINARY, frame(0x01), mask=False)
    elif how == "rsv":
        ws.send_frame(OP_BINARY, frame(0x01), rsv=4)
    elif how == "continuation":
        ws.send_frame(OP_CONT, b"x")
    elif how == "bad_reason":
        ws.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"\xff\xfe")
    elif how == "bad_text":
        ws.send_frame(OP_TEXT, b"\xc3\x28")
    elif how == "long_ping":
        ws.send_frame(OP_PING, b"x" * 126)
    elif how == "bad_code":
        ws.send_frame(OP_CLOSE, struct.pack("!H", 1005))
    assert ws.close_code() == code
    assert ws.wait_eof()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


def test_websocket_client_library(fp, tok):
    websocket = pytest.importorskip("websocket")
    import ssl
    sid = register(fp, tok)
    c = websocket.create_connection(
        f"wss://127.0.0.1:{fp.port}/float/ws?session={sid}",
        header=["Authorization: Bearer " + tok], sslopt={"cert_reqs": ssl.CERT_NONE}, timeout=10)
    c.send_binary(frame(0x01))
    data = c.recv()
    assert data[0] == 0x02
    c.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


def test_burst_of_small_records_all_answered(fp, tok):
    """6,000 Enumerates, each frame its own TLS record, all written before
    the first answer is read. The server handles a bounded number of records
    per turn, so it must come back for records its TLS transport has already
    taken off the socket (epoll no longer reports them), and the answers
    (~0.5 MB) pass its send queue's soft limit, so it stops reading until the
    client reads, then must resume with what is buffered. Every answer
    arrives and the connection still works."""
    n = 6000
    ws, sid = connect(fp, tok)
    one = ws.frame_bytes(OP_BINARY, frame(0x01))
    for _ in range(n):
        ws.sock.sendall(one)
    for _ in range(n):
        assert reply(ws)[0] == 0x02
    ws.send_frame(OP_PING, b"after")
    assert ws.recv_frame() == (OP_PONG, True, b"after")
    ws.close()
    fp.request("DELETE", f"/float/sessions/{sid}", token=tok)


@needs_emu
def test_websocket_without_tls(tmp_path):
    p = emu_panel(tmp_path, tls=False, max_sessions=10)
    try:
        token = p.login()
        ws, sid = connect(p, token)
        assert ws.status == 101 and ws.headers["upgrade"].lower() == "websocket"
        ws.send_binary(frame(0x01))
        t, payload = reply(ws)
        assert t == 0x02 and parse_enum(payload)[0]["vid"] == 0x1209
        assert open_dev(ws) == 0
        data = os.urandom(4096)
        assert bulk_out(ws, 0x01, data) == (0, len(data))
        assert bulk_in(ws, 0x81, len(data)) == (0, data)
        ws.send_frame(OP_CLOSE, struct.pack("!H", 1000))
        op, _, payload = ws.recv_frame()
        assert op == OP_CLOSE and struct.unpack("!H", payload[:2])[0] == 1000
        assert ws.wait_eof()
        wait_for(lambda: session(p, token, sid)["usb_bridge"] is False)
    finally:
        stop_panel(p)


@needs_emu
@pytest.mark.parametrize("tls", [True, False])
def test_stopping_the_panel_closes_open_websockets(tmp_path, tls):
    """A panel stopped with WebSockets open says 1001 to each (whatever the
    client does: one answers the close, one does not read) and exits cleanly:
    every connection it had handed to a WebSocket came back to MHD."""
    p = emu_panel(tmp_path, tls=tls, max_sessions=10)
    token = p.login()
    a, _ = connect(p, token)
    b, _ = connect(p, token)
    assert open_dev(a) == 0
    p.proc.terminate()
    assert a.close_code() == 1001
    assert a.wait_eof() and b.wait_eof()
    stop_panel(p)


# ---------- limits and expiry ----------

def test_max_sessions_and_expiry(tmp_path):
    p = Panel(tmp_path, extra={"float": {"enabled": True, "max_sessions": 2,
                                         "session_ttl": "2s"}}).start()
    try:
        t = p.login()
        a = register(p, t)
        register(p, t)
        r = p.request("POST", "/float/register", token=t, json={})
        assert r.status_code == 429
        ws = WS(p, f"/float/ws?session={a}", {"Authorization": "Bearer " + t})
        # at expiry the attached socket is closed and the session is gone
        assert ws.close_code(timeout=6) == 1000
        assert wait_for(lambda: p.request("GET", "/float/sessions", token=t).json() == [])
        with pytest.raises(HandshakeError) as e:
            WS(p, f"/float/ws?session={a}", {"Authorization": "Bearer " + t})
        assert e.value.status == 404
        register(p, t)
    finally:
        stop_panel(p)


def test_expired_session_is_410_until_listed(tmp_path):
    p = Panel(tmp_path, extra={"float": {"enabled": True, "session_ttl": "1s"}}).start()
    try:
        t = p.login()
        sid = register(p, t)

        def refused():
            try:
                WS(p, f"/float/ws?session={sid}", {"Authorization": "Bearer " + t}).close()
            except HandshakeError as e:
                return e.status
            return None
        assert wait_for(refused) == 410
        assert p.request("GET", "/float/sessions", token=t).json() == []
        assert refused() == 404
    finally:
        stop_panel(p)
