// Fuzz target: vendor answers → Normalizer (job on success, problem summary on error), for each shipped mapping.
//
// Input: one selector byte (vendor = selector % vendors, in name order), then an upstream answer written as
// "NNN\n" (status), "Name: value\n" header lines, a blank line, and the body; without the "NNN\n" prefix the
// whole payload is the body and the status comes from the selector. Invariants: a normalized job names its
// vendor and id, its timestamps are RFC 3339, it round-trips as JSON; a problem has a status from the table, a
// clamped Retry-After, no secret anywhere, and is exactly what it would be had every secret in the answer been
// replaced by "[redacted]" before we saw it (redaction does not depend on where truncation falls).
@testable import JobGate
@testable import JobGateCore
import JobGateJSON
import JobGateUpstream

private let statuses = [200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 302]

private func answer(_ selector: UInt8, _ payload: UnsafeBufferPointer<UInt8>) -> UpstreamResponse {
    let bytes = Array(payload)
    let digits = bytes.prefix(3)
    guard bytes.count >= 4, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), bytes[3] == 0x0A else {
        let status = statuses[Int(selector) / shippedMappings.count % statuses.count]
        return UpstreamResponse(status: status, body: bytes)
    }
    let status = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    var headers: [(name: String, value: String)] = []
    var index = 4
    while index < bytes.count {
        let end = bytes[index...].firstIndex(of: 0x0A) ?? bytes.count
        let line = bytes[index..<end]
        index = end + 1
        if line.isEmpty { break }
        let colon = line.firstIndex(of: 0x3A) ?? line.endIndex
        let value = line[colon...].dropFirst().drop { $0 == 0x20 }
        headers.append((name: String(decoding: line[..<colon], as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
    }
    return UpstreamResponse(status: status, headers: headers, body: index < bytes.count ? Array(bytes[index...]) : [])
}

private func redacted(_ bytes: [UInt8]) -> [UInt8] {
    var result = bytes
    for canary in canaries.sorted(by: { $0.count > $1.count }) {
        let needle = Array(canary.utf8)
        var output: [UInt8] = []
        var index = 0
        while index < result.count {
            if result[index] == needle[0] && result.count - index >= needle.count
                && result[index..<index + needle.count].elementsEqual(needle) {
                output += Array(Secret.redacted.utf8)
                index += needle.count
            } else {
                output.append(result[index])
                index += 1
            }
        }
        result = output
    }
    return result
}

private func problemText(_ response: UpstreamResponse, _ mapping: VendorMapping) -> (Problem, [UInt8]) {
    let summary = Normalizer.summarize(response, mapping: mapping, redactor: shippedRedactor, now: 1_800_000_000)
    let problem = UpstreamProblems.problem(for: summary, vendor: mapping.vendor)
    let http = problem.response(instance: "/jobs/x", requestID: "fuzz")
    return (problem, http.body + Array(http.headers.map { "\($0.name): \($0.value)\n" }.joined().utf8))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNormalizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let (selector, payload) = selectorAndPayload(data, size) else { return 0 }
    let mapping = shippedMappings[Int(selector) % shippedMappings.count]
    let response = answer(selector, payload)

    let limits = JSONLimits(maxDepth: 64)
    let members = Result { () throws(JSONParseError) in try JSON.parseObjectMembers(response.body, limits: limits) }
    if let body = try? JSON.parse(response.body, limits: limits) {
        checkJSONRoundTrip(body, "upstream body")
        let job = Normalizer.job(from: body, vendorJobID: "1001", mapping: mapping)
        if let job {
            checkJob(job, source: body, vendorJobID: "1001", mapping: mapping)
        }
        // The answer written straight from the members is the answer the tree gives, byte for byte.
        if case .success(let object?) = members {
            require(object.json == body, "members read differently from the tree")
            if let direct = Normalizer.jobBytes(from: object, vendorJobID: "1001", mapping: mapping) {
                require(job.map(JSON.serialize) == direct, """
                    direct job differs:
                      direct \(String(decoding: direct, as: UTF8.self))
                      tree   \(job.map { String(decoding: JSON.serialize($0), as: UTF8.self) } ?? "nil")
                    """)
            }
        } else {
            require(body.objectValue == nil, "an object the member reader did not read")
        }
    } else {
        require((try? members.get()) == nil, "members read from a body the parser refuses")
    }

    let (problem, text) = problemText(response, mapping)
    checkProblem(problem, upstreamStatus: response.status)
    var scrubbed = response
    scrubbed.body = redacted(response.body)
    scrubbed.headers = response.headers.map { (name: $0.name, value: String(decoding: redacted(Array($0.value.utf8)), as: UTF8.self)) }
    let (_, expected) = problemText(scrubbed, mapping)
    require(text == expected, """
        redaction depends on the input's shape:
          got      \(String(decoding: text, as: UTF8.self))
          expected \(String(decoding: expected, as: UTF8.self))
        """)
    return 0
}
