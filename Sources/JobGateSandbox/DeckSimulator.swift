import JobGateHTTP
import JobGateJSON
import JobGatePosix

/// Deck API v1: `PATCH /api/v1/jobs/{jobCode}` replaces a job definition (deck.md, FACTS.md).
final class DeckSimulator: VendorSimulator {
    static let clientID = "sandbox-deck-client"
    static let secret = "sandbox-deck-secret-7f3a"
    private var definitions: [String: JSONObject] = [:]

    init() { reset() }

    func reset() {
        definitions = [:]
        for (code, name) in [("invoice-extractor", "Invoice extractor"), ("shared-utility-bill", "Utility bill (shared)")] {
            definitions[code] = ["name": .string(name), "job_code": .string(code), "input_schema": ["type": "object"],
                                 "output_schema": ["type": "object"], "prompts": nil,
                                 "created_at": 1_700_000_000, "updated_at": 1_700_000_000]
        }
    }

    func handle(_ request: SimulatedRequest) -> HTTPResponse {
        guard let rest = request.segments(after: ["api", "v1", "jobs"]), rest.count == 1 else {
            return problemDetails(404, "Not Found")
        }
        // 401 has no body (FACTS.md).
        guard request.headers["x-deck-client-id"] == Self.clientID, request.headers["x-deck-secret"] == Self.secret else {
            return HTTPResponse(status: 401)
        }
        guard request.method == "PATCH" else { return problemDetails(405, "Method Not Allowed") }
        let code = String(rest[0])
        guard var definition = definitions[code] else {
            return problemDetails(404, "Job definition not found", detail: "No job definition with code '\(code)'.")
        }
        if code.hasPrefix("shared-") {
            return problemDetails(403, "Attempted to update a shared job definition")
        }
        guard let body = request.json?.objectValue else {
            return problemDetails(400, "One or more validation errors occurred.", errors: ["$": ["The JSON value could not be converted."]])
        }
        var errors: [String: [String]] = [:]
        for required in ["name", "code", "input_schema", "output_schema"] where body[required] == nil {
            errors[required] = ["The \(required) field is required."]
        }
        for key in body.keys where !["name", "code", "input_schema", "output_schema", "prompts"].contains(key) {
            errors[key] = ["The field '\(key)' is not allowed."]
        }
        if let name = body["name"], name.stringValue == nil { errors["name"] = ["The name field must be a string."] }
        if let newCode = body["code"], newCode.stringValue == nil { errors["code"] = ["The code field must be a string."] }
        guard errors.isEmpty else { return problemDetails(400, "One or more validation errors occurred.", errors: errors) }
        definition["name"] = body["name"]
        definition["job_code"] = body["code"]
        definition["input_schema"] = body["input_schema"]
        definition["output_schema"] = body["output_schema"]
        definition["prompts"] = body["prompts"] ?? .null
        definition["updated_at"] = .number(JSONNumber(epochSecondsNow()))
        definitions[code] = nil
        definitions[body["code"]?.stringValue ?? code] = definition
        return jsonResponse(200, .object(definition))
    }
}
