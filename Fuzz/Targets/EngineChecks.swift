// Invariants of the mapping engine shared by the patch, mapping and normalizer targets.
#if canImport(Glibc)
import Glibc
#endif
@testable import JobGate
@testable import JobGateCore
import JobGateJSON
import JobGateUpstream

/// The repository's mappings (Fuzz/run runs from the repository root; JOBGATE_FUZZ_MAPPINGS overrides).
let shippedMappings: [VendorMapping] = {
    let directory = getenv("JOBGATE_FUZZ_MAPPINGS").map { String(cString: $0) } ?? "Mappings"
    switch MappingFolder.load(directory: directory, environment: fuzzEnvironment) {
    case .success(let set):
        require(!set.vendors.isEmpty, "no mappings in \(directory)")
        return set.vendors.keys.sorted().compactMap { set.vendors[$0] }
    case .failure(let issues):
        require(false, "the mappings in \(directory) do not load: \(issues.issues)")
        return []
    }
}()

let shippedRedactor = Redactor(shippedMappings.flatMap(\.secrets))

/// The secret values of `fuzzEnvironment`, which must never reach a problem.
let canaries: [String] = shippedMappings.flatMap(\.secrets).map(\.exposedValue).filter { $0.count >= 4 }

/// Serializing a value and parsing it back gives the same value, and serializing that gives the same bytes.
func checkJSONRoundTrip(_ value: JSONValue, _ what: String) {
    let bytes = JSON.serialize(value)
    let again: JSONValue
    do {
        again = try JSON.parse(bytes, limits: JSONLimits(maxDepth: 1024))
    } catch {
        require(false, "\(what): serialized JSON does not parse (\(error)): \(String(decoding: bytes, as: UTF8.self))")
        return
    }
    require(again == value, "\(what): JSON round trip changed the value: \(String(decoding: bytes, as: UTF8.self))")
    require(JSON.serialize(again) == bytes, "\(what): serialization is not stable")
}

/// Validation answers only with the body's own members, bounded names, and accepted values unchanged.
func checkValidation(_ result: Result<ValidatedPatch, FieldErrors>, body: JSONObject, mapping: VendorMapping) {
    switch result {
    case .success(let patch):
        for member in patch.members {
            switch member.field {
            case .canonical(let field):
                require(body[field.rawValue].map { sameValue($0, member.value) } == true, "validated \(field) differs from the body")
                require(mapping.fields[field] != nil, "validated \(field), which \(mapping.vendor) does not map")
            case .vendor(let name):
                require(body["vendorFields"]?.objectValue?[name].map { sameValue($0, member.value) } == true, "validated vendorFields.\(name) differs")
                require(mapping.vendorField(name) != nil, "validated unknown vendorFields.\(name)")
            }
        }
        checkJSONRoundTrip(.object(body), "validated patch")
    case .failure(let errors):
        require(!errors.isEmpty, "validation failed without errors")
        for entry in errors.entries {
            // Names echo the caller's keys, so they are bounded (64 characters, 80 for vendorFields.*).
            require(entry.field.count <= 80, "an error names an unbounded field: \(entry.field.count) characters")
            require(!entry.messages.isEmpty, "an error without a message")
            for message in entry.messages {
                require(message.count <= 2048, "an unbounded error message: \(message.count) characters")
            }
        }
        checkJSONRoundTrip(errors.json, "field errors")
    }
}

/// Validation keeps values as sent, except integers written with a zero fraction (`14.0`), which it sends plain.
func sameValue(_ sent: JSONValue, _ validated: JSONValue) -> Bool {
    if sent == validated { return true }
    guard let sentNumber = sent.numberValue?.exactSafeInteger, let plain = validated.numberValue else { return false }
    return plain.int64Value == sentNumber
}

/// The calls carry exactly the validated values, each where its mapping says, to a URL the id cannot reshape.
func checkPlan(_ calls: [PlannedCall], patch: ValidatedPatch, vendorJobID: String, mapping: VendorMapping) {
    let encodedID = Planner.percentEncoded(vendorJobID)
    require(encodedID.utf8.allSatisfy { isUnreserved($0) || $0 == 0x25 }, "an encoded id keeps a reserved character")
    require(percentDecoded(encodedID) == Array(vendorJobID.utf8), "percent-encoding the id loses information")
    var base = mapping.baseURL
    while base.hasSuffix("/") { base.removeLast() }
    require(calls.count <= mapping.calls.count, "more calls than templates")
    for call in calls {
        require(call.url.hasPrefix(base + "/"), "a call leaves the base URL: \(call.url)")
        require(!call.url.contains(where: { $0 == "\r" || $0 == "\n" || $0 == " " || $0 == "#" }),
                "a URL with a line break, space or fragment: \(call.url.debugDescription)")
        for header in call.headers {
            require(!header.value.hasLineBreakOrNUL, "header \(header.name) has a line break")
        }
        guard let template = mapping.calls.first(where: { $0.name == call.name && $0.method == call.method }) else {
            require(false, "a call \(call.name) without a template")
            return
        }
        require(call.url == base + template.pathParts.joined(separator: encodedID), "the URL is not the template's")
        let carried = patch.members.filter { template.fields?.contains($0.field) ?? true }
        require(call.fields == carried.map(\.field.description), "a call's fields are not the carried fields")
        if let body = call.body {
            checkJSONRoundTrip(body, "call body")
            if template.body == .object {
                for member in carried {
                    let pointer: JSONPointer? = switch member.field {
                    case .canonical(let field): mapping.fields[field]?.to
                    case .vendor(let name): mapping.vendorField(name)?.to
                    }
                    guard let pointer, !overlaps(pointer, in: carried, mapping) else { continue }
                    let expected = Planner.upstreamValue(member.field, member.value, mapping)
                    require(pointer.value(in: body) == expected,
                            "\(member.field) is not at \(pointer) in the body of \(call.name)")
                }
            }
        } else {
            require(template.body == .none || (template.body == .value && carried.isEmpty), "a body went missing")
        }
    }
}

