import JobGateHTTP
import JobGateJSON
import JobGatePosix

/// BigChange (JobWatch): OAuth2 client credentials at `/auth/tokens`, `PATCH`/`GET /v1/jobs/{jobId}` with a
/// `Customer-Id` tenant header; 204 on update, ProblemDetails errors with an `errors` map on 422. Two customers,
/// each with its own client credentials and jobs, so a gateway serving both as accounts can be tried: a token
/// is good only for the customer whose credentials obtained it.
final class BigChangeSimulator: VendorSimulator {
    struct Customer {
        let id: String
        let clientID: String
        let clientSecret: String
        let jobPrefix: String
    }

    static let main = Customer(id: "42", clientID: "sandbox-bigchange-client", clientSecret: "sandbox-bigchange-secret-91c2",
                               jobPrefix: "")
    static let north = Customer(id: "77", clientID: "sandbox-bigchange-north-client",
                                clientSecret: "sandbox-bigchange-north-secret-4be7", jobPrefix: "North ")
    static let customers = [main, north]
    static let staticToken = "sandbox-bigchange-static-token"
    private var tokenLifetime: TokenLifetime
    private var tokens = IssuedTokens()
    /// The customer each issued token belongs to.
    private var tokenCustomers: [String: String] = [:]
    /// Jobs by customer id, then job id.
    private var jobs: [String: [Int64: JSONObject]] = [:]
    /// Custom field definitions (id → caption) of the sandbox tenant.
    private let customFieldCaptions: [Int64: String] = [7: "Colour", 8: "Access notes"]

    init(tokenTTL: Int) {
        tokenLifetime = TokenLifetime(seconds: tokenTTL)
        reset()
    }

    func reset() {
        tokens.removeAll()
        tokenCustomers = [:]
        tokenLifetime.reset()
        jobs = [:]
        for customer in Self.customers {
            for (id, status, description) in [(Int64(1001), "scheduled", "Boiler service"), (1002, "started", "Radiator repair")] {
                jobs[customer.id, default: [:]][id] = [
                    "id": .number(JSONNumber(id)), "reference": .string("REF-\(id)"),
                    "description": .string(customer.jobPrefix + description), "orderNumber": nil, "personId": nil,
                    "plannedDuration": 60, "customFields": [["definitionId": 7, "value": "red"]], "status": .string(status),
                    "contactId": 5001, "createdAt": "2026-01-05T09:00:00Z", "updatedAt": "2026-01-05T09:00:00Z"]
            }
        }
    }

    func apply(settings: JSONObject) -> String? { tokenLifetime.apply(settings) }

    func handle(_ request: SimulatedRequest) -> HTTPResponse {
        if request.path == "/auth/tokens" { return issueToken(request) }
        guard let rest = request.segments(after: ["v1", "jobs"]), rest.count == 1 else { return problemDetails(404, "Not Found") }
        guard let bearer = request.headers["authorization"], bearer.hasPrefix("Bearer ") else { return HTTPResponse(status: 401) }
        let token = String(bearer.dropFirst(7))
        let tokenCustomer = token == Self.staticToken ? Self.main.id : tokens.isValid(token) ? tokenCustomers[token] : nil
        guard let tokenCustomer else { return HTTPResponse(status: 401) }
        guard let customer = request.headers["customer-id"], Int64(customer) != nil else {
            return problemDetails(400, "Bad Request", detail: "The Customer-Id header is required and must be numeric.")
        }
        guard customer == tokenCustomer else {
            return problemDetails(403, "Forbidden", detail: "The access token is not valid for this customer.")
        }
        guard let id = Int64(rest[0]), id >= 1 else {
            return problemDetails(400, "Bad Request", detail: "jobId must be an integer of at least 1.")
        }
        guard var job = jobs[customer]?[id] else { return problemDetails(404, "Not Found", detail: "Job \(id) not found.") }
        switch request.method {
        case "GET":
            return jsonResponse(200, .object(readable(job)))
        case "PATCH":
            guard let body = request.json?.objectValue else { return problemDetails(400, "Bad Request", detail: "Body must be a JSON object.") }
            let allowed = ["plannedDuration", "description", "reference", "personId", "orderNumber", "customFields"]
            if let unknown = body.keys.first(where: { !allowed.contains($0) }) {
                return problemDetails(400, "Bad Request", detail: "Unknown field '\(unknown)'.")
            }
            let errors = validate(body, job: job)
            guard errors.isEmpty else { return problemDetails(422, "Unprocessable Entity", errors: errors) }
            for (key, value) in body where key != "customFields" { job[key] = value }
            if let fields = body["customFields"]?.arrayValue, !fields.isEmpty {
                var current = job["customFields"]?.arrayValue ?? []
                for field in fields {
                    let definition = field.objectValue?["definitionId"]
                    current.removeAll { $0.objectValue?["definitionId"] == definition }
                    if field.objectValue?["value"]?.isNull == false { current.append(field) }
                }
                job["customFields"] = .array(current)
            }
            job["updatedAt"] = .string(rfc3339Now())
            jobs[customer, default: [:]][id] = job
            return HTTPResponse(status: 204)
        default:
            return problemDetails(405, "Method Not Allowed")
        }
    }

