#!/usr/bin/env bash
# `make run`: the panel with a self-contained development setup under ./var:
# its data, its certificate and a private nginx (sites on 127.0.0.1:8080).
# etc/dev.yaml is the template; var/dev.yaml is it with absolute paths.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=build/setec-manager
# serve starts its root helper from beside the binary (make build builds both)
if [ ! -x build/setec-helper ]; then
  echo "build/setec-helper is missing: \`make build\` builds it beside $bin" >&2
  exit 1
fi

# What the panel drives at run time (nginx, git, python3-venv, node/npm, ufw):
# installed here as root; as another user, the missing list is printed and the
# panel starts anyway (site creates then fail with "cannot run ...").
if ! scripts/install-deps.sh run; then
  echo "warning: some run-time packages are missing (see above); creating sites will fail" >&2
fi
V=$root/var
mkdir -p "$V"/nginx/{sites-available,sites-enabled,snippets,logs,run,tmp} "$V"/www/certbot

sed "s#: var/#: $V/#" etc/dev.yaml > "$V/dev.yaml"
cfg=$V/dev.yaml

# A private nginx for the sites the panel creates (nothing under /etc/nginx).
N=$V/nginx
mime=""
[ -f /etc/nginx/mime.types ] && mime="    include /etc/nginx/mime.types;"
user=""
[ "$(id -u)" = 0 ] && user="user root root;"
cat > "$N/nginx.conf" <<CONF
# development nginx of \`make run\` (written by scripts/dev-run.sh)
$user
worker_processes 1;
pid $N/run/nginx.pid;
error_log $N/logs/error.log notice;
events { worker_connections 256; }
http {
$mime
    default_type application/octet-stream;
    access_log $N/logs/access.log;
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    server_names_hash_bucket_size 128;
    # unknown names: the panel's own default server (setec-defaults, return 444)
    include $N/sites-enabled/*;
}
CONF
"$bin" -c "$cfg" setup >/dev/null
nginx_pid=""
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  if [ -f "$N/run/nginx.pid" ] && kill -0 "$(cat "$N/run/nginx.pid")" 2>/dev/null; then
    :
  else
    "$NGINX" -c "$N/nginx.conf" -e "$N/logs/error.log" && nginx_pid=started
  fi
fi
stop_nginx() {
  [ -n "$nginx_pid" ] && "$NGINX" -c "$N/nginx.conf" -e "$N/logs/error.log" -s quit 2>/dev/null || true
}
trap stop_nginx EXIT

pwfile=$V/data/initial-admin-password
echo
echo "  Setec Manager (development) on https://127.0.0.1:9090/"
if [ -f "$pwfile" ]; then
  echo "  login: admin / $(cat "$pwfile")   (from var/data/initial-admin-password)"
elif [ -n "${SETEC_ADMIN_PASSWORD:-}" ]; then
  echo "  login: admin / \$SETEC_ADMIN_PASSWORD"
else
  echo "  login: the admin you created (reset: $bin -c $cfg admin passwd admin)"
fi
echo "  sites are served by a private nginx on port 8080 (Host: <domain>)"
echo "  self-signed certificate: var/tls/panel.crt   stop with Ctrl-C"
echo
"$bin" -c "$cfg" serve
