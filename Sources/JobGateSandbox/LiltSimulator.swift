import JobGateHTTP
import JobGateJSON
import JobGatePosix

/// LILT: `PUT`/`GET /v2/jobs/{jobId}`, HTTP Basic with the key as user and password (or `?key=`),
/// `{"message"}` errors, 401 as text/plain, 4000 requests a minute.
final class LiltSimulator: VendorSimulator {
    static let apiKey = "sandbox-lilt-key-2b8f"
    static let requestsPerMinute = 4000
    private var jobs: [Int64: JSONObject] = [:]
    private var quota = FixedWindow(limit: requestsPerMinute, seconds: 60)

    init() { reset() }

    func reset() {
        // A reset starts a fresh quota window too, so one test's traffic never rate-limits the next.
        quota = FixedWindow(limit: Self.requestsPerMinute, seconds: 60)
        jobs = [:]
        for (id, name) in [(Int64(241), "Website launch"), (242, "Product docs")] {
            jobs[id] = ["id": .number(JSONNumber(id)), "name": .string(name), "creationStatus": "COMPLETE",
                        "deliveredAt": "2021-06-03T13:43:00Z", "status": "active", "due": "2021-06-03T13:43:00Z",
                        "isProcessing": 0, "stats": ["numProjects": 1, "workflowStatus": "IN_PROGRESS"],
                        "domains": [["id": 12, "name": "Marketing"]]]
        }
    }

    /// `{"requestsPerMinute": N}` shrinks the quota (until the next reset), so a test can use it up.
    func apply(settings: JSONObject) -> String? {
        if let unknown = settings.keys.first(where: { $0 != "requestsPerMinute" }) { return "unknown setting '\(unknown)'" }
        guard let limit = settings["requestsPerMinute"]?.numberValue?.int64Value, (1...Int64(Self.requestsPerMinute)).contains(limit) else {
            return "requestsPerMinute must be an integer from 1 to \(Self.requestsPerMinute)"
        }
        quota = FixedWindow(limit: Int(limit), seconds: 60)
        return nil
    }

    private func message(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        jsonResponse(status, ["message": .string(text)], headers: headers)
    }

    private func authorized(_ request: SimulatedRequest) -> Bool {
        if request.query["key"] == Self.apiKey { return true }
        guard let header = request.headers["authorization"], header.hasPrefix("Basic "),
              let decoded = Base64.decode(header.dropFirst(6).utf8) else { return false }
        return String(decoding: decoded, as: UTF8.self) == "\(Self.apiKey):\(Self.apiKey)"
    }

    func handle(_ request: SimulatedRequest) -> HTTPResponse {
        // LILT documents a 60 s wait once the quota is used up but sends no Retry-After.
        if quota.consume() != nil { return message(429, "Quota exceeded: wait 60 seconds.") }
        guard let rest = request.segments(after: ["v2", "jobs"]), rest.count == 1 else { return message(404, "Not found") }
        guard authorized(request) else {
            return HTTPResponse(status: 401, headers: [("Content-Type", "text/plain")], body: Array("Unauthorized".utf8))
        }
        guard let id = Int64(rest[0]) else { return message(400, "jobId must be an integer") }
        guard var job = jobs[id] else { return message(404, "Job not found") }
        switch request.method {
        case "GET":
            return jsonResponse(200, .object(job))
        case "PUT":
            let body = request.json?.objectValue ?? JSONObject()
            if let name = body["name"] {
                guard name.stringValue != nil else { return message(400, "name must be a string") }
                job["name"] = name
            }
            if let due = body["due"] {
                guard let text = due.stringValue, text.count >= 20, text.dropFirst(10).first == "T" else {
                    return message(400, "due must be an ISO 8601 date-time")
                }
                job["due"] = due
            }
            if let processing = body["isProcessing"] {
                guard let text = processing.stringValue, ["0", "1", "-2"].contains(text), let value = Int64(text) else {
                    return message(400, "isProcessing must be one of '0', '1', '-2'")
                }
                job["isProcessing"] = .number(JSONNumber(value))
            }
            if let error = body["processingErrorMsg"] {
                guard error.stringValue != nil else { return message(400, "processingErrorMsg must be a string") }
                job["processingErrorMsg"] = error
            }
            jobs[id] = job
            return jsonResponse(200, .object(job))
        default:
            return message(405, "Method not allowed")
        }
    }
}
