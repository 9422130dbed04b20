#!/usr/bin/env python3
"""Float Mode bridge (issue 13), against the emulated USB device of the tests
(build/usb-emu, tests/fixtures/usb): the panel runs under usb-emu with TLS on
loopback.

* Enumerate round trip: one WebSocket, --n sequential Enumerates, p50/p99.
* Bulk echo through the bridge: OUT then IN of --size bytes, --rounds
  times: MB/s each way together; beside it the same echo made directly
  with libusb (build/usb-direct, bench/usb_direct.c) under usb-emu.
* Idle WebSockets: --idle connections (one session each, TLS) held open;
  panel RSS and threads before and after, KB per connection. (The panel
  caps connections per client address, 128 by default; the script stays
  under it.)

    bench/float.py [--bin build/setec-manager] [--n 2000] [--idle 100]"""
import argparse
import os
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from waiting import wait_for  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        d = dict(line.split(":", 1) for line in f)
    return int(d["VmRSS"].split()[0]), int(d["Threads"])


def panel_pid(p):
    # the panel is usb-emu's child
    with open(f"/proc/{p.proc.pid}/task/{p.proc.pid}/children") as f:
        kids = f.read().split()
    return int(kids[0]) if kids else p.proc.pid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "setec-manager"))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--idle", type=int, default=100)
    a = ap.parse_args()
    os.environ["SETEC_BIN"] = a.bin
    import tempfile
    from test_float import (DEV, DEVICE_FILE, EMU, connect, emu_panel, frame, open_dev, reply,
                            stop_panel)
    p = emu_panel(tempfile.mkdtemp(prefix="setec-bench-float-"), max_sessions=100000)
    try:
        tok = p.login()
        ws, _ = connect(p, tok)
        for _ in range(50):  # warm up
            ws.send_binary(frame(0x01))
            reply(ws)
        t = []
        for _ in range(a.n):
            t0 = time.perf_counter()
            ws.send_binary(frame(0x01))
            reply(ws)
            t.append((time.perf_counter() - t0) * 1e3)
        t.sort()
        print(f"Enumerate round trip over TLS: p50 {statistics.median(t):.3f} ms, "
              f"p99 {t[int(len(t) * 0.99)]:.3f} ms ({a.n} sequential)")
        assert open_dev(ws) == 0
        data = bytes(range(256)) * (a.size // 256)
        t0 = time.perf_counter()
        for _ in range(a.rounds):
            ws.send_binary(frame(0x10, struct.pack("!HBI", DEV, 0x01, 1000) + data))
            reply(ws)
            ws.send_binary(frame(0x11, struct.pack("!HBII", DEV, 0x81, 1000, len(data))))
            t_, pl = reply(ws)
            assert pl[3] == 0 and pl[4:] == data
        dt = time.perf_counter() - t0
        mb = 2 * a.rounds * len(data) / 1e6
        print(f"bulk echo through the bridge: {a.rounds} x ({len(data)} B OUT + IN) in {dt:.2f} s"
              f" = {mb / dt:.1f} MB/s, {dt / a.rounds * 1e3:.2f} ms per echo")
        direct = os.path.join(os.path.dirname(a.bin), "usb-direct")
        if os.path.exists(direct):  # the same echo without the panel (bench/usb_direct.c)
            out = subprocess.run([EMU, DEVICE_FILE, "--", direct, str(a.rounds), str(len(data))],
                                 capture_output=True, text=True, timeout=300)
            print((out.stdout or out.stderr).strip())
        ws.close()
        pid = panel_pid(p)
        time.sleep(0.5)
        r0, th0 = rss_kb(pid)
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        socks = [connect(p, tok)[0] for _ in range(a.idle)]
        wait_for(lambda: len(os.listdir(f"/proc/{pid}/fd")) >= fds + a.idle, 30,
                 "the panel to hold the idle sockets")
        r1, th1 = rss_kb(pid)
        print(f"{a.idle} idle TLS WebSockets: RSS {r0} -> {r1} KB "
              f"({(r1 - r0) / a.idle:.1f} KB each), threads {th0} -> {th1}")
        for s in socks:
            s.close()
    finally:
        stop_panel(p)


if __name__ == "__main__":
    main()
