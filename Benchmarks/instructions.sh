#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: deterministic, so it shows what a change costs
# without the machine's drift. The release gateway runs under valgrind with a plain-REST vendor ("bench",
# PUT) whose upstream is nginx answering a 330-byte job; a keep-alive client sends N PATCHes. Two runs (few
# and many requests) are subtracted, so start-up and shutdown cancel out. The translating peer (nginx + njs,
# as `run.sh` runs it) is counted the same way, for the same requests: instructions in user space only (the
# kernel's share, about a third of either server's CPU, is not in these counts).
#
#   Benchmarks/instructions.sh [requests]     (default 2000)
#   KEEP_PROFILE=dir Benchmarks/instructions.sh   also keeps the callgrind files in dir, for callgrind_annotate
#     (jobgate's as callgrind.200 and callgrind.<requests+200>, the peer's as njs-callgrind.*)
#   PEER= Benchmarks/instructions.sh              jobgate alone
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-2000}"
source Benchmarks/common.sh

PEER="${PEER-njs}"
command -v valgrind >/dev/null && command -v nginx >/dev/null && [ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] \
  || scripts/install-deps bench
swift build -c release --product jobgate >/dev/null

upstream_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/mappings"
cat >"$work/nginx/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $work/nginx/upstream.pid; error_log $work/nginx/logs/upstream.log;
events { worker_connections 1024; }
http { access_log off;
  server { listen 127.0.0.1:$upstream_port; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$job_json'; } } }
CONF
nginx -p "$work/nginx" -c "$work/nginx/upstream.conf" & pids+=($!)
cat >"$work/mappings/bench.json" <<JSON
{ "baseUrl": "http://127.0.0.1:$upstream_port", "auth": { "scheme": "none" },
  "fields": { "name": { "to": "/name" }, "goalQuantity": { "to": "/goalQuantity" } },
  "calls": [ { "name": "update", "method": "PUT", "path": "/api/jobs/{id}" } ],
  "response": { "job": "", "id": "/id" } }
JSON

# One server (`jobgate` or `njs`) under callgrind for `count` requests; prints its total instruction count.
count_instructions() {
    local name="$1" count="$2" port out pid
    port=$(free_port)
    out="$work/callgrind.$name.$count"
    if [ "$name" = jobgate ]; then
        JOBGATE_LOG_LEVEL=error valgrind --tool=callgrind --callgrind-out-file="$out" \
            .build/release/jobgate serve --listen "127.0.0.1:$port" --mappings "$work/mappings" --threads 1 \
            >/dev/null 2>"$work/valgrind.$name.$count.log" &
    else
        njs_peer_config "$work/nginx/njs$count.conf" "$port" "$upstream_port"
        valgrind --tool=callgrind --callgrind-out-file="$out" nginx -p "$work/nginx" -c "$work/nginx/njs$count.conf" \
            >/dev/null 2>"$work/valgrind.$name.$count.log" &
    fi
    pid=$!
    python3 - "$port" "$count" <<'PY'
import http.client, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 60
while True:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/healthz"); conn.getresponse().read(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.2)
body = b'{"name":"JOB-2024-001-REV2","goalQuantity":75}'
for _ in range(count):
    conn.request("PATCH", "/jobs/bench:job_abc123", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse(); response.read()
    assert response.status == 200, response.status
PY
    # QUIT: nginx's graceful exit (both exit normally, so callgrind writes its file).
    kill -"$([ "$name" = jobgate ] && echo TERM || echo QUIT)" "$pid"; wait "$pid" || true
    awk '/^summary:/ {print $2}' "$out"
}

few=$(count_instructions jobgate 200)
many=$(count_instructions jobgate $((requests + 200)))
ours=$(( (many - few) / requests ))
echo "instructions per proxied request: $ours (callgrind, $requests keep-alive PATCHes, release build)"
if [ "$PEER" = njs ]; then
    few=$(count_instructions njs 200)
    many=$(count_instructions njs $((requests + 200)))
    peer=$(( (many - few) / requests ))
    echo "nginx + njs, the same requests: $peer; jobgate/njs: $(awk -v a="$ours" -v b="$peer" 'BEGIN {printf "%.2f", a/b}')x"
fi
if [ -n "${KEEP_PROFILE:-}" ]; then
    mkdir -p "$KEEP_PROFILE"
    for file in "$work"/callgrind.jobgate.*; do cp "$file" "$KEEP_PROFILE/callgrind.${file##*.}"; done
    for file in "$work"/callgrind.njs.*; do
        if [ -e "$file" ]; then cp "$file" "$KEEP_PROFILE/njs-callgrind.${file##*.}"; fi
    done
fi
