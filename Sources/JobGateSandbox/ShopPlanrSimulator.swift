import JobGateHTTP
import JobGateJSON

/// Shop Planr (self-hosted Nuxt app): `PUT`/`GET /api/jobs/{id}`, partial updates, bearer JWT, Nitro errors.
final class ShopPlanrSimulator: VendorSimulator {
    static let token = "sandbox-shopplanr-jwt-5d1e"
    /// Nitro's rate limiter: more than this many requests in one second get 429.
    static let requestsPerSecond = 50
    private var jobs: [String: JSONObject] = [:]
    private var windowStart: UInt64 = 0
    private var windowCount = 0

    init() { reset() }

    func reset() {
        jobs = ["job_V1StGXR8Z5jd": [
            "id": "job_V1StGXR8Z5jd", "name": "JOB-2024-001", "goalQuantity": 50, "jiraTicketKey": "PI-42",
            "jiraTicketSummary": "Build 50 aluminum housings", "jiraPartNumber": "ALU-HOUSING-7075", "jiraPriority": "High",
            "jiraEpicLink": "PI-10", "jiraLabels": ["Q1-2024", "rush"],
            "createdAt": "2024-01-15T10:30:00.000Z", "updatedAt": "2024-01-20T16:45:00.000Z",
        ]]
    }

    private func error(_ status: Int, _ statusMessage: String, _ message: String, url: String,
                       headers: [(name: String, value: String)] = []) -> HTTPResponse {
        jsonResponse(status, ["error": true, "url": .string(url), "statusCode": .number(JSONNumber(Int64(status))),
                              "statusMessage": .string(statusMessage), "message": .string(message)], headers: headers)
    }

    func handle(_ request: SimulatedRequest) -> HTTPResponse {
        let now = monotonicNanoseconds()
        if now &- windowStart > 1_000_000_000 { windowStart = now; windowCount = 0 }
        windowCount += 1
        if windowCount > Self.requestsPerSecond {
            return error(429, "Too Many Requests", "Too many requests", url: request.path, headers: [("Retry-After", "1")])
        }
        guard let rest = request.segments(after: ["api", "jobs"]), rest.count == 1 else {
            return error(404, "Not Found", "Page not found: \(request.path)", url: request.path)
        }
        guard request.headers["authorization"] == "Bearer \(Self.token)" else {
            return error(401, "Unauthorized", "Unauthorized", url: request.path)
        }
        let id = String(rest[0])
        guard var job = jobs[id] else { return error(404, "Not Found", "Job not found: \(id)", url: request.path) }
        switch request.method {
        case "GET":
            job["paths"] = []
            job["progress"] = ["completed": 0, "goal": job["goalQuantity"] ?? 0, "percent": 0]
            return jsonResponse(200, .object(job))
        case "PUT":
            let body = request.json?.objectValue ?? JSONObject()
            if let name = body["name"] {
                guard let text = name.stringValue, !text.allSatisfy(\.isWhitespace) else {
                    return error(400, "Bad Request", "name is required", url: request.path)
                }
                job["name"] = .string(text)
            }
            if let quantity = body["goalQuantity"] {
                guard let number = quantity.numberValue else {
                    return error(400, "Bad Request", "goalQuantity must be a number", url: request.path)
                }
                guard let value = number.int64Value, value > 0 else {
                    return error(400, "Bad Request", "goalQuantity must be greater than zero", url: request.path)
                }
                job["goalQuantity"] = .number(JSONNumber(value))
            }
            job["updatedAt"] = .string(rfc3339Now())
            jobs[id] = job
            return jsonResponse(200, .object(job))
        default:
            return error(405, "Method Not Allowed", "Method Not Allowed", url: request.path)
        }
    }
}
