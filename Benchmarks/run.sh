#!/usr/bin/env bash
# Benchmarks jobgate against nginx on this machine, in one run, interleaved: nginx proxy_pass (a byte pipe), nginx
# + njs rewriting the JSON both ways (the translating peer), and jobgate with a PUT vendor and a PATCH vendor (not
# idempotent), plain and over TLS; then how many upstream connections 1,000 sequential writes open.
#
#   Benchmarks/run.sh [health|proxy|translate|all]     (default: all; translate: njs and jobgate's plain vendors only)
#
# Pinning follows the way we measured the peers on our build machines: wrk and the upstreams on core 0, the
# server under test on core 1, each server with one worker/loop, so the numbers compare one core against one
# core. CPU per request is the server's user + system time over the run divided by the requests wrk completed.
# Compare ratios, not absolute numbers: this machine drifts by 5-20% over minutes and is shared with other
# builds, and it swings within seconds too, so many short rounds give a steadier median than a few long ones.
# Environment knobs: ROUNDS (8), DURATION (3s), CONNECTIONS (64).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
ROUNDS="${ROUNDS:-8}"
DURATION="${DURATION:-3s}"
CONNECTIONS="${CONNECTIONS:-64}"
source Benchmarks/common.sh

[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] && command -v wrk >/dev/null && command -v openssl >/dev/null \
  || scripts/install-deps bench
swift build -c release --static-swift-stdlib --product jobgate >/dev/null
JOBGATE="${JOBGATE:-.build/release/jobgate}"

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# A throwaway certificate for the TLS upstream; jobgate trusts it through the mapping's `caFile`.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/upstream.key" \
  -out "$work/upstream.pem" -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null

