#!/usr/bin/env bash
# Sites benchmark (issue 3): create BENCH_SITES (500) static sites through the API, one after the
# other, against a real nginx in a private prefix (reload by signal), and report the wall time of
# every POST /sites, the nginx reloads per create, and the latency of GET /sites and
# GET /sites/{id} with all those sites present. Optionally (BENCH_CLONES > 0) more sites created
# from one local bare git repository, so the figure includes a `git clone`.
# Run by hand; it prints figures and never fails on them. Loopback only; every step is bounded;
# the panel and nginx are killed by PID and the temp dir is removed at the end.
#
# Environment:
#   SETEC_BIN      panel binary (default /work/main/build/setec-manager; a release build)
#   BENCH_SITES    static sites to create (default 500, 1..999)
#   BENCH_CLONES   sites created from a local bare git repo afterwards (default 50, 0..999)
#   BENCH_PERF=1   also profile the panel with perf (cpu-clock, call graphs) under GET /sites load
#   BENCH_OUT=DIR  keep the raw outputs (per-create times, wrk, perf report, nginx error log)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
SETEC_BIN=${SETEC_BIN:-/work/main/build/setec-manager}
N=${BENCH_SITES:-500}
NC=${BENCH_CLONES:-50}
((N >= 1 && N <= 999)) || { echo "bench: BENCH_SITES must be 1..999" >&2; exit 2; }
((NC >= 0 && NC <= 999)) || { echo "bench: BENCH_CLONES must be 0..999" >&2; exit 2; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
probe() { "$PY" "$here/probe.py" "$@"; }

for t in wrk "$NGINX" git curl timeout "$PY"; do
        command -v "$t" >/dev/null || { echo "bench: $t is not installed" >&2; exit 2; }
done
[ -x "$SETEC_BIN" ] || { echo "bench: no panel binary at $SETEC_BIN (set SETEC_BIN)" >&2; exit 2; }
# serve starts its root helper from beside the real binary
[ -x "$(dirname "$(readlink -f "$SETEC_BIN")")/setec-helper" ] ||
        { echo "bench: no setec-helper beside $SETEC_BIN (make build builds both)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/setec-bench-sites.XXXXXX)
# as in production: the HTTP process runs as `setec` (a root helper stays)
chmod 711 "$TMP"
PANEL_PID=
NGINX_PID=
PERF_PID=


cleanup() {
        local rc=$?
        stop_pid "$PERF_PID" INT
        stop_pid "$PANEL_PID"
        # the master we started (daemon off); nginx -s reload keeps the same master
        stop_pid "$NGINX_PID" QUIT
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

# ---- helper: sequential requests over one keep-alive TLS connection (TCP_NODELAY) ----
cat >"$TMP/sites_client.py" <<'PYEOF'
import http.client, json, os, socket, ssl, statistics, sys, time

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


class Conn(http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def conn(port):
    return Conn("127.0.0.1", int(port), context=CTX, timeout=60)


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def summary(xs):
    return {"n": len(xs), "mean": statistics.fmean(xs), "p50": pct(xs, 50), "p99": pct(xs, 99),
            "min": min(xs), "max": max(xs)}


def count_in(path, needle):
    with open(path, errors="replace") as f:
        return f.read().count(needle)


def create(port, token, n, fmt, errlog, out, repo):
    """n sequential POST /sites; one line per create: i ms status signals."""
    n = int(n)
    c = conn(port)
    hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json",
           "Accept": "application/json"}
    times, fails, per_create = [], 0, []
    sig0 = count_in(errlog, "signal process started")
    with open(out, "w") as f:
        for i in range(1, n + 1):
            body = json.dumps({"domain": fmt % i, "app_type": "static", "git_repo": repo})
            t0 = time.perf_counter()
            c.request("POST", "/sites", body=body, headers=hdr)
            r = c.getresponse()
            data = r.read()
            ms = (time.perf_counter() - t0) * 1000
            # `nginx -s reload` logs this line itself before it exits, so it is
            # already in the file when the 201 arrives
            sig1 = count_in(errlog, "signal process started")
            per_create.append(sig1 - sig0)
            sig0 = sig1
            if r.status != 201:
                fails += 1
                print(f"create {fmt % i}: {r.status} {data[:300]!r}", file=sys.stderr)
            times.append(ms)
            f.write(f"{i} {ms:.3f} {r.status} {per_create[-1]}\n")
    k = min(50, n)
    res = {"all": summary(times), "first": summary(times[:k]), "last": summary(times[-k:]),
           "k": k, "failed": fails, "signals": sum(per_create),
           "signals_per_create": {str(v): per_create.count(v) for v in sorted(set(per_create))}}
    if n >= 100:
        b = n // 5
        res["buckets"] = [[i * b + 1, (i + 1) * b, statistics.median(times[i * b:(i + 1) * b])]
                          for i in range(5)]
    print(json.dumps(res))


def seq(port, token, path, n):
    """n sequential GETs on one keep-alive connection after 5 warm-up ones."""
    c = conn(port)
    hdr = {"Authorization": "Bearer " + token, "Accept": "application/json"}
    times, size, items = [], 0, None
    for i in range(n + 5):
        t0 = time.perf_counter()
        c.request("GET", path, headers=hdr)
        r = c.getresponse()
        data = r.read()
        ms = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            sys.exit(f"GET {path}: {r.status} {data[:300]!r}")
        if i >= 5:
            times.append(ms)
        size = len(data)
        j = json.loads(data)
        items = len(j) if isinstance(j, list) else None
    res = summary(times)
    res.update(bytes=size, items=items)
    print(json.dumps(res))


def first_id(port, token):
    c = conn(port)
    c.request("GET", "/sites", headers={"Authorization": "Bearer " + token,
                                        "Accept": "application/json"})
    r = c.getresponse()
    print(json.loads(r.read())[0]["id"])


cmd = sys.argv[1]
if cmd == "create":
    create(*sys.argv[2:8], sys.argv[8] if len(sys.argv) > 8 else "")
elif cmd == "seq":
    seq(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif cmd == "first_id":
    first_id(sys.argv[2], sys.argv[3])
PYEOF
client() { timeout 1200 "$PY" "$TMP/sites_client.py" "$@"; }

# wrk output -> "req/s p50_ms p99_ms non2xx socket_errors"
# user+system CPU ticks of a process (all its threads)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
HZ=$(getconf CLK_TCK)
jq_() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"json": json}, {"d": d}))' "$1"; }
fmt_summary() { # JSON summary on stdin -> text
        "$PY" -c 'import json,sys; d=json.load(sys.stdin)
print("mean %.2f  p50 %.2f  p99 %.2f  min %.2f  max %.2f ms (n=%d)" % (d["mean"], d["p50"], d["p99"], d["min"], d["max"], d["n"]))'
}

export SETEC_ADMIN_PASSWORD=${SETEC_ADMIN_PASSWORD:-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}
PORT=$(probe freeport)
HPORT=$(probe freeport)
SPORT=$(probe freeport)
while [ "$HPORT" = "$PORT" ]; do HPORT=$(probe freeport); done
while [ "$SPORT" = "$PORT" ] || [ "$SPORT" = "$HPORT" ]; do SPORT=$(probe freeport); done

# ---- nginx in a private prefix (as tests/api/nginx_prefix.py, error log at info) ----
NG="$TMP/ng"
for d in sites-available sites-enabled snippets www certbot logs tmp run git; do mkdir -p "$NG/$d"; done
USER_LINE=
# as root the workers would otherwise run as nobody, who cannot enter the 0700 temp dir
[ "$(id -u)" = 0 ] && USER_LINE="user root root;"
MIME=
[ -f /etc/nginx/mime.types ] && MIME="include /etc/nginx/mime.types;"
cat >"$NG/nginx.conf" <<EOF
# bench prefix $NG
$USER_LINE
worker_processes 1;
pid $NG/run/nginx.pid;
error_log $NG/logs/error.log info;
events { worker_connections 128; }
http {
    $MIME
    default_type application/octet-stream;
    access_log $NG/logs/access.log;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    server_names_hash_bucket_size 128;
    # unknown hosts: the panel's own default servers (setec-defaults, return 444)
    include $NG/sites-enabled/*;
}
EOF
# shellcheck disable=SC2016 # nginx variables, literally
printf 'proxy_set_header Host $host;\nproxy_set_header X-Real-IP $remote_addr;\nproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\nproxy_set_header X-Forwarded-Proto $scheme;\nproxy_buffering off;\n' >"$NG/snippets/proxy-params.conf"
printf 'ssl_protocols TLSv1.2 TLSv1.3;\nssl_prefer_server_ciphers off;\nssl_session_timeout 1d;\nssl_session_tickets off;\n' >"$NG/snippets/ssl-params.conf"
ERRLOG="$NG/logs/error.log"

"$NGINX" -c "$NG/nginx.conf" -e "$ERRLOG" -g 'daemon off;' </dev/null >/dev/null 2>>"$TMP/nginx.log" &
NGINX_PID=$!
for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$HPORT") 2>/dev/null && break
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx.log" "$ERRLOG" >&2; exit 1; }
        sleep 0.05
done

# ---- the panel (release build, logging at warn), managing that nginx by signal ----
mkdir -p "$TMP/data"
cat >"$TMP/panel.yaml" <<EOF
server: {host: 127.0.0.1, port: $PORT, tls: true, cert: $TMP/data/tls/cert.pem, key: $TMP/data/tls/key.pem}
database: {path: $TMP/data/setec.db}
backups: {dir: $TMP/data/backups}
logging: {level: warn, file: ""}
nginx:
  binary: $NGINX
  conf: $NG/nginx.conf
  reload: signal
  error_log: $ERRLOG
  access_log: $NG/logs/access.log
  sites_available: $NG/sites-available
  sites_enabled: $NG/sites-enabled
  snippets: $NG/snippets
  webroot: $NG/www
  certbot_webroot: $NG/certbot
  http_port: $HPORT
  https_port: $SPORT
git: {local_root: $NG/git}
EOF
"$SETEC_BIN" -c "$TMP/panel.yaml" serve </dev/null >/dev/null 2>>"$TMP/panel.log" &
PANEL_PID=$!
probe wait "$PORT" 10 || { cat "$TMP/panel.log" >&2; exit 1; }
TOKEN=$(probe login "$PORT")

echo "== Setec Manager sites benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, kernel $(uname -r); $("$NGINX" -v 2>&1 | sed 's/.*: //')"
echo "binary:  $SETEC_BIN ($(stat -c %y "$SETEC_BIN" | cut -d. -f1))"

# HOST: GET / through nginx until it answers 200 (at most 5 s). `nginx -s reload` only signals the
# master, which re-reads the config asynchronously: the 201 can come before the vhost is live.
serve_check() {
        local st=000 t0 t1
        t0=$(date +%s%N)
        for _ in $(seq 250); do
                st=$(curl -s -m 2 -o "$TMP/serve.txt" -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$HPORT/" || true)
                [ "$st" = 200 ] && break
                sleep 0.02
        done
        t1=$(date +%s%N)
        echo "GET http://$1/ through nginx: $st \"$(head -c 40 "$TMP/serve.txt" | tr -d '\n')\" after $(((t1 - t0) / 1000000)) ms of polling"
}

# ---- 1. N static sites, sequential ----
SIG_BEFORE=$(grep -c "signal process started" "$ERRLOG" || true)
HUP_BEFORE=$(grep -c "reconfiguring" "$ERRLOG" || true)
echo
echo "-- creating $N static sites (s001.bench.test ..., git_repo \"\") one after the other"
client create "$PORT" "$TOKEN" "$N" "s%03d.bench.test" "$ERRLOG" "$TMP/create-static.txt" \
        >"$TMP/create-static.json"
sleep 1 # the master logs SIGHUP asynchronously
HUP_AFTER=$(grep -c "reconfiguring" "$ERRLOG" || true)
SIG_AFTER=$(grep -c "signal process started" "$ERRLOG" || true)
R=$(cat "$TMP/create-static.json")
echo "POST /sites (all):        $(jq_ 'json.dumps(d["all"])' <<<"$R" | fmt_summary)"
echo "POST /sites (first $(jq_ 'd["k"]' <<<"$R")):   $(jq_ 'json.dumps(d["first"])' <<<"$R" | fmt_summary)"
echo "POST /sites (last $(jq_ 'd["k"]' <<<"$R")):    $(jq_ 'json.dumps(d["last"])' <<<"$R" | fmt_summary)"
jq_ '"\n".join("  median of creates %d-%d: %.2f ms" % tuple(b) for b in d.get("buckets", []))' <<<"$R"
echo "failed creates: $(jq_ 'd["failed"]' <<<"$R")"
echo "nginx reloads: 'signal process started' $((SIG_AFTER - SIG_BEFORE)), master 'reconfiguring' $((HUP_AFTER - HUP_BEFORE)) for $N creates; per create: $(jq_ 'd["signals_per_create"]' <<<"$R") (reloads: creates)"
# nginx -t alone with N vhosts: the part of a create that grows with the number of sites
T0=$(date +%s%N)
for _ in 1 2 3 4 5; do "$NGINX" -t -q -c "$NG/nginx.conf" -e "$ERRLOG" >/dev/null 2>&1; done
T1=$(date +%s%N)
echo "nginx -t with $N vhosts (by hand, mean of 5): $(((T1 - T0) / 5000000)) ms"
# `nginx -s reload` parses the whole configuration too before it signals the master
T0=$(date +%s%N)
for _ in 1 2 3; do "$NGINX" -s reload -c "$NG/nginx.conf" -e "$ERRLOG" >/dev/null 2>&1; sleep 0.3; done
T1=$(date +%s%N)
echo "nginx -s reload with $N vhosts (by hand, mean of 3): $(((T1 - T0 - 900000000) / 3000000)) ms"

# the last site really serves through nginx
printf 'bench %s\n' "s$(printf %03d "$N").bench.test" >"$NG/www/s$(printf %03d "$N").bench.test/index.html"
serve_check "s$(printf %03d "$N").bench.test"

# ---- 2. GET /sites and GET /sites/{id} with N sites ----
echo
ID=$(client first_id "$PORT" "$TOKEN")
for path in /sites "/sites/$ID"; do
        R=$(client seq "$PORT" "$TOKEN" "$path" 50)
        echo "GET $path, 50 sequential on one keep-alive connection: $(fmt_summary <<<"$R"), $(jq_ 'd["bytes"]' <<<"$R") bytes$( [ "$path" = /sites ] && echo ", $(jq_ 'd["items"]' <<<"$R") items")"
        tag=${path//\//_}
        C0=$(cpu_ticks "$PANEL_PID")
        timeout 20 wrk -t1 -c4 -d5s --latency -H "Authorization: Bearer $TOKEN" \
                -H "Accept: application/json" "https://127.0.0.1:$PORT$path" >"$TMP/wrk$tag.txt" 2>&1 || true
        C1=$(cpu_ticks "$PANEL_PID")
        echo "GET $path, wrk -t1 -c4 -d5s: $(parse_wrk "$TMP/wrk$tag.txt" | awk -v c="$((C1 - C0))" -v hz="$HZ" '{printf "%s req/s, p50 %s ms, p99 %s ms, non-2xx %s, socket errors %s; panel CPU %.3f ms/request", $1, $2, $3, $4, $5, ($1 > 0 ? c / hz * 1000 / ($1 * 5) : 0)}')"
done

if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
        perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$PANEL_PID" -o "$TMP/perf.data" >/dev/null 2>&1 &
        PERF_PID=$!
        sleep 0.5
        timeout 20 wrk -t1 -c4 -d5s -H "Authorization: Bearer $TOKEN" -H "Accept: application/json" \
                "https://127.0.0.1:$PORT/sites" >/dev/null 2>&1 || true
        stop_pid "$PERF_PID" INT
        PERF_PID=
        perf report -i "$TMP/perf.data" --stdio --no-children --percent-limit 1.5 -g none \
                >"$TMP/perf-report.txt" 2>/dev/null || true
        # inclusive time per function (where the self time above comes from)
        perf report -i "$TMP/perf.data" --stdio --children --percent-limit 3 -g none \
                >"$TMP/perf-children.txt" 2>/dev/null || true
        perf report -i "$TMP/perf.data" --stdio --no-children --percent-limit 3 -g caller,0.5,callee \
                >"$TMP/perf-callers.txt" 2>/dev/null || true
        echo
        echo "-- perf (cpu-clock, self time) of the panel under GET /sites load:"
        grep -E '^ +[0-9]' "$TMP/perf-report.txt" | head -25
        echo "-- perf (inclusive, children) of the panel under GET /sites load:"
        grep -E '^ +[0-9]' "$TMP/perf-children.txt" | head -40
fi

# ---- 3. optional: sites from one local bare git repo (includes a git clone) ----
if ((NC > 0)); then
        echo
        W="$TMP/work"
        git init -q -b main "$W"
        echo '<h1>cloned bench site</h1>' >"$W/index.html"
        git -C "$W" add index.html
        git -C "$W" -c user.name=bench -c user.email=bench@localhost commit -q -m v1
        git clone -q --bare "$W" "$NG/git/site.git"
        SIG_BEFORE=$(grep -c "signal process started" "$ERRLOG" || true)
        echo "-- creating $NC sites from the local bare repo $NG/git/site.git (c001.bench.test ...) on top of the $N"
        client create "$PORT" "$TOKEN" "$NC" "c%03d.bench.test" "$ERRLOG" "$TMP/create-clone.txt" \
                "$NG/git/site.git" >"$TMP/create-clone.json"
        SIG_AFTER=$(grep -c "signal process started" "$ERRLOG" || true)
        R=$(cat "$TMP/create-clone.json")
        echo "POST /sites with clone:  $(jq_ 'json.dumps(d["all"])' <<<"$R" | fmt_summary)"
        echo "failed creates: $(jq_ 'd["failed"]' <<<"$R"); nginx reloads: $((SIG_AFTER - SIG_BEFORE)) for $NC creates"
        C=$(printf 'c%03d.bench.test' "$NC")
        serve_check "$C"
        R=$(client seq "$PORT" "$TOKEN" /sites 50)
        echo "GET /sites with $((N + NC)) sites, 50 sequential: $(fmt_summary <<<"$R"), $(jq_ 'd["bytes"]' <<<"$R") bytes"
fi