/// Whether another carried field's pointer is a prefix of this one (or the same), so one may overwrite the other.
private func overlaps(_ pointer: JSONPointer, in carried: [(field: PatchField, value: JSONValue)], _ mapping: VendorMapping) -> Bool {
    var seen = 0
    for member in carried {
        let other: JSONPointer? = switch member.field {
        case .canonical(let field): mapping.fields[field]?.to
        case .vendor(let name): mapping.vendorField(name)?.to
        }
        guard let other else { continue }
        let shorter = min(other.tokens.count, pointer.tokens.count)
        if Array(other.tokens.prefix(shorter)) == Array(pointer.tokens.prefix(shorter)) { seen += 1 }
    }
    return seen > 1
}

private func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: true
    default: false
    }
}

private func percentDecoded(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let byte = iterator.next() {
        guard byte == 0x25, let high = iterator.next(), let low = iterator.next(),
              let h = CanonicalValidation.hexDigit(high), let l = CanonicalValidation.hexDigit(low) else {
            bytes.append(byte)
            continue
        }
        bytes.append(h << 4 | l)
    }
    return bytes
}

/// A normalized job names its vendor and id, carries only RFC 3339 timestamps it made itself, and round-trips.
func checkJob(_ job: JSONValue, source: JSONValue, vendorJobID: String, mapping: VendorMapping) {
    guard let object = job.objectValue else {
        require(false, "a job that is not an object")
        return
    }
    require(object["vendor"]?.stringValue == mapping.vendor, "job.vendor is not the mapping's vendor")
    guard let id = object["vendorJobId"]?.stringValue else {
        require(false, "job.vendorJobId is not a string")
        return
    }
    require(object["id"]?.stringValue == "\(mapping.vendor):\(id)", "job.id is not vendor:vendorJobId")
    require(object["vendorData"]?.objectValue != nil, "job.vendorData is not an object")
    for key in ["createdAt", "updatedAt"] {
        guard let value = object[key] else { continue }
        require(value.stringValue.flatMap(RFC3339.parse) != nil, "job.\(key) is not an RFC 3339 date-time: \(value)")
    }
    for field in CanonicalField.allCases where field.kind == .dateTime {
        guard let spec = mapping.fields[field], spec.format == .epoch || spec.format == .epochMillis,
              let value = object[field.rawValue], let original = spec.from.value(in: mapping.response.job.value(in: source) ?? .null),
              value != original else { continue }
        require(value.stringValue.flatMap(RFC3339.parse) != nil, "job.\(field) converted to a non-RFC 3339 value: \(value)")
    }
    checkJSONRoundTrip(job, "normalized job")
}

/// The problem for a vendor's error answer: a status from the table, a clamped Retry-After, no secret anywhere.
func checkProblem(_ problem: Problem, upstreamStatus: Int) {
    let allowed: Set<Int> = [403, 404, 409, 422, 429, 502, 503]
    require(allowed.contains(problem.status), "upstream \(upstreamStatus) became \(problem.status)")
    for header in problem.headers {
        require(!header.value.hasLineBreakOrNUL, "problem header \(header.name) has a line break")
        if header.name.lowercased() == "retry-after" {
            require(Int(header.value).map { UpstreamProblems.retryAfterRange.contains($0) } ?? false,
                    "Retry-After \(header.value) is not clamped")
        }
    }
    let response = problem.response(instance: "/jobs/x", requestID: "fuzz")
    let text = response.body + Array(response.headers.map { "\($0.name): \($0.value)" }.joined().utf8)
    for canary in canaries {
        // Compared as bytes: a secret followed by a combining mark is still the secret on the wire.
        require(!containsBytes(text, Array(canary.utf8)), "a secret reached a problem: \(String(decoding: text, as: UTF8.self))")
    }
    if let body = try? JSON.parse(response.body) { checkJSONRoundTrip(body, "problem") } else {
        require(false, "a problem body is not JSON")
    }
}

func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
    for index in 0...(haystack.count - needle.count) where haystack[index] == first {
        if haystack[index..<index + needle.count].elementsEqual(needle) { return true }
    }
    return false
}
