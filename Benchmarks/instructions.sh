#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: deterministic, so it shows what a change costs
# without the machine's drift. The release gateway runs under valgrind with a plain-REST vendor ("bench",
# PUT) whose upstream is nginx answering a 330-byte job; a keep-alive client sends N PATCHes. Two runs (few
# and many requests) are subtracted, so start-up and shutdown cancel out. The translating peer (nginx + njs,
# as `run.sh` runs it) is counted the same way, for the same requests: instructions in user space only (the
# kernel's share, about a third of either server's CPU, is not in these counts). It also prints jobgate's calls per
# request to the Swift runtime's retain, release and allocation, and to malloc.
#
#   Benchmarks/instructions.sh [requests]     (default 2000)
#   KEEP_PROFILE=dir Benchmarks/instructions.sh   also keeps the callgrind files in dir, for callgrind_annotate
#     (jobgate's as callgrind.200 and callgrind.<requests+200>, or .3 and .9 with CONCURRENT; the peer's as njs-callgrind.*)
#   PEER= Benchmarks/instructions.sh              jobgate alone
#   CONCURRENT=64 Benchmarks/instructions.sh      under wrk -c64 instead (a 3 s run subtracted from a 9 s one, per
#     request wrk completed): what concurrency changes, such as an allocator's cache missing with 64 requests in
#     flight, which one keep-alive client never shows
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

# One server (`jobgate` or `njs`) under callgrind for `count` requests (seconds of wrk load with CONCURRENT);
# prints its total instruction count and the requests it answered.
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
    # The keep-alive client sends `count` PATCHes; with CONCURRENT it only waits for the server, and wrk loads it.
    python3 - "$port" "$([ -n "${CONCURRENT:-}" ] && echo 0 || echo "$count")" <<'PY'
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
    local answered="$count"
    if [ -n "${CONCURRENT:-}" ]; then
        answered=$(pin 0 wrk -t2 -c"$CONCURRENT" -d"${count}s" -s "$work/patch.lua" "http://127.0.0.1:$port/jobs/bench:job_abc123" \
            | awk '/requests in/ {print $1} /Non-2xx/ {print "error: " $0 >"/dev/stderr"}')
    fi
    # QUIT: nginx's graceful exit (both exit normally, so callgrind writes its file).
    kill -"$([ "$name" = jobgate ] && echo TERM || echo QUIT)" "$pid"; wait "$pid" || true
    echo "$(awk '/^summary:/ {print $2}' "$out") $answered"
}

if [ -n "${CONCURRENT:-}" ]; then
    command -v wrk >/dev/null || scripts/install-deps bench
    write_patch_script
    few_count=3 many_count=9
else
    few_count=200 many_count=$((requests + 200))
fi
read -r few few_answered <<<"$(count_instructions jobgate "$few_count")"
read -r many many_answered <<<"$(count_instructions jobgate "$many_count")"
requests=$((many_answered - few_answered))
ours=$(( (many - few) / requests ))
if [ -n "${CONCURRENT:-}" ]; then
    echo "instructions per proxied request: $ours (callgrind, wrk -c$CONCURRENT: $few_answered and $many_answered PATCHes, release build)"
else
    echo "instructions per proxied request: $ours (callgrind, $requests keep-alive PATCHes, release build)"
fi
# Calls per request into the Swift runtime's reference counting and allocation, and to malloc (libcurl's too), by
# the same subtraction: each retain or release of an object that is not immortal is an atomic read-modify-write,
# which costs far more cycles than its one counted instruction says.
python3 - "$work/callgrind.jobgate.$few_count" "$work/callgrind.jobgate.$many_count" "$requests" <<'PY'
import collections, re, subprocess, sys
names = ["swift_retain", "swift_release", "swift_bridgeObjectRetain", "swift_bridgeObjectRelease", "swift_allocObject", "malloc"]
def calls(path):
    tree = subprocess.run(["callgrind_annotate", "--tree=caller", "--threshold=100", "--auto=no", path],
                          capture_output=True, text=True).stdout
    counts, callers = collections.Counter(), []
    for line in tree.splitlines():
        caller = re.match(r"\s*[\d,]+\s+\([^)]*\)\s+<\s+.*\(([\d,]+)x\)", line)
        if caller:
            callers.append(int(caller.group(1).replace(",", "")))
            continue
        function = re.match(r"\s*[\d,]+\s+\([^)]*\)\s+\*\s+\S*?:?(\w+) ", line)
        if function and function.group(1) in names:
            counts[function.group(1)] += sum(callers)
        callers = []
    return counts
