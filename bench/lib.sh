# Shell functions shared by the bench/*.sh scripts; source it, do not run it.
# shellcheck shell=bash

# stop_pid PID [SIGNAL]: signal PID (TERM by default), wait up to 10 s for it
# to go, then KILL it and reap it. No PID or a gone process: nothing to do.
stop_pid() {
        local pid=$1 sig=${2:-TERM}
        [ -n "$pid" ] || return 0
        kill -"$sig" "$pid" 2>/dev/null || return 0
        for _ in $(seq 200); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
}

# parse_wrk FILE: a `wrk --latency` output as one line
# "req/s p50-ms p99-ms non-2xx socket-errors".
parse_wrk() {
        awk '
        function ms(v) {
                if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
                if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
                if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
                return v
        }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
        END { printf "%.0f %.3f %.3f %d %d\n", rps, p50, p99, bad, err }' "$1"
}
