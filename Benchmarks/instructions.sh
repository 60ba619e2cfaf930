#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: deterministic, so it shows what a change costs
# without the machine's drift. The release gateway runs under valgrind with a plain-REST vendor ("bench",
# PUT) whose upstream is nginx answering a 330-byte job; a keep-alive client sends N PATCHes. Two runs (few
# and many requests) are subtracted, so start-up and shutdown cancel out.
#
#   Benchmarks/instructions.sh [requests]     (default 2000)
#   KEEP_PROFILE=dir Benchmarks/instructions.sh   also keeps both callgrind files in dir, for callgrind_annotate
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-2000}"
source Benchmarks/common.sh

command -v valgrind >/dev/null && command -v nginx >/dev/null || scripts/install-deps bench
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

# One gateway under callgrind for `count` requests; prints its total instruction count.
count_instructions() {
    local count="$1" port out
    port=$(free_port)
    out="$work/callgrind.$count"
    JOBGATE_LOG_LEVEL=error valgrind --tool=callgrind --callgrind-out-file="$out" \
        .build/release/jobgate serve --listen "127.0.0.1:$port" --mappings "$work/mappings" --threads 1 \
        >/dev/null 2>"$work/valgrind.$count.log" &
    local pid=$!
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
    kill -TERM "$pid"; wait "$pid" || true
    awk '/^summary:/ {print $2}' "$out"
}

few=$(count_instructions 200)
many=$(count_instructions $((requests + 200)))
if [ -n "${KEEP_PROFILE:-}" ]; then mkdir -p "$KEEP_PROFILE" && cp "$work"/callgrind.* "$KEEP_PROFILE"/; fi
echo "instructions per proxied request: $(( (many - few) / requests )) (callgrind, $requests keep-alive PATCHes, release build)"