few, many, requests = calls(sys.argv[1]), calls(sys.argv[2]), int(sys.argv[3])
per = {name: (many[name] - few[name]) / requests for name in names}
print("per request: %.0f retains and %.0f releases (%.0f and %.0f of them of strings and arrays), %.0f Swift allocations, "
      "%.0f mallocs" % tuple(per[name] for name in names))
PY
# Whose instructions they are. libcurl's: its own code, and the libc and allocator calls it makes (its request
# head printed a byte at a time, its sscanf of the status line, its strdups). jobgate's: everything else (our code,
# the Swift runtime, the libc and allocator calls we make, and our callbacks libcurl calls). Counted from
# callgrind's call records: a call's inclusive cost goes to libcurl when the caller is in libcurl and the callee
# is not ours (the Swift runtime and jobgate are ours).
python3 - "$work/callgrind.jobgate.$few_count" "$work/callgrind.jobgate.$many_count" "$requests" <<'PY'
import collections, re, sys
def split(path):
    objects, functions, object_of = {}, {}, {}
    current_object = function = callee = callee_object = None
    in_call = False
    own, curl, curl_calls_out = 0, 0, 0
    for line in open(path):
        spec = re.match(r"^(ob|cob|fn|cfn)=(?:\((\d+)\))?\s*(.*)$", line.rstrip("\n"))
        if spec:
            kind, number, name = spec.groups()
            table = objects if kind in ("ob", "cob") else functions
            if number and name: table[number] = name
            elif number: name = table[number]
            if kind == "ob": current_object = name
            elif kind == "cob": callee_object = name
            elif kind == "fn": function = name; object_of[function] = current_object; callee_object = current_object
            else: callee = name
            continue
        if line.startswith("calls="):
            in_call = True
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) < 2: continue
            cost = int(fields[1])
            caller_in_curl = "libcurl" in (object_of.get(function) or "")
            if in_call:
                ours = any(mark in (callee_object or "") for mark in ("jobgate", "libswift"))
                if caller_in_curl and "libcurl" not in (callee_object or "") and not ours:
                    curl_calls_out += cost
                in_call = False
                callee_object = current_object
            elif caller_in_curl:
                curl += cost
            else:
                own += cost
    return own + curl, curl, curl_calls_out
few, many, requests = split(sys.argv[1]), split(sys.argv[2]), int(sys.argv[3])
total, curl, curl_out = ((b - a) / requests for a, b in zip(few, many))
print("of which libcurl: %.0f (%.0f its own code, %.0f the libc and allocator calls it makes); jobgate's own: %.0f"
      % (curl + curl_out, curl, curl_out, total - curl - curl_out))
PY
if [ "$PEER" = njs ]; then
    read -r few few_answered <<<"$(count_instructions njs "$few_count")"
    read -r many many_answered <<<"$(count_instructions njs "$many_count")"
    peer=$(( (many - few) / (many_answered - few_answered) ))
    echo "nginx + njs, the same requests: $peer; jobgate/njs: $(awk -v a="$ours" -v b="$peer" 'BEGIN {printf "%.2f", a/b}')x"
fi
if [ -n "${KEEP_PROFILE:-}" ]; then
    mkdir -p "$KEEP_PROFILE"
    for file in "$work"/callgrind.jobgate.*; do cp "$file" "$KEEP_PROFILE/callgrind.${file##*.}"; done
    for file in "$work"/callgrind.njs.*; do
        if [ -e "$file" ]; then cp "$file" "$KEEP_PROFILE/njs-callgrind.${file##*.}"; fi
    done
fi
