import Foundation
import XCTest
import JobGateJSON
@testable import JobGate
@testable import JobGateCore

/// The repository's own Mappings/ folder, as ops ship it.
let mappingsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../Mappings").standardized.path

/// Environment that configures every vendor, the way `jobgate sandbox` prints it.
let sandboxEnvironment: [String: String] = [
    "DECK_BASE_URL": "http://127.0.0.1:9101/api/v1", "DECK_CLIENT_ID": "client-1", "DECK_SECRET": "deck-secret-canary",
    "BIGCHANGE_BASE_URL": "http://127.0.0.1:9102/v1", "BIGCHANGE_TOKEN_URL": "http://127.0.0.1:9102/auth/tokens",
    "BIGCHANGE_CLIENT_ID": "bc-client", "BIGCHANGE_CLIENT_SECRET": "bc-secret-canary", "BIGCHANGE_CUSTOMER_ID": "42",
    "SHOPPLANR_BASE_URL": "http://127.0.0.1:9103/api", "SHOPPLANR_USERNAME": "sandbox", "SHOPPLANR_PIN": "2468-canary",
    "LILT_BASE_URL": "http://127.0.0.1:9104", "LILT_API_KEY": "lilt-key-canary",
    "BYTENITE_BASE_URL": "http://127.0.0.1:9105/v1/customer", "BYTENITE_AUTH_URL": "http://127.0.0.1:9105/v1/auth/access_token",
    "BYTENITE_API_KEY": "bytenite-key-canary",
]

func loadMappings(_ environment: [String: String] = sandboxEnvironment) throws -> MappingSet {
    switch MappingFolder.load(directory: mappingsDirectory, environment: environment) {
    case .success(let set): return set
    case .failure(let rejected): throw LoadFailure(issues: rejected.issues.map(\.description))
    }
}

func mapping(_ vendor: String) throws -> VendorMapping {
    try XCTUnwrap(loadMappings().vendors[vendor], "no mapping for \(vendor)")
}

func json(_ text: String) throws -> JSONValue {
    try JSON.parse(Array(text.utf8))
}

func object(_ text: String) throws -> JSONObject {
    try XCTUnwrap(json(text).objectValue)
}

func text(_ value: JSONValue?) -> String {
    value.map { String(decoding: JSON.serialize($0), as: UTF8.self) } ?? "nil"
}

/// Validates and plans a patch for a vendor, failing the test on validation errors.
func plan(_ vendor: String, _ patch: String, id: String) throws -> [PlannedCall] {
    let mapping = try mapping(vendor)
    switch PatchValidator.validate(try object(patch), mapping: mapping) {
    case .failure(let errors): XCTFail("unexpected errors: \(text(errors.json))"); return []
    case .success(let validated): return Planner.plan(validated, vendorJobID: id, mapping: mapping)
    }
}

/// The `errors` a rejected patch gets, as compact JSON.
func errors(_ vendor: String, _ patch: String) throws -> String {
    switch PatchValidator.validate(try object(patch), mapping: try mapping(vendor)) {
    case .failure(let errors): return text(errors.json)
    case .success: return "accepted"
    }
}

struct LoadFailure: Error {
    let issues: [String]
}
