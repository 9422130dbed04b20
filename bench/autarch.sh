#!/usr/bin/env bash
# AUTARCH benchmark (issue 12):
#  1. GET /autarch/status latency (p50, p99) with wrk over one keep-alive TLS connection,
#     against an install of the offline fixture (tests/api/autarch_fixture.py: a clone
#     with a venv holding pip + the fixture wheel), next to the reference's way per
#     request timed from Python with fork/exec: `git log --oneline -1`,
#     `venv/bin/pip list --format=json` and two `systemctl is-active`.
#  2. The fixture install's time per step, running the argv the install job runs
#     (git clone -c core.fileMode=false, python3 -m venv, pip install -r with
#     --retries 1 --timeout 15, npm install, go build), each timed on its own.
# Run by hand; prints figures, never fails on them. Loopback only; the panel is killed
# by PID and the temp dir removed.
#
# Environment:
#   SETEC_BIN       panel binary (default build/setec-manager of this tree)
#   BENCH_DURATION  seconds of wrk (default 5, at most 10)
#   BENCH_REF_N     iterations of the reference's way (default 50)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
SETEC_BIN=${SETEC_BIN:-$root/build/setec-manager}
DUR=${BENCH_DURATION:-5}
((DUR >= 1 && DUR <= 10)) || { echo "bench: BENCH_DURATION must be 1..10" >&2; exit 2; }
REF_N=${BENCH_REF_N:-50}
((REF_N >= 10 && REF_N <= 500)) || { echo "bench: BENCH_REF_N must be 10..500" >&2; exit 2; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
probe() { "$PY" "$here/probe.py" "$@"; }
for t in wrk git npm "$PY"; do
        command -v "$t" >/dev/null || { echo "bench: $t is not installed" >&2; exit 2; }
done
[ -x "$SETEC_BIN" ] || { echo "bench: no panel binary at $SETEC_BIN (set SETEC_BIN)" >&2; exit 2; }
# serve starts its root helper from beside the real binary
[ -x "$(dirname "$(readlink -f "$SETEC_BIN")")/setec-helper" ] ||
        { echo "bench: no setec-helper beside $SETEC_BIN (make build builds both)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/setec-bench-autarch.XXXXXX)
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

# ---- 2. the install's steps, each timed (and leaving the install for part 1)
"$PY" "$root/tests/api/autarch_fixture.py" "$TMP/git" >/dev/null
DIR=$TMP/www/autarch
mkdir -p "$TMP/www"
step() { # name argv...
        local name=$1 t0 t1
        shift
        t0=$(date +%s.%N)
        "$@" >"$TMP/step.log" 2>&1 || { echo "bench: $name failed:" >&2; tail -5 "$TMP/step.log" >&2; exit 1; }
        t1=$(date +%s.%N)
        printf "%-14s %8.2f s\n" "$name" "$(echo "$t1 - $t0" | bc)"
}
echo "# fixture install, per step ($(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
step clone git clone -q -c core.fileMode=false --branch main -- "$TMP/git/autarch.git" "$DIR"
step venv /usr/bin/python3 -m venv -- "$DIR/venv"
step "pip install" env PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$DIR/venv/bin/pip" install --no-input --retries 1 --timeout 15 -r "$DIR/requirements.txt"
step "npm install" env npm_config_cache="$DIR/.cache/npm" sh -c \
        "cd '$DIR' && npm install --no-audit --no-fund --ignore-scripts --no-package-lock"
if command -v go >/dev/null; then
        step "go build" env GOCACHE="$DIR/.cache/go" GOPATH="$DIR/.cache/gopath" GOFLAGS=-mod=mod \
                CGO_ENABLED=0 sh -c "cd '$DIR/services/dns-server' && go build -buildvcs=false -o autarch-dns ."
fi

# ---- 1. status latency
export SETEC_ADMIN_PASSWORD=${SETEC_ADMIN_PASSWORD:-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
PORT=$(probe freeport)
mkdir -p "$TMP/tls" "$TMP/data"
cat >"$TMP/cfg.yaml" <<EOC
server: {host: 127.0.0.1, port: $PORT, tls: true, cert: $TMP/tls/cert.pem, key: $TMP/tls/key.pem, user: ""}
database: {path: $TMP/data/setec.db}
backups: {dir: $TMP/data/backups}
logging: {level: warn, file: ""}
autarch: {install_dir: $DIR, git_repo: $TMP/git/autarch.git}
git: {local_root: $TMP/git}
EOC
"$SETEC_BIN" -c "$TMP/cfg.yaml" serve </dev/null >/dev/null 2>>"$TMP/panel.log" &
PANEL_PID=$!
probe wait "$PORT" 10 || { cat "$TMP/panel.log" >&2; exit 1; }
TOKEN=$(probe login "$PORT")
echo
echo "# GET /autarch/status: $(probe get "$PORT" /autarch/status "$TOKEN" | cut -d' ' -f1) $(curl -sk -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$PORT/autarch/status" 2>/dev/null || true)"
out="$TMP/wrk.txt"
timeout $((DUR + 15)) wrk -t1 -c1 -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" \
        "https://127.0.0.1:$PORT/autarch/status" >"$out" 2>&1 || true
read -r rps p50 p99 bad _ < <(parse_wrk "$out")
printf "%-44s %9.3f %9.3f  (%d req/s, non-2xx %d)\n" "panel (files + sd-bus, no spawn)" "$p50" "$p99" "$rps" "$bad"

"$PY" - "$REF_N" "$DIR" <<'EOPY'
import statistics, subprocess, sys, time
N, DIR = int(sys.argv[1]), sys.argv[2]


def run(argv, cwd=None):
    try:
        return subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return b""


def status():
    run(["git", "log", "--oneline", "-1"], cwd=DIR)
    run([DIR + "/venv/bin/pip", "list", "--format=json"])
    run(["systemctl", "is-active", "autarch-web"])
    run(["systemctl", "is-active", "autarch-dns"])


status()
ts = []
for _ in range(N):
    t = time.perf_counter()
    status()
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
p99 = ts[min(len(ts) - 1, int(round(0.99 * (len(ts) - 1))))]
print(f"{'reference (git log, pip list, 2x systemctl)':<44} {statistics.median(ts):9.3f} {p99:9.3f}  (N={N})")
EOPY
