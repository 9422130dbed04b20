#!/usr/bin/env bash
# Backup benchmark: a site backup through the panel's API (POST /backups/site/{id}, timed
# from the request to the 201) of a ~1 GiB tree of mixed files, next to `tar -czf` of the
# same tree (GNU tar piping through gzip -6, the reference's command). Reports wall time,
# archive size and throughput of each, alternating the two BENCH_RUNS times after one
# warm-up read of the tree (the page cache then holds it for both). Run by hand; prints
# figures, never fails on them. Loopback only; the panel is killed by PID; the temp dir
# (tree and archives, ~2.5 GiB at peak) is removed.
#
# Environment:
#   SETEC_BIN       panel binary (default /work/main/build/setec-manager)
#   BENCH_SIZE_MB   tree size in MiB (default 1024, 64..4096)
#   BENCH_RUNS      measured runs of each (default 2, 1..5)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SETEC_BIN=${SETEC_BIN:-/work/main/build/setec-manager}
SIZE_MB=${BENCH_SIZE_MB:-1024}
((SIZE_MB >= 64 && SIZE_MB <= 4096)) || { echo "bench: BENCH_SIZE_MB must be 64..4096" >&2; exit 2; }
RUNS=${BENCH_RUNS:-2}
((RUNS >= 1 && RUNS <= 5)) || { echo "bench: BENCH_RUNS must be 1..5" >&2; exit 2; }
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
probe() { "$PY" "$here/probe.py" "$@"; }
for t in tar gzip "$PY"; do
        command -v "$t" >/dev/null || { echo "bench: $t is not installed" >&2; exit 2; }
done
[ -x "$SETEC_BIN" ] || { echo "bench: no panel binary at $SETEC_BIN (set SETEC_BIN)" >&2; exit 2; }
# serve starts its root helper from beside the real binary
[ -x "$(dirname "$(readlink -f "$SETEC_BIN")")/setec-helper" ] ||
        { echo "bench: no setec-helper beside $SETEC_BIN (make build builds both)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/setec-bench-backup.XXXXXX)
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

# The tree: 40% compressible text (source-like lines from a small vocabulary), 40%
# incompressible data (images, archives), 20% small files of 4-16 KiB (a CMS's many
# little files), spread over nested directories; plus a few symlinks and empty dirs.
SITE="$TMP/www/site"
mkdir -p "$SITE"
echo "# building a ${SIZE_MB} MiB tree in $SITE"
"$PY" - "$SITE" "$SIZE_MB" <<'EOPY'
import os, random, sys
root, size_mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
words = [("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rnd.randint(2, 10))))
         for _ in range(2000)]
def text(n):
    out, size = [], 0
    while size < n:
        line = "    " * rnd.randint(0, 3) + " ".join(rnd.choices(words, k=rnd.randint(3, 12))) + ";\n"
        out.append(line)
        size += len(line)
    return "".join(out)[:n].encode()
block = text(1 << 20)  # 1 MiB of text, sliced at random offsets below
total = size_mb << 20
def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
done, i = 0, 0
while done < total * 0.4:   # text files 64 KiB - 1 MiB
    n = rnd.randint(64 << 10, 1 << 20)
    off = rnd.randint(0, len(block) - 1)
    data = (block[off:] + block)[:n]
    put(os.path.join(root, "src", f"d{i % 37}", f"file{i}.js"), data)
    done += n; i += 1
while done < total * 0.8:   # binary 1 - 16 MiB
    n = rnd.randint(1 << 20, 16 << 20)
    put(os.path.join(root, "media", f"d{i % 11}", f"blob{i}.bin"), os.urandom(n))
    done += n; i += 1
while done < total:         # small mixed files
    n = rnd.randint(4 << 10, 16 << 10)
    data = os.urandom(n // 2) + block[:n - n // 2]
    put(os.path.join(root, "cache", f"d{i % 97}", f"e{i % 13}", f"small{i}.dat"), data)
    done += n; i += 1
for k in range(5):
    os.makedirs(os.path.join(root, "empty", str(k)), exist_ok=True)
    os.symlink(f"../src/d{k}", os.path.join(root, f"link{k}"))
print(f"# {i} files, {done / (1 << 20):.0f} MiB")
EOPY

export SETEC_ADMIN_PASSWORD=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
PORT=$(probe freeport)
mkdir -p "$TMP/tls" "$TMP/data" "$TMP/nginx/sites-available" "$TMP/tar"
cat >"$TMP/cfg.yaml" <<EOF
server: {host: 127.0.0.1, port: $PORT, tls: true, cert: $TMP/tls/cert.pem, key: $TMP/tls/key.pem, user: ""}
database: {path: $TMP/data/setec.db}
backups: {dir: $TMP/data/backups, max_count: 1, max_age_days: 0}
nginx: {webroot: $TMP/www, sites_available: $TMP/nginx/sites-available}
logging: {level: warn, file: ""}
EOF
"$SETEC_BIN" -c "$TMP/cfg.yaml" serve </dev/null >/dev/null 2>>"$TMP/panel.log" &
PANEL_PID=$!
probe wait "$PORT" 10 || { cat "$TMP/panel.log" >&2; exit 1; }
TOKEN=$(probe login "$PORT")
SITE_ID=$("$PY" -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
cur = c.execute("INSERT INTO sites (domain, app_root) VALUES (?, ?)", ("bench.example.com", sys.argv[2]))
c.commit()
print(cur.lastrowid)' "$TMP/data/setec.db" "$SITE")

tar -C "$TMP/www" -cf /dev/null site # warm-up: the tree is in the page cache for both

now() { date +%s.%N; }
echo "# $(nproc) CPUs; panel: $(basename "$SETEC_BIN") (libarchive gzip level 6 + SHA-256 manifest);"
echo "# reference: tar -czf (GNU tar | gzip -6)"
printf "%-8s %4s %9s %11s %9s\n" what run wall_s size_MiB MiB/s
for run in $(seq "$RUNS"); do
        rm -f "$TMP/tar/site.tar.gz"
        t0=$(now)
        tar -C "$TMP/www" -czf "$TMP/tar/site.tar.gz" site
        t1=$(now)
        sz=$(stat -c %s "$TMP/tar/site.tar.gz")
        awk -v a="$t0" -v b="$t1" -v s="$sz" -v m="$SIZE_MB" -v r="$run" \
                'BEGIN { printf "%-8s %4d %9.2f %11.1f %9.1f\n", "tar-czf", r, b - a, s / 1048576, m / (b - a) }'

        t0=$(now)
        out=$("$PY" - "$PORT" "$TOKEN" "$SITE_ID" <<'EOPY'
import http.client, json, ssl, sys
port, token, site = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=900)
c.request("POST", f"/backups/site/{site}", headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
r = c.getresponse(); body = r.read()
if r.status != 201:
    sys.exit(f"backup answered {r.status}: {body[:300]!r}")
print(json.loads(body)["size"])
EOPY
)
        t1=$(now)
        awk -v a="$t0" -v b="$t1" -v s="$out" -v m="$SIZE_MB" -v r="$run" \
                'BEGIN { printf "%-8s %4d %9.2f %11.1f %9.1f\n", "panel", r, b - a, s / 1048576, m / (b - a) }'
done
