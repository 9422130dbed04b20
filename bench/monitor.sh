#!/usr/bin/env bash
# Monitor benchmark: latency (p50, p99) of GET /api/system/info and every /api/monitor/* route
# of the panel, measured with wrk over one keep-alive TLS connection, next to the same figures
# gathered the way the reference implementation did per request (spawning df, hostname,
# systemctl is-active/show, sleeping 250 ms between two /proc/stat reads), timed in-process
# with fork/exec by Python. Run by hand; prints figures, never fails on them. Loopback only;
# every run is bounded; the panel is killed by PID and the temp dir removed.
#
# Environment:
#   SETEC_BIN       panel binary (default /work/main/build/setec-manager)
#   BENCH_DURATION  seconds per route (default 5, at most 10)
#   BENCH_REF_N     iterations per reference-style figure (default 200; CPU uses 20)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
SETEC_BIN=${SETEC_BIN:-/work/main/build/setec-manager}
DUR=${BENCH_DURATION:-5}
((DUR >= 1 && DUR <= 10)) || { echo "bench: BENCH_DURATION must be 1..10" >&2; exit 2; }
REF_N=${BENCH_REF_N:-200}
((REF_N >= 10 && REF_N <= 2000)) || { echo "bench: BENCH_REF_N must be 10..2000" >&2; exit 2; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
probe() { "$PY" "$here/probe.py" "$@"; }
for t in wrk "$PY"; do
        command -v "$t" >/dev/null || { echo "bench: $t is not installed" >&2; exit 2; }
done
[ -x "$SETEC_BIN" ] || { echo "bench: no panel binary at $SETEC_BIN (set SETEC_BIN)" >&2; exit 2; }
# serve starts its root helper from beside the real binary
[ -x "$(dirname "$(readlink -f "$SETEC_BIN")")/setec-helper" ] ||
        { echo "bench: no setec-helper beside $SETEC_BIN (make build builds both)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/setec-bench-monitor.XXXXXX)
PANEL_PID=
cleanup() {
        local rc=$?
        if [ -n "$PANEL_PID" ] && kill -0 "$PANEL_PID" 2>/dev/null; then
                kill -TERM "$PANEL_PID" 2>/dev/null || true
                for _ in $(seq 100); do kill -0 "$PANEL_PID" 2>/dev/null || break; sleep 0.05; done
                kill -KILL "$PANEL_PID" 2>/dev/null || true
                wait "$PANEL_PID" 2>/dev/null || true
        fi
        rm -rf "$TMP"
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SETEC_ADMIN_PASSWORD=${SETEC_ADMIN_PASSWORD:-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
PORT=$(probe freeport)
mkdir -p "$TMP/tls" "$TMP/data"
cat >"$TMP/cfg.yaml" <<EOF
server: {host: 127.0.0.1, port: $PORT, tls: true, cert: $TMP/tls/cert.pem, key: $TMP/tls/key.pem, user: ""}
database: {path: $TMP/data/setec.db}
backups: {dir: $TMP/data/backups}
logging: {level: warn, file: ""}
EOF
"$SETEC_BIN" -c "$TMP/cfg.yaml" serve </dev/null >/dev/null 2>>"$TMP/panel.log" &
PANEL_PID=$!
probe wait "$PORT" 10 || { cat "$TMP/panel.log" >&2; exit 1; }
TOKEN=$(probe login "$PORT")
sleep 2 # two CPU samples and the first history point exist

# wrk output -> "p50_ms p99_ms req/s non2xx"

ROUTES=(/api/system/info /api/monitor/cpu /api/monitor/memory /api/monitor/disk
        /api/monitor/services "/api/monitor/history?minutes=60" "/api/monitor/history?minutes=1440")
echo "# panel: $(basename "$SETEC_BIN"), wrk -t1 -c1 -d${DUR}s over TLS keep-alive, $(nproc) CPUs"
printf "%-36s %9s %9s %9s %6s %8s\n" route p50_ms p99_ms req/s non2xx bytes
for r in "${ROUTES[@]}"; do
        out="$TMP/wrk.txt"
        timeout $((DUR + 15)) wrk -t1 -c1 -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" \
                "https://127.0.0.1:$PORT$r" >"$out" 2>&1 || true
        read -r rps p50 p99 bad _ < <(parse_wrk "$out")
        bytes=$(probe get "$PORT" "$r" "$TOKEN" | awk '{print $3}')
        printf "%-36s %9s %9s %9s %6s %8s\n" "$r" "$p50" "$p99" "$rps" "$bad" "$bytes"
done

echo
echo "# the reference's way, per request (fork/exec from Python; N=$REF_N, CPU N=20)"
"$PY" - "$REF_N" <<'EOPY'
import os, statistics, subprocess, sys, time

N = int(sys.argv[1])
SERVICES = ["nginx", "autarch-web", "autarch-dns", "setec-manager", "ufw"]
DEVNULL = subprocess.DEVNULL


def run(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=DEVNULL, timeout=10)
        return p.returncode, p.stdout
    except (OSError, subprocess.TimeoutExpired):
        return -1, b""


def read(path):
    with open(path) as f:
        return f.read()


def df():
    rc, out = run(["df", "-h", "--type=ext4", "--type=xfs", "--type=btrfs", "--type=ext3"])
    if rc != 0:
        rc, out = run(["df", "-h", "--exclude-type=tmpfs", "--exclude-type=devtmpfs",
                       "--exclude-type=squashfs"])
    if rc != 0:
        run(["df", "-h"])


def services():
    for u in SERVICES:
        rc, out = run(["systemctl", "is-active", u])
        if out.strip() == b"active":
            run(["systemctl", "show", u, "--property=MemoryCurrent"])


def system_info():
    run(["hostname"])
    read("/proc/uptime"); read("/proc/loadavg"); read("/proc/meminfo")
    run(["df", "-h"])
    for u in SERVICES:
        run(["systemctl", "is-active", u])


def cpu():
    read("/proc/stat"); time.sleep(0.25); read("/proc/stat")


def memory():
    read("/proc/meminfo")


def measure(name, fn, n):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    p99 = ts[min(len(ts) - 1, int(round(0.99 * (len(ts) - 1))))]
    print(f"{name:<36} {statistics.median(ts):9.3f} {p99:9.3f}")


print(f"{'figure':<36} {'p50_ms':>9} {'p99_ms':>9}")
measure("system/info (hostname, df, 5x systemctl)", system_info, N)
measure("cpu (2x /proc/stat, sleep 250 ms)", cpu, 20)
measure("memory (/proc/meminfo)", memory, N)
measure("disk (df -h --type=...)", df, N)
measure("services (systemctl is-active/show)", services, N)
EOPY
