#!/usr/bin/env bash
# Jobs benchmark (issue 10): does long work stall the panel? wrk against GET /api/auth/status
# (16 connections) and POST /login (1 connection, so the figure is the hash plus the panel's
# own cost, not a queue of logins) on an idle panel, then again while 4 site creates hang on a
# git remote that accepts connections and never answers and 2 site backups of 256 MiB trees
# run (a new one starts whenever one ends, so two are always running). Side by side; prints
# figures, never fails on them. Loopback only; everything it starts is stopped by PID; its
# temp dir is removed.
#
# Environment:
#   SETEC_BIN       panel binary (default /work/main/build/setec-manager)
#   BENCH_DURATION  seconds per wrk run (default 5, 1..10)
#   BENCH_TREE_MB   size of each backed-up tree in MiB (default 256, 32..1024)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
SETEC_BIN=${SETEC_BIN:-/work/main/build/setec-manager}
DUR=${BENCH_DURATION:-5}
((DUR >= 1 && DUR <= 10)) || { echo "bench: BENCH_DURATION must be 1..10" >&2; exit 2; }
TREE_MB=${BENCH_TREE_MB:-256}
((TREE_MB >= 32 && TREE_MB <= 1024)) || { echo "bench: BENCH_TREE_MB must be 32..1024" >&2; exit 2; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
probe() { "$PY" "$here/probe.py" "$@"; }
for t in wrk git "$PY"; do
        command -v "$t" >/dev/null || { echo "bench: $t is not installed" >&2; exit 2; }
done
[ -x "$SETEC_BIN" ] || { echo "bench: no panel binary at $SETEC_BIN (set SETEC_BIN)" >&2; exit 2; }
# serve starts its root helper from beside the real binary
[ -x "$(dirname "$(readlink -f "$SETEC_BIN")")/setec-helper" ] ||
        { echo "bench: no setec-helper beside $SETEC_BIN (make build builds both)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/setec-bench-jobs.XXXXXX)
PANEL_PID=
LOAD_PID=
cleanup() {
        local rc=$?
        stop_pid "$LOAD_PID"
        stop_pid "$PANEL_PID"
        rm -rf "$TMP"
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SETEC_ADMIN_PASSWORD=${SETEC_ADMIN_PASSWORD:-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
PORT=$(probe freeport)
mkdir -p "$TMP/tls" "$TMP/data" "$TMP/www" "$TMP/nginx/sites-available" "$TMP/nginx/sites-enabled"
# 127.0.0.1 is a trusted proxy so that each login can come from its own X-Forwarded-For
# address (the per-address login limit would otherwise answer 429 after five).
cat >"$TMP/cfg.yaml" <<EOF
server: {host: 127.0.0.1, port: $PORT, tls: true, cert: $TMP/tls/cert.pem, key: $TMP/tls/key.pem, user: "", trusted_proxies: [127.0.0.1]}
database: {path: $TMP/data/setec.db}
backups: {dir: $TMP/data/backups, max_count: 4}
nginx: {webroot: $TMP/www, sites_available: $TMP/nginx/sites-available, sites_enabled: $TMP/nginx/sites-enabled}
logging: {level: warn, file: ""}
jobs: {workers: 6}
EOF

echo "== Setec Manager jobs benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
echo "binary: $SETEC_BIN ($(stat -c %y "$SETEC_BIN" | cut -d. -f1))"

# two site trees of compressible text (gzip works hardest on it)
echo "# building 2 trees of $TREE_MB MiB"
"$PY" - "$TMP/www" "$TREE_MB" <<'EOPY'
import os, random, sys
root, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(3000)]
block = ("\n".join(" ".join(rnd.choice(words) for _ in range(12)) for _ in range(20000)) + "\n").encode()
for site in ("one.bench", "two.bench"):
    d = os.path.join(root, site)
    os.makedirs(d, exist_ok=True)
    left, i = mb << 20, 0
    while left > 0:
        n = min(left, len(block))
        with open(os.path.join(d, f"f{i:04d}.txt"), "wb") as f:
            f.write(block[:n])
        left -= n
        i += 1
EOPY

"$SETEC_BIN" -c "$TMP/cfg.yaml" serve </dev/null >/dev/null 2>>"$TMP/panel.log" &
PANEL_PID=$!
probe wait "$PORT" 20 || { cat "$TMP/panel.log" >&2; exit 1; }
TOKEN=$(probe login "$PORT")

# the two sites' rows (their trees are inside nginx.webroot)
"$PY" - "$TMP/data/setec.db" "$TMP/www" <<'EOPY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
for s in ("one.bench", "two.bench"):
    c.execute("INSERT INTO sites (domain, app_root) VALUES (?, ?)", (s, f"{sys.argv[2]}/{s}"))
c.commit()
EOPY

cat >"$TMP/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"admin","password":"$SETEC_ADMIN_PASSWORD"}'
local n = 0
request = function()
   n = n + 1
   wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
   return wrk.format()
end
EOF

# wrk output -> "req/s p50_ms p99_ms non2xx"

measure() { # LABEL
        local base="https://127.0.0.1:$PORT"
        wrk -t2 -c16 -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" \
                "$base/api/auth/status" >"$TMP/status-$1.txt" 2>&1
        wrk -t1 -c1 -d"${DUR}s" --latency -s "$TMP/login.lua" "$base/login" >"$TMP/login-$1.txt" 2>&1
        read -r s_rps s_p50 s_p99 s_bad _ < <(parse_wrk "$TMP/status-$1.txt")
        read -r l_rps l_p50 l_p99 l_bad _ < <(parse_wrk "$TMP/login-$1.txt")
        printf "%-6s GET /api/auth/status c=16: %6s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s\n" \
                "$1" "$s_rps" "$s_p50" "$s_p99" "$s_bad"
        printf "%-6s POST /login          c=1:  %6s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s\n" \
                "$1" "$l_rps" "$l_p50" "$l_p99" "$l_bad"
}

echo "# idle panel"
measure idle

# the load: 4 creates on a silent remote, 2 backups always running
"$PY" - "$PORT" "$TOKEN" "$TMP/load.state" <<'EOPY' &
import json, socket, ssl, sys, threading, time
port, token, state = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
silent = socket.socket(); silent.bind(("127.0.0.1", 0)); silent.listen(16)
held = []
threading.Thread(target=lambda: [held.append(silent.accept()) for _ in iter(int, 1)], daemon=True).start()
def call(method, path, body=None):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="x")
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall((f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               f"Prefer: respond-async\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data)
    out = b""
    while True:
        c = s.recv(65536)
        if not c: break
        out += c
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body or b"null")
for i in range(4):
    st, b = call("POST", "/sites", {"domain": f"hang{i}.bench",
                                    "git_repo": f"https://127.0.0.1:{silent.getsockname()[1]}/r{i}.git"})
    assert st == 202, (st, b)
started = 0
backup_jobs = {}
while True:
    for sid in (1, 2):
        j = backup_jobs.get(sid)
        if j is None or call("GET", f"/api/jobs/{j}")[1]["state"] not in ("queued", "running"):
            st, b = call("POST", f"/backups/site/{sid}")
            if st == 202:
                backup_jobs[sid] = b["job_id"]
                started += 1
    _, running = call("GET", "/api/jobs?state=running&per_page=200")
    kinds = [r["kind"] for r in running]
    with open(state, "w") as f:
        f.write(f"{kinds.count('site_create')} {kinds.count('backup_create')} {started}\n")
    time.sleep(0.5)
EOPY
LOAD_PID=$!
: >"$TMP/load.state"
for _ in $(seq 200); do
        read -r c b _ <"$TMP/load.state" 2>/dev/null || true
        [ "${c:-0}" = 4 ] && [ "${b:-0}" = 2 ] && break
        sleep 0.1
done
echo "# loaded: running jobs now: $(cat "$TMP/load.state" | awk '{print $1 " site creates, " $2 " backups"}')"
measure loaded
read -r c b n <"$TMP/load.state"
echo "# still running at the end: $c site creates, $b backups ($n backups started in all)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
