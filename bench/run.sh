#!/usr/bin/env bash
# Foundation benchmark of the panel: wrk over TLS against GET /api/auth/status next to nginx
# serving a static 60-byte JSON with the same ECDSA P-256 certificate, idle RSS, start time.
# Run by hand (`make bench`); it prints figures and never fails on them. Loopback only; every
# wrk run is bounded; all processes it starts are killed by PID and its temp dir is removed.
#
# Environment:
#   SETEC_BIN       panel binary (default /work/main/build/setec-manager)
#   BENCH_DURATION  seconds per measured wrk run (default 10, at most 10)
#   BENCH_STARTS    starts for the start-time median (default 10)
#   BENCH_PERF=1    also profile the panel under wrk with perf (cpu-clock, call graphs)
#   BENCH_OUT=DIR   keep the raw outputs (wrk, perf report, logs) in DIR
#   BENCH_PIN=1     servers on CPU 0, wrk on CPU 1 (less scheduler noise; 1 core per side)
#   BENCH_ROUNDS    rounds of panel/nginx runs at 64 and 16 connections (default 3); the
#                   summary gives each run and the median per server and concurrency
#   BENCH_LOG=info  the rounds with the panel at log level info (one access-log line per
#                   request, stderr to a file) against an nginx writing its access log too
#                   (combined format, buffer=64k flush=1s; BENCH_NGINX_BUFFER=off: one write
#                   per request); both logs are emptied after every run (default warn: the
#                   panel without access log against nginx with access_log off)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
SETEC_BIN=${SETEC_BIN:-/work/main/build/setec-manager}
DUR=${BENCH_DURATION:-10}
((DUR >= 1 && DUR <= 10)) || { echo "bench: BENCH_DURATION must be 1..10" >&2; exit 2; }
STARTS=${BENCH_STARTS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
LOG=${BENCH_LOG:-warn}
[ "$LOG" = warn ] || [ "$LOG" = info ] || { echo "bench: BENCH_LOG must be warn or info" >&2; exit 2; }
NG_ACCESS="access_log off;"
if [ "$LOG" = info ]; then
        NG_ACCESS="access_log logs/access.log combined buffer=64k flush=1s;"
        [ "${BENCH_NGINX_BUFFER:-}" = off ] && NG_ACCESS="access_log logs/access.log combined;"
fi
ROUND=1
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
probe() { "$PY" "$here/probe.py" "$@"; }
SRV=()
CLI=()
if [ "${BENCH_PIN:-0}" = 1 ]; then
        SRV=(taskset -c 0)
        CLI=(taskset -c 1)
fi

for t in wrk nginx /usr/bin/time "$PY"; do
        command -v "$t" >/dev/null || { echo "bench: $t is not installed" >&2; exit 2; }
done
[ -x "$SETEC_BIN" ] || { echo "bench: no panel binary at $SETEC_BIN (set SETEC_BIN)" >&2; exit 2; }
# serve starts its root helper from beside the real binary
[ -x "$(dirname "$(readlink -f "$SETEC_BIN")")/setec-helper" ] ||
        { echo "bench: no setec-helper beside $SETEC_BIN (make build builds both)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/setec-bench.XXXXXX)
# as in production: started as root, the HTTP process runs as `setec` (the
# root helper stays root), so its data dir must be reachable for that user
chmod 711 "$TMP"
PANEL_PID=
NGINX_PID=
LOAD_PID=


cleanup() {
        local rc=$?
        stop_pid "$LOAD_PID"
        stop_pid "$PANEL_PID"
        stop_pid "$NGINX_PID"
        if [ -n "${BENCH_OUT:-}" ]; then
                mkdir -p "$BENCH_OUT"
                cp -f "$TMP"/*.txt "$TMP"/*.log "$BENCH_OUT"/ 2>/dev/null || true
                [ -f "$TMP/ng/logs/error.log" ] && cp -f "$TMP/ng/logs/error.log" "$BENCH_OUT/nginx-error.log"
        fi
        rm -rf "$TMP"
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SETEC_ADMIN_PASSWORD=${SETEC_ADMIN_PASSWORD:-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
PORT=$(probe freeport)
NPORT=$(probe freeport)
while [ "$NPORT" = "$PORT" ]; do NPORT=$(probe freeport); done
mkdir -p "$TMP/tls" "$TMP/data"

write_cfg() { # LEVEL FILE
        cat >"$2" <<EOF
server: {host: 127.0.0.1, port: $PORT, tls: true, cert: $TMP/data/tls/cert.pem, key: $TMP/data/tls/key.pem}
database: {path: $TMP/data/setec.db}
backups: {dir: $TMP/data/backups}
logging: {level: $1, file: ""}
EOF
}
write_cfg warn "$TMP/warn.yaml"
write_cfg info "$TMP/info.yaml"

start_panel() { # LEVEL; the panel's stderr (the access log at info) goes to panel-LEVEL.log
        "${SRV[@]}" "$SETEC_BIN" -c "$TMP/$1.yaml" serve </dev/null >/dev/null 2>>"$TMP/panel-$1.log" &
        PANEL_PID=$!
        probe listening "$PORT" 10 || { cat "$TMP/panel-$1.log" >&2; exit 1; }
        sleep 1 # settled, and not one TLS handshake yet: the idle panel
        MEM_IDLE=$(mem $(panel_pids))
        MEM_IDLE_HTTP=$(mem "$PANEL_PID")
        probe wait "$PORT" 10 || { cat "$TMP/panel-$1.log" >&2; exit 1; }
}

# the panel's processes: the HTTP process and its root helper (a child)
panel_pids() { echo "$PANEL_PID $(pgrep -P "$PANEL_PID" | tr '\n' ' ')"; }

# "VmRSS Pss RssAnon RssFile" (kB) of the given PIDs, summed
mem() {
        local p
        for p in "$@"; do
                echo "$(awk '/^(VmRSS|RssAnon|RssFile):/ {v[$1] = $2}
                        END {print v["VmRSS:"] + 0, v["RssAnon:"] + 0, v["RssFile:"] + 0}' \
                        "/proc/$p/status") $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")"
        done | awk '{r += $1; a += $2; f += $3; s += $4} END {print r, s, a, f}'
}
fmt_mem() { awk '{printf "VmRSS %.1f MB (anon %.1f, file %.1f), Pss %.1f MB", $1/1024, $3/1024, $4/1024, $2/1024}'; }

# wrk output -> "req/s p50_ms p99_ms non2xx socket_errors"

# user+system CPU ticks of the given PIDs (all their threads), summed
cpu_ticks() {
        local t=0 p v
        for p in "$@"; do
                # fields after the ")" of comm: utime and stime are the 12th and 13th
                v=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
                t=$((t + v))
        done
        echo "$t"
}
HZ=$(getconf CLK_TCK)

RESULTS="$TMP/results.txt"
: >"$RESULTS"
# busy CPU ticks of the whole machine (everything but idle and iowait)
sys_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# NAME CONNS DURATION URL SERVER_PIDS [extra wrk args]; appends
# "NAME CONNS rps p50 p99 non2xx errors server_cores other_cores ROUND". other_cores is the CPU
# used by everything except the server and wrk during the run: other work on the box skews it.
run_wrk() {
        local name=$1 c=$2 d=$3 url=$4 pids=$5
        shift 5
        local out="$TMP/wrk-$name-c$c-${d}s.txt" t0 t1 s0 s1 cores other
        # shellcheck disable=SC2086
        t0=$(cpu_ticks $pids)
        s0=$(sys_ticks)
        /usr/bin/time -f '%U %S' -o "$TMP/wrk-time" \
                "${CLI[@]}" wrk -t2 -c"$c" -d"${d}s" --latency "$@" "$url" >"$out" 2>&1
        s1=$(sys_ticks)
        # shellcheck disable=SC2086
        t1=$(cpu_ticks $pids)
        if [ "$LOG" = info ]; then # the logs only grow: keep /tmp small
                sleep 1.5 # both flush at least once a second
                echo "  $name c=$c: log lines: panel $(wc -l <"$TMP/panel-info.log")," \
                        "nginx $(cat "$TMP/ng/logs/access.log" 2>/dev/null | wc -l)"
                : >"$TMP/panel-info.log"
                [ -f "$TMP/ng/logs/access.log" ] && : >"$TMP/ng/logs/access.log"
        fi
        [ "$name" = warmup ] && return 0
        cores=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v d="$d" 'BEGIN {printf "%.2f", (b - a) / hz / d}')
        other=$(awk -v a="$t0" -v b="$t1" -v s0="$s0" -v s1="$s1" -v hz="$HZ" -v d="$d" \
                '{o = ((s1 - s0) - (b - a)) / hz - $1 - $2; if (o < 0) o = 0; printf "%.2f", o / d}' \
                "$TMP/wrk-time")
        echo "$name $c $(parse_wrk "$out") $cores $other $ROUND" >>"$RESULTS"
        echo "  $name c=$c: $(parse_wrk "$out" | awk '{printf "%s req/s, p50 %s ms, p99 %s ms, non-2xx %s, socket errors %s", $1, $2, $3, $4, $5}'), server CPU $cores cores, others $other cores"
}

echo "== Setec Manager foundation benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other busy processes on the box skew the figures)"
echo "machine: $(nproc) cores, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}'), kernel $(uname -r)"
[ ${#SRV[@]} -gt 0 ] && echo "pinning: servers on CPU 0, wrk on CPU 1"
echo "binary:  $SETEC_BIN ($(stat -c %y "$SETEC_BIN" | cut -d. -f1))"
echo "versions: $(dpkg-query -W -f '${Package} ${Version}, ' nginx wrk libmicrohttpd12 libgnutls30 libsqlite3-0 2>/dev/null | sed 's/, $//')"

# --- panel (warn: no access log; BENCH_LOG=info: one line per request); its first start
# creates the ECDSA cert, the DB and the admin
start_panel "$LOG"
MEM_START=$MEM_IDLE
MEM_START_HTTP=$MEM_IDLE_HTTP
MEM_FIRST=$(mem $(panel_pids))
TOKEN=$(probe login "$PORT")
sleep 1
MEM_LOGIN=$(mem $(panel_pids))
MEM_LOGIN_HTTP=$(mem "$PANEL_PID")
AUTH="Authorization: Bearer $TOKEN"
read -r st total body < <(probe get "$PORT" /api/auth/status "$TOKEN")
[ "$st" = 200 ] || { echo "bench: /api/auth/status answered $st" >&2; exit 1; }
echo "panel: GET /api/auth/status -> $st, $total bytes ($body body), TLS $(probe tlsinfo "$PORT")"

# --- nginx with a private prefix and the panel's own certificate
NG="$TMP/ng"
mkdir -p "$NG/logs" "$NG/tmp"
BODY='{"authenticated":true,"username":"benchuser","role":"admin"}'
[ ${#BODY} -eq 60 ] || { echo "bench: static body is ${#BODY} bytes, not 60" >&2; exit 1; }
cat >"$NG/nginx.conf" <<EOF
worker_processes auto;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    $NG_ACCESS
    client_body_temp_path tmp/body;  proxy_temp_path tmp/proxy;  fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;       scgi_temp_path tmp/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NPORT ssl;
        ssl_certificate $TMP/data/tls/cert.pem;
        ssl_certificate_key $TMP/data/tls/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /x { default_type application/json; return 200 '$BODY'; }
    }
}
EOF
"${SRV[@]}" nginx -p "$NG/" -c nginx.conf -e logs/error.log -g 'daemon off;' </dev/null >/dev/null 2>>"$TMP/nginx.log" &
NGINX_PID=$!
for _ in $(seq 200); do
        st=$(probe get "$NPORT" /x 2>/dev/null | awk '{print $1}') || true
        [ "$st" = 200 ] && break
        sleep 0.05
done
read -r st total body < <(probe get "$NPORT" /x)
[ "$st" = 200 ] || { echo "bench: nginx answered $st" >&2; cat "$NG/logs/error.log" >&2; exit 1; }
echo "nginx: GET /x -> $st, $total bytes ($body body), TLS $(probe tlsinfo "$NPORT")"
ng_pids() { echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; }
# shellcheck disable=SC2046
NG_MEM_START=$(mem $(ng_pids))
NG_NPROC=$(wc -w <<<"$(ng_pids)")

P_URL="https://127.0.0.1:$PORT/api/auth/status"
N_URL="https://127.0.0.1:$NPORT/x"

echo
echo "== wrk -t2 --latency, ${DUR}s per run, keep-alive (panel log level $LOG; nginx: $NG_ACCESS)"
NGP=$(ng_pids)
run_wrk warmup 64 2 "$P_URL" "$PANEL_PID" -H "$AUTH"
run_wrk warmup 64 2 "$N_URL" "$NGP"
for ROUND in $(seq "$ROUNDS"); do
        echo " round $ROUND"
        for c in 64 16; do
                run_wrk panel "$c" "$DUR" "$P_URL" "$PANEL_PID" -H "$AUTH"
                run_wrk nginx "$c" "$DUR" "$N_URL" "$NGP"
        done
done
ROUND=1
sleep 2
MEM_AFTER=$(mem $(panel_pids))
# shellcheck disable=SC2046
NG_MEM_AFTER=$(mem $(ng_pids))

if [ "${BENCH_PERF:-0}" = 1 ]; then
        echo
        echo "== perf on the panel during wrk -c64 (cpu-clock, 5 s)"
        "${CLI[@]}" wrk -t2 -c64 -d8s -H "$AUTH" "$P_URL" >/dev/null 2>&1 &
        LOAD_PID=$!
        sleep 1
        perf stat -p "$PANEL_PID" -- sleep 5 >"$TMP/perf-stat.txt" 2>&1 || true
        wait "$LOAD_PID" || true
        "${CLI[@]}" wrk -t2 -c64 -d8s -H "$AUTH" "$P_URL" >/dev/null 2>&1 &
        LOAD_PID=$!
        sleep 1
        if perf record -e cpu-clock -F 2000 -g -p "$PANEL_PID" -o "$TMP/perf.data" -- sleep 5 \
                >"$TMP/perf-record.log" 2>&1; then
                perf report -i "$TMP/perf.data" --no-children --sort dso,sym --percent-limit 0.7 \
                        --stdio -g none >"$TMP/perf-report.txt" 2>/dev/null || true
                perf report -i "$TMP/perf.data" --no-children --sort dso --stdio -g none \
                        >"$TMP/perf-dso.txt" 2>/dev/null || true
                grep -E '^ +[0-9]' "$TMP/perf-dso.txt" | head -12
                echo "  --"
                grep -E '^ +[0-9]' "$TMP/perf-report.txt" | head -25
        else
                echo "  perf record failed:"
                tail -3 "$TMP/perf-record.log"
        fi
        wait "$LOAD_PID" || true
        LOAD_PID=
        grep -E 'task-clock|context-switches|cpu-migrations|elapsed|not supported' "$TMP/perf-stat.txt" |
                sed 's/^/  /' | head -8
fi

stop_pid "$PANEL_PID"
PANEL_PID=

echo
echo "== same panel with log level info (access log line per request, stderr -> file)"
: >"$TMP/panel-info.log"
start_panel info
MEM_INFO_START=$MEM_IDLE
run_wrk warmup 64 2 "$P_URL" "$PANEL_PID" -H "$AUTH"
for c in 64 16; do
        run_wrk panel-info "$c" "$DUR" "$P_URL" "$PANEL_PID" -H "$AUTH"
done
echo "  access log: $(wc -l <"$TMP/panel-info.log") lines, $(($(stat -c %s "$TMP/panel-info.log") / 1024 / 1024)) MB"
stop_pid "$PANEL_PID"
PANEL_PID=
rm -f "$TMP/panel-info.log"

echo
echo "== start to first answered request (GET /login 200), existing DB and certificate"
probe starttime "$STARTS" "$PORT" "$SETEC_BIN" "$TMP/warn.yaml" "$TMP/panel-start.log" |
        tee "$TMP/starttime.txt" | sed 's/^/  /'

stop_pid "$NGINX_PID"
NGINX_PID=

echo
echo "== summary (ratio = panel req/s / nginx req/s in this run; targets: >= 0.80, p99 < 5 ms at 64;"
echo "   server CPU = user+sys CPU of the server's processes / run time; CPU µs/req = that / req/s;"
echo "   other load = CPU used by anything but the server and wrk during the run (noise; want ~0))"
echo
echo "| round | server | conns | req/s | p50 ms | p99 ms | non-2xx | sock err | server CPU (cores) | CPU µs/req | other load (cores) | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
awk '
        { name[NR] = $1; c[NR] = $2; rps[NR] = $3; rd[NR] = $10; line[NR] = $0
          if ($1 == "nginx") ng[$10 " " $2] = $3 }
        END {
                for (i = 1; i <= NR; i++) {
                        split(line[i], f, " ")
                        k = rd[i] " " c[i]
                        r = (name[i] != "nginx" && ng[k] > 0) ? sprintf("%.2f", rps[i] / ng[k]) : "-"
                        us = f[3] > 0 ? sprintf("%.1f", f[8] * 1e6 / f[3]) : "-"
                        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f[10], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], us, f[9], r
                }
        }' "$RESULTS"
echo
echo "medians over the rounds (ratio: median of the per-round ratios):"
echo
echo "| server | conns | runs | req/s | p99 ms | CPU µs/req | ratio |"
echo "|---|---|---|---|---|---|---|"
awk '
        function median(s,    n, v, i, j, t) {
                n = split(s, v, " ")
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        { k = $1 " " $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
          R[k] = R[k] " " $3; P[k] = P[k] " " $5; if ($3 > 0) U[k] = U[k] " " $8 * 1e6 / $3; N[k]++
          if ($1 == "nginx") ng[$10 " " $2] = $3; row[NR] = $0 }
        END {
                for (i = 1; i <= NR; i++) {
                        split(row[i], f, " ")
                        if (f[1] != "nginx" && ng[f[10] " " f[2]] > 0) Q[f[1] " " f[2]] = Q[f[1] " " f[2]] " " f[3] / ng[f[10] " " f[2]]
                }
                for (i = 1; i <= n; i++) {
                        k = order[i]; split(k, kk, " ")
                        r = (k in Q) ? sprintf("%.2f", median(Q[k])) : "-"
                        printf "| %s | %s | %d | %.0f | %.2f | %.1f | %s |\n", kk[1], kk[2], N[k], median(R[k]), median(P[k]), median(U[k]), r
                }
        }' "$RESULTS"
echo
echo "panel memory (target: idle RSS < 8 MB):"
echo "  (HTTP process + root helper, summed; VmRSS counts the pages they share twice)"
echo "  idle after start:            $(fmt_mem <<<"$MEM_START") (no request yet)"
echo "    HTTP process alone:        $(fmt_mem <<<"$MEM_START_HTTP")"
echo "  after the first request:     $(fmt_mem <<<"$MEM_FIRST") (one TLS handshake, GET /login)"
echo "  after one login:             $(fmt_mem <<<"$MEM_LOGIN")"
echo "    HTTP process alone:        $(fmt_mem <<<"$MEM_LOGIN_HTTP")"
echo "  idle after the wrk runs:     $(fmt_mem <<<"$MEM_AFTER")"
echo "  info level, idle after start: $(fmt_mem <<<"$MEM_INFO_START")"
echo "nginx memory ($NG_NPROC processes: master + workers, summed):"
echo "  after start:                 $(fmt_mem <<<"$NG_MEM_START")"
echo "  idle after the wrk runs:     $(fmt_mem <<<"$NG_MEM_AFTER")"
echo "start to first answer (target < 100 ms): $(tail -1 "$TMP/starttime.txt")"
