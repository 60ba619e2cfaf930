// Fuzz target: MappingReader on arbitrary mapping-file bytes, then the engine driven by whatever it accepts.
//
// Input: a whole mapping file (the vendor id is the file's own "vendor" string when there is one, else "fuzz").
// Invariants: a mapping is produced exactly when no error is reported, every issue points into the file, an
// accepted mapping has the shape the loader promises (http(s) base URL, headers without line breaks, calls with
// {id}, pointers that print and parse back), canned patches and vendor answers run through the engine keep
// the invariants of EngineChecks.swift, and its examples run without a crash, each difference inside /examples.
@testable import JobGate
@testable import JobGateCore
import JobGateJSON
import JobGateUpstream

// Built per input rather than held in globals: LeakSanitizer cannot follow the tagged pointers of indirect enum
// payloads, so a global JSONValue is reported as leaked at exit.
private var cannedPatches: [JSONObject] { [
    ["name": "Invoices", "description": "d", "reference": nil, "orderNumber": "PO-1", "goalQuantity": 5,
     "plannedDurationMinutes": 90, "dueAt": "2026-05-05T10:56:44.985Z",
     "contactPersonId": "3f0e1a2b-4c5d-6e7f-8091-a2b3c4d5e6f7", "customFields": ["7": "blue", "8": nil]],
    ["dueAt": "2026-05-05T10:56:44+02:00", "customFields": ["x": "y"]],
] }

private var cannedBodies: [JSONValue] { [
    ["id": 1001, "name": "n", "description": "d", "due": 1_700_000_000, "created_at": 1_700_000_000_123,
     "createdAt": "2026-01-01T00:00:00Z", "customFields": [["definitionId": 7, "value": "blue"]],
     "job": ["id": "7c1f", "name": "render", "config": ["taskTimeout": "30"]], "isProcessing": 0],
    ["errors": ["name": ["too long"], "$.goalQuantity": "must be positive"], "message": "name goalQuantity bad",
     "code": 9, "traceId": "t-1", "detail": "x"],
] }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMapping(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let declared = (try? JSON.parse(bytes))?.objectValue?["vendor"]?.stringValue
    let vendorID = declared ?? "fuzz"
    var reader = MappingReader(file: "\(vendorID).json", environment: fuzzEnvironment)
    let mapping = reader.read(bytes, vendorID: vendorID)
    let hasError = reader.issues.contains { $0.severity == .error }
    require((mapping == nil) == hasError, "a mapping was \(mapping == nil ? "refused without" : "accepted with") an error: \(reader.issues)")
    for issue in reader.issues {
        require(issue.path.isEmpty || issue.path.hasPrefix("/"), "an issue path that is not a pointer: \(issue.path)")
        require(!issue.message.isEmpty, "an issue without a message")
    }
    guard let mapping else { return 0 }
    checkMapping(mapping, vendorID: vendorID)
    for issue in ExampleRunner.issues(for: mapping, file: "\(vendorID).json") {
        require(issue.path.hasPrefix("/examples/") && issue.severity == .error, "an example difference outside /examples: \(issue)")
    }
    for patch in cannedPatches + mappingSpecificPatches(mapping) {
        let result = PatchValidator.validate(patch, mapping: mapping)
        checkValidation(result, body: patch, mapping: mapping)
        if case .success(let validated) = result {
            for id in ["1001", "../a?b#c d%2F"] {
                checkPlan(Planner.plan(validated, vendorJobID: id, mapping: mapping), patch: validated, vendorJobID: id, mapping: mapping)
            }
        }
    }
    let redactor = Redactor(mapping.secrets)
    for body in cannedBodies {
        if let job = Normalizer.job(from: body, vendorJobID: "1001", mapping: mapping) {
            checkJob(job, source: body, vendorJobID: "1001", mapping: mapping)
        }
        for status in [400, 429, 503] {
            let response = UpstreamResponse(status: status, headers: [(name: "Retry-After", value: "7")], body: JSON.serialize(body))
            let summary = Normalizer.summarize(response, mapping: mapping, redactor: redactor, now: 1_800_000_000)
            _ = UpstreamProblems.problem(for: summary, vendor: mapping.vendor).response(instance: "/jobs/x", requestID: "r")
        }
    }
    return 0
}

private func checkMapping(_ mapping: VendorMapping, vendorID: String) {
    require(mapping.vendor == vendorID, "vendor \(mapping.vendor) differs from the file's id \(vendorID)")
    let base = mapping.baseURL.lowercased()
    require(base.hasPrefix("https://") || base.hasPrefix("http://"), "base URL \(mapping.baseURL.debugDescription)")
    require(!mapping.baseURL.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" || $0 == "?" || $0 == "#" }),
            "base URL with a space, line break, query or fragment")
    for header in mapping.headers {
        require(!header.value.hasLineBreakOrNUL, "mapping header \(header.name) has a line break")
    }
    require(!mapping.calls.isEmpty, "a mapping without calls")
    for call in mapping.calls + [mapping.read].compactMap({ $0 }) {
        require(call.path.hasPrefix("/") && call.path.contains("{id}"), "call path \(call.path)")
        require(call.pathParts.count >= 2 && call.pathParts.joined(separator: "{id}") == call.path, "call path split")
        require(["GET", "PUT", "PATCH", "POST"].contains(call.method), "call method \(call.method)")
    }
    var pointers: [JSONPointer] = mapping.fields.values.flatMap { [$0.to, $0.from] }
    pointers += mapping.vendorFields.flatMap { [$0.mapping.to, $0.mapping.from] }
    pointers += [mapping.response.job, mapping.response.id, mapping.errors.message, mapping.errors.code,
                 mapping.errors.fieldErrors].compactMap { $0 }
    for pointer in pointers {
        require(JSONPointer(pointer.description) == pointer, "pointer \(pointer.tokens) does not print and parse back")
    }
}

/// One value per vendor field, of the field's type, so accepted mappings reach the planner with vendorFields.
private func mappingSpecificPatches(_ mapping: VendorMapping) -> [JSONObject] {
    var vendorFields = JSONObject()
    for (name, spec) in mapping.vendorFields {
        vendorFields[name] = switch spec.type {
        case .string, .nonEmptyString: "text"
        case .integer: 3
        case .boolean: true
        case .enum: spec.values.first.map { .string($0) } ?? nil
        case .object: .object(JSONObject(spec.keys.map { ($0, JSONValue("v")) }))
        case .any: ["a": [1, 2]]
        }
    }
    return vendorFields.isEmpty ? [] : [["vendorFields": .object(vendorFields), "name": "n"]]
}
