#!/bin/bash
# users-ns.sh STATE_DIR COMMAND [ARGS...]
#
# Runs COMMAND (with exec: same PID) in a private mount namespace in which
# /etc, /home, /var/log and /var/mail are overlays whose upper layers live on
# a tmpfs mounted at STATE_DIR, so useradd/chpasswd/userdel work for real
# and nothing reaches the host: the mounts disappear with the namespace.
# Overlays, not bind mounts: shadow-utils rename()s /etc/passwd+ over
# /etc/passwd, which fails on a bind-mounted file (system-peers.md §5).
# The network namespace is shared, so a server started here is reachable.
#
# Optional environment:
#   USERS_NS_SHELLS   file copied over the overlay's /etc/shells
#   USERS_NS_UID_MIN  UID_MIN/GID_MIN for the overlay's login.defs (keeps test
#                     accounts clear of UIDs used elsewhere on the machine)
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 STATE_DIR COMMAND [ARGS...]" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "$0: needs root" >&2
	exit 77
fi
STATE=$(realpath -- "$1")
shift
[ -d "$STATE" ] || { echo "$0: $STATE is not a directory" >&2; exit 2; }
exec unshare --mount --propagation private -- /bin/bash -c '
set -euo pipefail
S=$1; shift
mount -t tmpfs -o mode=0700,size=256m setec-users-ns "$S"
for d in /etc /home /var/log /var/mail; do
	n=$(echo "$d" | tr / _)
	mkdir -p "$S/up$n" "$S/work$n"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$S/up$n,workdir=$S/work$n" "$d"
done
if [ -n "${USERS_NS_SHELLS:-}" ]; then
	cat -- "$USERS_NS_SHELLS" > /etc/shells
fi
if [ -n "${USERS_NS_UID_MIN:-}" ]; then
	m=$USERS_NS_UID_MIN
	sed -i -E "s/^(UID_MIN|GID_MIN)([[:space:]]+).*/\1\2$m/" /etc/login.defs
	sed -i -E "s/^(UID_MAX|GID_MAX)([[:space:]]+).*/\1\2$((m + 999))/" /etc/login.defs
fi
exec "$@"
' users-ns "$STATE" "$@"
