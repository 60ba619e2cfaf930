#!/usr/bin/env bash
# Instructions the JSON module costs for one proxied request's worth of work, counted by callgrind: parse the
# 330-byte vendor job and the 46-byte PATCH body, serialize the canonical job and the vendor's PUT body; and
# the way the gateway answers now, reading the vendor job as members and writing the job straight from them. The
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

// Each phase in a function of its own, so callgrind can tell what each costs.
@inline(never) func parseVendorBody() -> JSONObject {
    guard case .object(let vendor)? = try? JSON.parse(vendorBody) else { fatalError("the vendor body must parse") }
    return vendor
}

@inline(never) func parseRequestBody() -> JSONObject {
    guard case .object(let patch)? = try? JSON.parse(requestBody) else { fatalError("the request body must parse") }
    return patch
}

/// The canonical job as the normalizer builds it (not the JSON module's cost, but shown): fixed members first, the rest under vendorData.
@inline(never) func canonicalJob(_ vendor: JSONObject) -> JSONValue {
    var job = JSONObject(reservingCapacity: 16)
    job.appendUnchecked("id", .string("bench:job_abc123"))
    job.appendUnchecked("vendor", .string("bench"))
    job.appendUnchecked("vendorJobId", .string("job_abc123"))
    var vendorData = JSONObject(reservingCapacity: 16)
    for (key, value) in vendor {
        if key == "name" || key == "goalQuantity" { job.appendUnchecked(key, value) } else if key != "id" { vendorData.appendUnchecked(key, value) }
    }
    job.appendUnchecked("vendorData", .object(vendorData))
    return .object(job)
}

@inline(never) func serializeJob(_ job: JSONValue) -> Int { JSON.serialize(job).count }
@inline(never) func serializeVendorPut(_ patch: JSONObject) -> Int { JSON.serialize(.object(patch)).count }
@inline(never) func free(_ values: inout [JSONValue]) { values.removeAll() }

@inline(never) func readVendorMembers() -> JSONRawObject {
    guard let members = try? JSON.parseObjectMembers(vendorBody) else { fatalError("the vendor body must parse") }
    return members
}

/// What the normalizer writes for a mapping that reads name and goalQuantity, from those members.
@inline(never) func writeJobFromMembers(_ vendor: JSONRawObject) -> Int {
    var writer = JSONObjectWriter()
    writer.member("id", .string("bench:job_abc123"))
    writer.member("vendor", .string("bench"))
    writer.member("vendorJobId", .string("job_abc123"))
    for member in vendor.members where member.key == "name" || member.key == "goalQuantity" {
        writer.member(member.key, member, of: vendor)
    }
    writer.beginObject("vendorData")
    for member in vendor.members where member.key != "id" && member.key != "name" && member.key != "goalQuantity" {
        writer.member(member, of: vendor)
    }
    writer.endObject()
    return writer.finish().count
}

@inline(never) func directAnswer() -> Int {
    writeJobFromMembers(readVendorMembers())
}

@inline(never) func oneRequest() -> Int {
    let vendor = parseVendorBody()
    let patch = parseRequestBody()
    let job = canonicalJob(vendor)
    let bytes = serializeJob(job) + serializeVendorPut(patch)
    var parsed: [JSONValue] = [.object(vendor), .object(patch), job]
    free(&parsed)
    return bytes + directAnswer()
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
echo "JSON instructions per request: $(( (many - few) / rounds )) (callgrind, $rounds rounds), of which:"
# Inclusive count of each phase function; callgrind_annotate lists the largest first.
phases() {
    callgrind_annotate --inclusive=yes --threshold=100 "$work/callgrind.$1" 2>/dev/null | awk '
        { gsub(",", "") }
        match($0, /\$s5bench[0-9]+/) {
            length_digits = substr($0, RSTART + 8, RLENGTH - 8)
            name = substr($0, RSTART + RLENGTH, length_digits + 0)
            if (name != "oneRequest" && !(name in seen)) { seen[name] = 1; print name, $1 }
        }' | sort
}
join <(phases 200) <(phases $((rounds + 200))) | awk -v rounds="$rounds" '{ printf "  %-20s %6d\n", $1, ($3 - $2) / rounds }'
if [ -n "${KEEP_CALLGRIND:-}" ]; then cp "$work"/callgrind.* "$KEEP_CALLGRIND"/; fi
