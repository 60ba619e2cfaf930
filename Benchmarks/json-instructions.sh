#!/usr/bin/env bash
# Instructions the JSON module costs for one proxied request's worth of work, counted by callgrind: parse the
# 330-byte vendor job and the 46-byte PATCH body, serialize the canonical job and the vendor's PUT body. The
# module is compiled on its own (optimized, whole-module, as a release build does) and driven by a small
# program; two runs (few and many rounds) are subtracted so start-up cancels out. Much quicker to iterate on
# than Benchmarks/instructions.sh, which measures the whole gateway.
#
#   Benchmarks/json-instructions.sh [rounds]     (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swiftc -O -g -wmo -parse-as-library -module-name JobGateJSON -emit-module -emit-module-path "$work/JobGateJSON.swiftmodule" \
    -emit-library -static -o "$work/libJobGateJSON.a" Sources/JobGateJSON/*.swift
cat >"$work/main.swift" <<'SWIFT'
import JobGateJSON

let vendorBody = Array(#"{"id":"job_abc123","name":"JOB-2024-001-REV2","goalQuantity":75,"jiraTicketKey":"PI-42","jiraTicketSummary":"Build 50 aluminum housings","jiraPartNumber":"ALU-HOUSING-7075","jiraPriority":"High","jiraEpicLink":"PI-10","jiraLabels":["Q1-2024","rush"],"createdAt":"2024-01-15T10:30:00.000Z","updatedAt":"2024-01-20T16:45:00.000Z"}"#.utf8)
let requestBody = Array(#"{"name":"JOB-2024-001-REV2","goalQuantity":75}"#.utf8)

@inline(never) func oneRequest() -> Int {
    guard case .object(let vendor)? = try? JSON.parse(vendorBody),
          case .object(let patch)? = try? JSON.parse(requestBody) else { fatalError("bench bodies must parse") }
    // The canonical job as the normalizer builds it: fixed members first, the rest under vendorData.
    var job = JSONObject(reservingCapacity: 16)
    job.appendUnchecked("id", .string("bench:job_abc123"))
    job.appendUnchecked("vendor", .string("bench"))
    job.appendUnchecked("vendorJobId", .string("job_abc123"))
    var vendorData = JSONObject()
    for (key, value) in vendor {
        if key == "name" || key == "goalQuantity" { job.appendUnchecked(key, value) } else if key != "id" { vendorData[key] = value }
    }
    job.appendUnchecked("vendorData", .object(vendorData))
    return JSON.serialize(.object(job)).count + JSON.serialize(.object(patch)).count
}

let rounds = Int(CommandLine.arguments[1]) ?? 0
var total = 0
for _ in 0..<rounds { total &+= oneRequest() }
print(total)
SWIFT
swiftc -O -I "$work" -o "$work/bench" "$work/main.swift" "$work/libJobGateJSON.a"

count() {
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$1" "$work/bench" "$1" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$work/callgrind.$1"
}
few=$(count 200)
many=$(count $((rounds + 200)))
echo "JSON instructions per request: $(( (many - few) / rounds )) (callgrind, $rounds rounds)"
if [ -n "${KEEP_CALLGRIND:-}" ]; then cp "$work"/callgrind.* "$KEEP_CALLGRIND"/; fi
