#!/bin/sh
# Run a command with ufw's state replaced by private copies, so the real ufw
# can be driven without touching the host's firewall:
#
#   ufw-ns.sh STATE_DIR [--net] [--filter-lo] -- COMMAND [ARGS...]
#
# STATE_DIR receives copies of /etc/ufw, /lib/ufw, /etc/default/ufw and an
# empty /run (ufw takes /run/ufw.lock); they are bind-mounted over the real
# paths inside a private mount namespace, and COMMAND is exec'd there (so
# its PID is this script's PID). --net also gives the command a private
# network namespace with lo up; without it the caller is expected to be in a
# network namespace of its own already (iptables changes go to the netns of
# the process, so never run this without one). --filter-lo drops ufw's
# "accept everything on lo" lines from the copy, so rules really filter
# loopback traffic inside the namespace.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 STATE_DIR [--net] [--filter-lo] -- CMD..." >&2; exit 2; }
S=$1; shift
NET=; FILTER_LO=
while [ $# -gt 0 ]; do
        case $1 in
        --net) NET=--net ;;
        --filter-lo) FILTER_LO=1 ;;
        --) shift; break ;;
        *) echo "ufw-ns.sh: unknown option $1" >&2; exit 2 ;;
        esac
        shift
done
[ $# -ge 1 ] || { echo "ufw-ns.sh: no command" >&2; exit 2; }
if [ ! -d "$S/etc-ufw" ]; then
        mkdir -p "$S/etc-ufw" "$S/lib-ufw" "$S/run"
        cp -a /etc/ufw/. "$S/etc-ufw/"
        cp -a /lib/ufw/. "$S/lib-ufw/"
        cp -a /etc/default/ufw "$S/default-ufw"
        if [ -n "$FILTER_LO" ]; then
                sed -i '/-i lo -j ACCEPT/d;/-o lo -j ACCEPT/d' \
                        "$S/etc-ufw/before.rules" "$S/etc-ufw/before6.rules"
        fi
fi
export UFW_NS_STATE="$S"
exec unshare --mount --propagation private $NET -- /bin/sh -ec '
S=$UFW_NS_STATE
mount --bind "$S/etc-ufw" /etc/ufw
mount --bind "$S/lib-ufw" /lib/ufw
mount --bind "$S/default-ufw" /etc/default/ufw
mount --bind "$S/run" /run
ip link set lo up
exec "$@"' ufw-ns "$@"