    /// The read names each custom field's definition instead of giving its bare id (`{definition: {id, caption},
    /// value}`): the GET shape is undocumented and one third-party client reads `customFields[].definition.caption`,
    /// so the sandbox answers in that shape, unlike the update body's `{definitionId, value}`.
    private func readable(_ job: JSONObject) -> JSONObject {
        var job = job
        job["customFields"] = .array((job["customFields"]?.arrayValue ?? []).map { field in
            let id = field.objectValue?["definitionId"]?.numberValue?.int64Value ?? 0
            return ["definition": ["id": .number(JSONNumber(id)), "caption": .string(customFieldCaptions[id] ?? "")],
                    "value": field.objectValue?["value"] ?? nil]
        })
        return job
    }

    private func validate(_ body: JSONObject, job: JSONObject) -> [String: [String]] {
        var errors: [String: [String]] = [:]
        let started = job["status"]?.stringValue != "scheduled"
        if let value = body["plannedDuration"], (value.numberValue?.int64Value ?? -1) < 0 {
            errors["plannedDuration"] = ["The planned duration must be a whole number of minutes, 0 or more."]
        }
        if let value = body["description"] {
            if value.stringValue == nil { errors["description"] = ["The description must be a string."] }
            else if started { errors["description"] = ["The description cannot be updated once the job has been started or completed."] }
        }
        for key in ["reference", "orderNumber"] {
            if let value = body[key], !(value.isNull || value.stringValue != nil) { errors[key] = ["The \(key) must be a string or null."] }
        }
        if let value = body["personId"] {
            if !(value.isNull || (value.stringValue?.count == 36)) { errors["personId"] = ["The personId must be a UUID or null."] }
            else if started { errors["personId"] = ["The personId cannot be updated once the job has been started or completed."] }
        }
        if let value = body["customFields"] {
            for field in value.arrayValue ?? [] {
                guard let definition = field.objectValue?["definitionId"]?.numberValue?.int64Value,
                      customFieldCaptions[definition] != nil else {
                    errors["customFields", default: []].append("Unknown custom field definition.")
                    continue
                }
            }
            if value.arrayValue == nil { errors["customFields"] = ["The customFields must be an array."] }
        }
        return errors
    }

    private func issueToken(_ request: SimulatedRequest) -> HTTPResponse {
        guard request.method == "POST" else { return problemDetails(405, "Method Not Allowed") }
        var form: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { form[String(parts[0])] = String(parts[1]).removingPercentEncoding }
        }
        guard form["grant_type"] == "client_credentials",
              let customer = Self.customers.first(where: { $0.clientID == form["client_id"] && $0.clientSecret == form["client_secret"] }) else {
            return jsonResponse(401, ["error": "invalid_client"])
        }
        let token = tokens.issue(prefix: "bc", ttlSeconds: tokenLifetime.seconds)
        tokenCustomers[token] = customer.id
        return jsonResponse(200, ["access_token": .string(token), "token_type": "Bearer",
                                  "expires_in": .number(JSONNumber(Int64(tokenLifetime.seconds)))])
    }
}

extension String {
    /// Form/percent decoding for the simulators' token endpoints.
    var removingPercentEncoding: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == 0x25, let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte == 0x2B ? 0x20 : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
