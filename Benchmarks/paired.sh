#!/usr/bin/env bash
# CPU per proxied request of two gateway builds under the same load, alternated so that the machine's drift
# (25% between runs of one hour on a shared machine) falls on both alike: the way to tell whether a change
# made the gateway cheaper under load. Each round runs each build for DURATION under wrk -c64 against an
# nginx upstream answering the 330-byte job (PUT vendor), and reads the build's user and system CPU time.
#
#   Benchmarks/paired.sh OLD_BINARY NEW_BINARY     (ROUNDS=3, DURATION=6; builds e.g. from `git worktree add`)
#
# Build both the same way, as the container does (`swift build -c release --static-swift-stdlib`): a build
# with the shared Swift runtime pays an indirect call for every retain and release. When the rounds disagree
# with each other, other load moved under the runs: run it again rather than read the median.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-6}"
source Benchmarks/common.sh
command -v wrk >/dev/null && command -v nginx >/dev/null || scripts/install-deps bench


upstream_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/mappings"
cat >"$work/nginx/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $work/nginx/upstream.pid; error_log $work/nginx/logs/upstream.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$upstream_port; keepalive_requests 1000000;
  location / { default_type application/json; return 200 '$job_json'; } } }
CONF
pin 0 nginx -p "$work/nginx" -c "$work/nginx/upstream.conf" & pids+=($!)
cat >"$work/mappings/put.json" <<JSON
{ "baseUrl": "http://127.0.0.1:$upstream_port", "auth": { "scheme": "none" },
  "fields": { "name": { "to": "/name" }, "goalQuantity": { "to": "/goalQuantity" } },
  "calls": [ { "name": "update", "method": "PUT", "path": "/api/jobs/{id}" } ],
  "response": { "id": "/id", "createdAt": { "from": "/createdAt" }, "updatedAt": { "from": "/updatedAt" } } }
JSON
write_patch_script
wait_port "$upstream_port"

# One build under load: prints "req/s user_us system_us" per request.
measure() {
  local binary="$1" port pid
  port=$(free_port)
  # Its output goes to a file: holding this function's stdout would keep the caller's `$(...)` waiting.
  pin 1 "$binary" serve --listen "127.0.0.1:$port" --threads 1 --log-level warn --mappings "$work/mappings" \
    >>"$work/gateway.log" 2>&1 & pid=$!
  wait_port "$port"
  (pin 0 wrk -t2 -c64 -d2s -s "$work/patch.lua" "http://127.0.0.1:$port/jobs/put:job_abc123" >/dev/null) # warm-up
  local before after output
  before=$(awk '{print $14, $15}' "/proc/$pid/stat")
  output=$(pin 0 wrk -t2 -c64 -d"${DURATION}s" -s "$work/patch.lua" "http://127.0.0.1:$port/jobs/put:job_abc123")
  after=$(awk '{print $14, $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if grep -q "Non-2xx" <<<"$output"; then echo "warning: $binary answered errors" >&2; fi
  local requests
  requests=$(awk '/requests in/ {print $1}' <<<"$output")
  echo "$before $after $requests" | awk -v hz="$(getconf CLK_TCK)" -v seconds="$DURATION" \
    '{printf "%.0f %.1f %.1f\n", $5 / seconds, ($3 - $1) / hz * 1e6 / $5, ($4 - $2) / hz * 1e6 / $5}'
}

printf '%-5s %-4s %10s %12s %12s\n' round build "req/s" "user µs/req" "sys µs/req"
rows=""
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    binary=$([ "$side" = old ] && echo "$1" || echo "$2")
    read -r rate user system <<<"$(measure "$binary")"
    printf '%-5s %-4s %10s %12s %12s\n' "$round" "$side" "$rate" "$user" "$system"
    rows+="$round $side $rate $user $system"$'\n'
  done
done
# Medians per build, and in how many rounds the new build took less CPU (user + system) than the old one in
# the same round: the count says more than the medians when the host drifts.
python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
for side in ("old", "new"):
    mine = [row for row in rows if row[1] == side]
    print("median %s: user %.1f, system %.1f µs/req" % (side, statistics.median(float(row[3]) for row in mine),
                                                         statistics.median(float(row[4]) for row in mine)))
cpu = {(row[0], row[1]): float(row[3]) + float(row[4]) for row in rows}
rounds = sorted({row[0] for row in rows})
lower = sum(cpu[(r, "new")] < cpu[(r, "old")] for r in rounds)
print("new took less CPU per request than old in %d of %d rounds" % (lower, len(rounds)))' <<<"$rows"
