#!/usr/bin/env bash
# `make run`: start the panel with etc/dev.yaml, state under ./var.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/setec-manager
mkdir -p var
"$bin" -c etc/dev.yaml setup >/dev/null
pwfile=var/data/initial-admin-password
echo
echo "  Setec Manager (development) on https://127.0.0.1:9090/"
if [ -n "${SETEC_ADMIN_PASSWORD:-}" ]; then
  echo "  login: admin / \$SETEC_ADMIN_PASSWORD (used only when the first admin is created)"
elif [ -f "$pwfile" ]; then
  echo "  login: admin / $(cat "$pwfile")   (from $pwfile)"
else
  echo "  login: the admin you created (reset: $bin -c etc/dev.yaml admin passwd admin)"
fi
echo "  self-signed certificate: var/tls/panel.crt   stop with Ctrl-C"
echo
exec "$bin" -c etc/dev.yaml serve
