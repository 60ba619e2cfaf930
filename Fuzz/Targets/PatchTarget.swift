// Fuzz target: a caller's JSON merge patch → JSON parser → PatchValidator → Planner, against the shipped mappings.
//
// Input: one selector byte (vendor = selector % vendors, in name order), then the patch body; bytes after the
// first NUL, if any, are the vendor job id (default "1001"). Invariants: JSON round trip of everything parsed;
// validation keeps accepted values unchanged and only for fields the mapping knows, and its errors are bounded;
// every planned call goes to the base URL plus the template with the id percent-encoded, and carries each
// validated value at the pointer its mapping names (see EngineChecks.swift).
@testable import JobGate
@testable import JobGateCore
import JobGateJSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPatch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let (selector, payload) = selectorAndPayload(data, size) else { return 0 }
    let mapping = shippedMappings[Int(selector) % shippedMappings.count]
    let split = payload.firstIndex(of: 0) ?? payload.endIndex
    let body = UnsafeBufferPointer(rebasing: payload[..<split])
    let vendorJobID = split < payload.endIndex
        ? String(decoding: UnsafeBufferPointer(rebasing: payload[(split + 1)...]), as: UTF8.self) : "1001"

    let value: JSONValue
    do {
        value = try JSON.parse(body)
    } catch {
        require(error.offset >= 0 && error.offset <= body.count, "error offset \(error.offset) outside the input")
        return 0
    }
    checkJSONRoundTrip(value, "patch")
    guard let object = value.objectValue else { return 0 }
    let result = PatchValidator.validate(object, mapping: mapping)
    checkValidation(result, body: object, mapping: mapping)
    if case .success(let patch) = result {
        let calls = Planner.plan(patch, vendorJobID: vendorJobID, mapping: mapping)
        checkPlan(calls, patch: patch, vendorJobID: vendorJobID, mapping: mapping)
        if let read = Planner.read(vendorJobID: vendorJobID, mapping: mapping) {
            require(read.body == nil && read.method == "GET", "the read call is not a bodiless GET")
        }
    }
    return 0
}
