#!/usr/bin/env bash
# Benchmarks jobgate against nginx (and, for the proxy case, HAProxy) on this machine, same run, interleaved.
#
#   Benchmarks/run.sh [health|proxy|all]     (default: all)
#
# Pinning follows the way we measured the peers on our build machines: wrk and the upstream on core 0, the
# server under test on core 1, each server with one worker/loop, so the numbers compare one core against one
# core. Compare ratios, not absolute numbers: this machine drifts by 5-20% over minutes. Environment knobs:
# ROUNDS (3), DURATION (6s), CONNECTIONS (64).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-6s}"
CONNECTIONS="${CONNECTIONS:-64}"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT

command -v wrk >/dev/null && command -v nginx >/dev/null || scripts/install-deps bench
swift build -c release --static-swift-stdlib --product jobgate >/dev/null
JOBGATE=.build/release/jobgate

# Runs a command pinned to a core. Used only in background jobs and pipelines, so `exec` replaces just that
# subshell and $! is the real process (killable at cleanup).
pin() { if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

job_json='{"id":"job_abc123","name":"JOB-2024-001-REV2","goalQuantity":75,"jiraTicketKey":"PI-42","jiraTicketSummary":"Build 50 aluminum housings","jiraPartNumber":"ALU-HOUSING-7075","jiraPriority":"High","jiraEpicLink":"PI-10","jiraLabels":["Q1-2024","rush"],"createdAt":"2024-01-15T10:30:00.000Z","updatedAt":"2024-01-20T16:45:00.000Z"}'

# nginx: a `return 200` server (the health peer and the upstream), plus a proxy_pass peer.
nginx_port=$(free_port); upstream_port=$(free_port); nginx_proxy_port=$(free_port); haproxy_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $work/nginx/upstream.pid; error_log $work/nginx/logs/upstream.log;
events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:$upstream_port reuseport; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$job_json'; } } }
CONF
cat >"$work/nginx/peer.conf" <<CONF
worker_processes 1; daemon off; pid $work/nginx/peer.pid; error_log $work/nginx/logs/peer.log;
events { worker_connections 4096; }
http { access_log off;
  upstream vendor { server 127.0.0.1:$upstream_port; keepalive 64; }
  server { listen 127.0.0.1:$nginx_port; keepalive_requests 1000000;
    location /healthz { default_type application/json; return 200 '{"status":"ok"}'; } }
  server { listen 127.0.0.1:$nginx_proxy_port; keepalive_requests 1000000;
    location / { proxy_pass http://vendor; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend peer
  bind 127.0.0.1:$haproxy_port
  default_backend vendor
backend vendor
  server upstream 127.0.0.1:$upstream_port
CONF

pin 0 nginx -p "$work/nginx" -c "$work/nginx/upstream.conf" & pids+=($!)
pin 1 nginx -p "$work/nginx" -c "$work/nginx/peer.conf" & pids+=($!)
wait_port "$upstream_port"; wait_port "$nginx_port"

# The proxy case: a plain-REST vendor "bench" whose upstream is the nginx `return 200` server.
mkdir -p "$work/mappings"
cat >"$work/mappings/bench.json" <<JSON
{ "baseUrl": "http://127.0.0.1:$upstream_port", "auth": { "scheme": "none" },
  "fields": { "name": { "to": "/name" }, "goalQuantity": { "to": "/goalQuantity" } },
  "calls": [ { "name": "update", "method": "PUT", "path": "/api/jobs/{id}" } ],
  "response": { "id": "/id", "createdAt": { "from": "/createdAt" }, "updatedAt": { "from": "/updatedAt" } } }
JSON

jobgate_port=$(free_port)
pin 1 "$JOBGATE" serve --listen "127.0.0.1:$jobgate_port" --threads 1 --log-level warn --mappings "$work/mappings" & jobgate_pid=$!; pids+=($jobgate_pid)
wait_port "$jobgate_port"
sleep 0.5
idle_rss=$(rss_kib "$jobgate_pid")

cat >"$work/patch.lua" <<'LUA'
wrk.method = "PATCH"
wrk.body = '{"name":"JOB-2024-001-REV2","goalQuantity":75}'
wrk.headers["Content-Type"] = "application/json"
LUA

# One wrk run: prints "req/s p50_ms p99_ms".
measure() {
  local url="$1" script="${2:-}"
  local args=(-t2 -c"$CONNECTIONS" -d"$DURATION" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  pin 0 wrk "${args[@]}" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return substr(v,1,length(v)-2)/1000; if (v ~ /ms$/) return substr(v,1,length(v)-2)+0; if (v ~ /s$/) return substr(v,1,length(v)-1)*1000; return v }
    /Requests\/sec/ {rps=$2} /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)}
    END {printf "%.0f %.3f %.3f\n", rps, p50, p99}'
}

declare -A results
run_case() { # name url [script]
  local line; line=$(measure "$2" "${3:-}"); results[$1]+="$line"$'\n'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column_median() { printf '%s' "${results[$1]}" | awk -v c="$2" 'NF {print $c}' | median; }

cases=()
if [ "$mode" = health ] || [ "$mode" = all ]; then
  cases+=("nginx GET /healthz|http://127.0.0.1:$nginx_port/healthz|" "jobgate GET /healthz|http://127.0.0.1:$jobgate_port/healthz|")
fi
if [ "$mode" = proxy ] || [ "$mode" = all ]; then
  pin 1 haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 & pids+=($!)
  wait_port "$haproxy_port"
  cases+=("direct upstream PATCH|http://127.0.0.1:$upstream_port/jobs/x|$work/patch.lua"
          "nginx proxy_pass PATCH|http://127.0.0.1:$nginx_proxy_port/api/jobs/x|$work/patch.lua"
          "haproxy PATCH|http://127.0.0.1:$haproxy_port/api/jobs/x|$work/patch.lua")
  cases+=("jobgate PATCH /jobs/{id}|http://127.0.0.1:$jobgate_port/jobs/bench:job_abc123|$work/patch.lua")
fi

for round in $(seq "$ROUNDS"); do
  for entry in "${cases[@]}"; do
    IFS='|' read -r name url script <<<"$entry"
    run_case "$name" "$url" "$script"
  done
done

echo
echo "wrk -t2 -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds, medians; servers pinned to core 1, wrk to core 0"
printf '| %-28s | %10s | %8s | %8s |\n' target "req/s" "p50 ms" "p99 ms"
printf '|%s|%s|%s|%s|\n' "------------------------------" "------------" "----------" "----------"
for entry in "${cases[@]}"; do
  IFS='|' read -r name _ _ <<<"$entry"
  printf '| %-28s | %10s | %8s | %8s |\n' "$name" "$(column_median "$name" 1)" "$(column_median "$name" 2)" "$(column_median "$name" 3)"
done
if [ -n "${results[jobgate GET /healthz]:-}" ]; then
  ratio=$(awk -v a="$(column_median 'jobgate GET /healthz' 1)" -v b="$(column_median 'nginx GET /healthz' 1)" 'BEGIN {printf "%.2f", a/b}')
  echo "jobgate/nginx requests/s on /healthz: ${ratio}x"
fi
if [ -n "${results[jobgate PATCH /jobs/{id}]:-}" ]; then
  ratio=$(awk -v a="$(column_median 'jobgate PATCH /jobs/{id}' 1)" -v b="$(column_median 'nginx proxy_pass PATCH' 1)" 'BEGIN {printf "%.2f", a/b}')
  echo "jobgate/nginx requests/s proxying PATCH: ${ratio}x"
  for peer in 'nginx proxy_pass PATCH' 'haproxy PATCH' 'jobgate PATCH /jobs/{id}'; do
    awk -v n="$peer" -v a="$(column_median "$peer" 2)" -v d="$(column_median 'direct upstream PATCH' 2)" 'BEGIN {printf "added p50 over direct, %s: %.3f ms\n", n, a-d}'
  done
fi
echo "jobgate RSS: idle $((idle_rss / 1024)) MiB ($idle_rss KiB), after load $(( $(rss_kib "$jobgate_pid") / 1024 )) MiB"