# The upstream (core 0): nginx `return 200` with the job, plain and over TLS, and its connection counter. The TLS
# server offers HTTP/1.1 only, as the vendors' mappings use by default (`http2` is opt-in: nginx's `return`
# answers before reading the body and resets the stream, and this libcurl, 7.88.1, then loses about one answer
# in 200 under -c64 multiplexing, which would flatter the request rate with fast 502s). It offers TLS 1.3, as the
# vendors' APIs do: nginx 1.22 stops at 1.2 unless told, and libcurl never takes TLS 1.2 session tickets, so
# against it no connection could resume a session. It keeps idle connections 75 s (nginx's default). The peers
# (core 1, one process each): a `return 200` health server, proxy_pass, and njs.
nginx_port=$(free_port); upstream_port=$(free_port); tls_port=$(free_port); status_port=$(free_port)
nginx_proxy_port=$(free_port); njs_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $work/nginx/upstream.pid; error_log $work/nginx/logs/upstream.log;
events { worker_connections 4096; }
http { access_log off;
  server { listen 127.0.0.1:$upstream_port reuseport; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$job_json'; } }
  server { listen 127.0.0.1:$tls_port ssl; keepalive_requests 1000000; ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $work/upstream.pem; ssl_certificate_key $work/upstream.key;
    location / { default_type application/json; return 200 '$job_json'; } }
  server { listen 127.0.0.1:$status_port; location / { stub_status; } } }
CONF
cat >"$work/nginx/peer.conf" <<CONF
worker_processes 1; master_process off; daemon off; pid $work/nginx/peer.pid; error_log $work/nginx/logs/peer.log;
events { worker_connections 4096; }
http { access_log off;
  upstream vendor { server 127.0.0.1:$upstream_port; keepalive 64; }
  server { listen 127.0.0.1:$nginx_port; keepalive_requests 1000000;
    location /healthz { default_type application/json; return 200 '{"status":"ok"}'; } }
  server { listen 127.0.0.1:$nginx_proxy_port; keepalive_requests 1000000;
    location / { proxy_pass http://vendor; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
njs_peer_config "$work/nginx/njs.conf" "$njs_port" "$upstream_port"

pin 0 nginx -p "$work/nginx" -c "$work/nginx/upstream.conf" & pids+=($!)
pin 1 nginx -p "$work/nginx" -c "$work/nginx/peer.conf" & nginx_pid=$!; pids+=($nginx_pid)
pin 1 nginx -p "$work/nginx" -c "$work/nginx/njs.conf" & njs_pid=$!; pids+=($njs_pid)
wait_port "$upstream_port"; wait_port "$tls_port"; wait_port "$nginx_port"; wait_port "$njs_port"

# Four plain-REST vendors on that upstream: PUT (idempotent) and PATCH (not), plain and over TLS. Their mappings
# state the upstream's idle timeout as an operator would for a vendor whose timeout is known (`keepAliveSeconds`
# 60 against its 75 s); with the default 4 s, each case of a PATCH vendor (its calls not idempotent) would begin
# by opening its 64 connections again, the other cases having run in between, while the peer's upstream
# keepalive holds its connections 60 s (an idempotent call trusts a connection 60 s anyway).
mkdir -p "$work/mappings"
vendor() { # name method base-url [extra members]
  cat >"$work/mappings/$1.json" <<JSON
{ "baseUrl": "$3", "auth": { "scheme": "none" }, "keepAliveSeconds": 60${4:-},
  "fields": { "name": { "to": "/name" }, "goalQuantity": { "to": "/goalQuantity" } },
  "calls": [ { "name": "update", "method": "$2", "path": "/api/jobs/{id}" } ],
  "response": { "id": "/id", "createdAt": { "from": "/createdAt" }, "updatedAt": { "from": "/updatedAt" } } }
JSON
}
vendor put PUT "http://127.0.0.1:$upstream_port"
vendor patch PATCH "http://127.0.0.1:$upstream_port"
vendor put_tls PUT "https://127.0.0.1:$tls_port" ", \"caFile\": \"$work/upstream.pem\""
vendor patch_tls PATCH "https://127.0.0.1:$tls_port" ", \"caFile\": \"$work/upstream.pem\""

jobgate_port=$(free_port)
pin 1 "$JOBGATE" serve --listen "127.0.0.1:$jobgate_port" --threads 1 --log-level warn --mappings "$work/mappings" & jobgate_pid=$!; pids+=($jobgate_pid)
wait_port "$jobgate_port"
sleep 0.5
idle_rss=$(rss_kib "$jobgate_pid")

write_patch_script

# One wrk run against the server with process id `pid`: prints "req/s p50_ms p99_ms cpu_us_per_request".
measure() {
  local url="$1" script="$2" pid="$3"
  local args=(-t2 -c"$CONNECTIONS" -d"$DURATION" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  local ticks_before ticks_after output
  ticks_before=$(cpu_ticks "$pid")
  output=$(pin 0 wrk "${args[@]}" "$url")
  ticks_after=$(cpu_ticks "$pid")
  awk -v ticks=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" '
    function ms(v) { if (v ~ /us$/) return substr(v,1,length(v)-2)/1000; if (v ~ /ms$/) return substr(v,1,length(v)-2)+0; if (v ~ /s$/) return substr(v,1,length(v)-1)*1000; return v }
    /requests in/ {requests=$1} /Requests\/sec/ {rps=$2} /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)}
    /Non-2xx/ {print "warning: " $0 >"/dev/stderr"}
    END {printf "%.0f %.3f %.3f %.1f\n", rps, p50, p99, requests ? ticks / hz * 1e6 / requests : 0}' <<<"$output"
}

declare -A results
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column_median() { printf '%s' "${results[$1]}" | awk -v c="$2" 'NF {print $c}' | median; }

cases=()
if [ "$mode" = health ] || [ "$mode" = all ]; then
  cases+=("nginx GET /healthz|http://127.0.0.1:$nginx_port/healthz||$nginx_pid"
          "jobgate GET /healthz|http://127.0.0.1:$jobgate_port/healthz||$jobgate_pid")
fi
if [ "$mode" = proxy ] || [ "$mode" = all ]; then
  cases+=("nginx proxy_pass|http://127.0.0.1:$nginx_proxy_port/api/jobs/x|$work/patch.lua|$nginx_pid")
fi
if [ "$mode" = proxy ] || [ "$mode" = all ] || [ "$mode" = translate ]; then
  cases+=("nginx + njs translating|http://127.0.0.1:$njs_port/jobs/bench:job_abc123|$work/patch.lua|$njs_pid"
          "jobgate, PUT vendor|http://127.0.0.1:$jobgate_port/jobs/put:job_abc123|$work/patch.lua|$jobgate_pid"
          "jobgate, PATCH vendor|http://127.0.0.1:$jobgate_port/jobs/patch:job_abc123|$work/patch.lua|$jobgate_pid")
fi
if [ "$mode" = proxy ] || [ "$mode" = all ]; then
  cases+=("jobgate, PUT vendor, TLS|http://127.0.0.1:$jobgate_port/jobs/put_tls:job_abc123|$work/patch.lua|$jobgate_pid"
          "jobgate, PATCH vendor, TLS|http://127.0.0.1:$jobgate_port/jobs/patch_tls:job_abc123|$work/patch.lua|$jobgate_pid")
fi

for round in $(seq "$ROUNDS"); do
  for entry in "${cases[@]}"; do
    IFS='|' read -r name url script pid <<<"$entry"
    results[$name]+="$(measure "$url" "$script" "$pid")"$'\n'
  done
done

echo
echo "wrk -t2 -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds, medians; servers pinned to core 1, wrk and upstream to core 0"
printf '| %-28s | %10s | %8s | %8s | %12s |\n' target "req/s" "p50 ms" "p99 ms" "CPU µs/req"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------" "-----------:" "---------:" "---------:" "-------------:"
for entry in "${cases[@]}"; do
  IFS='|' read -r name _ _ _ <<<"$entry"
  printf '| %-28s | %10s | %8s | %8s | %12s |\n' "$name" "$(column_median "$name" 1)" "$(column_median "$name" 2)" \
    "$(column_median "$name" 3)" "$(column_median "$name" 4)"
done
ratio() { awk -v a="$(column_median "$1" "$3")" -v b="$(column_median "$2" "$3")" 'BEGIN {printf "%.2f", a/b}'; }
# Column `$3` of case `$1` over case `$2`, round by round: "median (lowest-highest)".
round_ratios() {
  paste <(printf '%s' "${results[$1]}" | awk -v c="$3" 'NF {print $c}') \
        <(printf '%s' "${results[$2]}" | awk -v c="$3" 'NF {print $c}') \
    | awk '$2 > 0 {printf "%.3f\n", $1 / $2}' | sort -n \
    | awk '{a[NR]=$1} END {printf "%.2fx (%.2f-%.2f)", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR]}'
}
if [ -n "${results[jobgate GET /healthz]:-}" ]; then
  echo "jobgate/nginx requests/s on /healthz: $(ratio 'jobgate GET /healthz' 'nginx GET /healthz' 1)x"
fi
if [ -n "${results[nginx + njs translating]:-}" ]; then
  for vendor in "PUT vendor" "PATCH vendor"; do
    echo "jobgate ($vendor)/nginx+njs: requests/s $(ratio "jobgate, $vendor" 'nginx + njs translating' 1)x," \
         "CPU per request $(ratio "jobgate, $vendor" 'nginx + njs translating' 4)x"
    if [ -n "${results[nginx proxy_pass]:-}" ]; then
      echo "jobgate ($vendor)/nginx proxy_pass: requests/s $(ratio "jobgate, $vendor" 'nginx proxy_pass' 1)x"
    fi
    echo "  the same ratio in each round (jobgate ran seconds after njs, so drift between rounds cancels):" \
         "requests/s $(round_ratios "jobgate, $vendor" 'nginx + njs translating' 1)," \
         "CPU per request $(round_ratios "jobgate, $vendor" 'nginx + njs translating' 4)"
  done
fi
if [ -n "${results[jobgate, PUT vendor, TLS]:-}" ]; then
  echo "over TLS, PATCH/PUT requests/s: $(ratio 'jobgate, PATCH vendor, TLS' 'jobgate, PUT vendor, TLS' 1)x"

  # Upstream connections that 1,000 sequential writes open (nginx's accepted-connections counter, before and
  # after; each reading of the counter is one connection of its own).
  for vendor in patch patch_tls; do
    accepted() { curl -s "http://127.0.0.1:$status_port/" | awk '/^ +[0-9]+ +[0-9]+ +[0-9]+/ {print $1}'; }
    before=$(accepted)
    python3 - "$jobgate_port" "$vendor" <<'PY'
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
for index in range(1000):
    conn.request("PATCH", "/jobs/%s:job_abc123" % sys.argv[2], body='{"name":"v%d"}' % index,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
    echo "upstream connections opened by 1,000 sequential writes ($vendor vendor): $(( $(accepted) - before - 1 ))"
  done
fi
echo "jobgate RSS: idle $((idle_rss / 1024)) MiB ($idle_rss KiB), after load $(( $(rss_kib "$jobgate_pid") / 1024 )) MiB"
