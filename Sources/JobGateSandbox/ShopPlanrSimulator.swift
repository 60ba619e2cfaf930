import JobGateHTTP
import JobGateJSON
import JobGatePosix

/// Shop Planr (self-hosted Nuxt app, server code at commit bf9f4f8e): a PIN login issues an ES256-shaped JWT,
/// every job route needs it as a bearer token, per-client rate limits come first, bodies are checked by zod, and
/// errors are Nitro's pretty-printed JSON. Compared answer by answer with the real server code
/// (../shared/vendors/shopplanr-server); the comments name the file of it each step follows.
final class ShopPlanrSimulator: VendorSimulator {
    static let username = "sandbox"
    static let pin = "2468"
    static let user: JSONObject = ["sub": "user_sandboxUser1", "username": .string(username), "displayName": "Sandbox",
                                   "isAdmin": false, "active": true, "createdAt": "2024-01-02T08:00:00.000Z"]
    private var sessions = ShopPlanrSessions()
    private var limits = ShopPlanrRateLimits()
    private var jobs: [String: JSONObject] = [:]
    private var lastPriority = 0

    init() { reset() }

    func reset() {
        sessions = ShopPlanrSessions()
        limits = ShopPlanrRateLimits()
        // Members in the order the real server reads a job back (priority after goalQuantity).
        jobs = ["job_V1StGXR8Z5jd": [
            "id": "job_V1StGXR8Z5jd", "name": "JOB-2024-001", "goalQuantity": 50, "priority": 1, "jiraTicketKey": "PI-42",
            "jiraTicketSummary": "Build 50 aluminum housings", "jiraPartNumber": "ALU-HOUSING-7075", "jiraPriority": "High",
            "jiraEpicLink": "PI-10", "jiraLabels": ["Q1-2024", "rush"],
            "createdAt": "2024-01-15T10:30:00.000Z", "updatedAt": "2024-01-20T16:45:00.000Z",
        ]]
        lastPriority = 1
    }

    func apply(settings: JSONObject) -> String? { sessions.lifetime.apply(settings) }

    func handle(_ request: SimulatedRequest) -> HTTPResponse {
        let error = NitroError(request)
        guard request.path.hasPrefix("/api/") else { return error.pageNotFound }
        let bearer = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        // middleware/01.rateLimit.ts runs before authentication: refused and unauthenticated requests count too.
        if let retryAfter = limits.consume(path: request.path, hasBearer: bearer != nil) {
            return error(429, "Too Many Requests", retryAfter: retryAfter)
        }
        switch (request.method, request.path) {
        case ("GET", "/api/health"): return jsonResponse(200, ["status": "ok"])
        case ("POST", "/api/auth/login"): return login(request, error)
        case ("POST", "/api/auth/refresh"): return refresh(bearer, error)
        default: break
        }
        // middleware/02.auth.ts: any other /api route needs a token this server signed whose `exp` is ahead.
        guard let token = bearer ?? cookie(request, "shop-planr-auth-token"), sessions.isValid(token) else {
            return error(401, "Unauthorized")
        }
        let rest = request.segments(after: ["api", "jobs"])
        switch (request.method, rest?.count) {
        case ("POST", 0): return create(request, error)
        case ("GET", 1): return read(String(rest![0]), error)
        case ("PUT", 1): return update(String(rest![0]), request, error)
        default: return error.pageNotFound
        }
    }

    // MARK: api/auth

    /// login.post.ts: zod first, then one answer for an unknown user and a wrong PIN alike.
    private func login(_ request: SimulatedRequest, _ error: NitroError) -> HTTPResponse {
        guard let raw = readBody(request) else { return error(400, "Invalid JSON body") }
        var zod = ZodCheck()
        guard let body = zod.object(raw) else { return error(400, zod.message) }
        let username = zod.string(body, "username", tooShort: "username is required")
        if let pin = zod.string(body, "pin"), !(pin.utf8.count == 4 && pin.utf8.allSatisfy { (0x30...0x39).contains($0) }) {
            zod.add("pin", "PIN must be exactly 4 digits")
        }
        guard zod.passed else { return error(400, zod.message) }
        guard username == Self.username, body["pin"]?.stringValue == Self.pin else { return error(401, "Invalid credentials") }
        return jsonResponse(200, ["token": .string(sessions.issue(for: Self.user))])
    }

    /// refresh.post.ts: exempt from the auth middleware; a token jose refuses (expired, unknown) throws an error
    /// nothing maps, so the answer is a 500, not a 401.
    private func refresh(_ bearer: String?, _ error: NitroError) -> HTTPResponse {
        guard let bearer else {
            return error(401, "Missing or invalid Authorization header", statusMessage: "Missing or invalid Authorization header")
        }
        guard sessions.isValid(bearer) else { return error(500, "Internal server error") }
        return jsonResponse(200, ["token": .string(sessions.issue(for: Self.user))])
    }

    // MARK: api/jobs

    /// index.post.ts: 200 (not 201) with the row as inserted, `priority` last.
    private func create(_ request: SimulatedRequest, _ error: NitroError) -> HTTPResponse {
        guard let raw = readBody(request) else { return error(400, "Invalid JSON body") }
        var zod = ZodCheck()
        guard let body = zod.object(raw) else { return error(400, zod.message) }
        let name = zod.string(body, "name", tooShort: "name is required")
        let goal = zod.positiveInt(body, "goalQuantity")
        var jira: [(String, JSONValue)] = []
        for key in ["jiraTicketKey", "jiraTicketSummary", "jiraPartNumber", "jiraPriority", "jiraEpicLink"] {
            if let value = zod.string(body, key, optional: true) { jira.append((key, .string(value))) }
        }
        if let labels = zod.strings(body, "jiraLabels", optional: true) { jira.append(("jiraLabels", .array(labels.map { .string($0) }))) }
        guard zod.passed, let name, let goal else { return error(400, zod.message) }
        let trimmed = trimmedLikeJavaScript(name)
        guard !trimmed.isEmpty else { return error(400, "name is required") }
        lastPriority += 1
        let now = rfc3339Now()
        let id = "job_" + nanoid()
        var job: JSONObject = ["id": .string(id), "name": .string(trimmed), "goalQuantity": .number(JSONNumber(goal)),
                               "priority": .number(JSONNumber(Int64(lastPriority)))]
        for (key, value) in jira { job[key] = value }
        job["createdAt"] = .string(now)
        job["updatedAt"] = .string(now)
        jobs[id] = job
        var answer = job
        answer["priority"] = nil
        answer["priority"] = job["priority"]
        return jsonResponse(200, .object(answer))
    }

    /// [id].get.ts: the job, its paths (none here) and the progress jobService computes from its parts (none).
    private func read(_ id: String, _ error: NitroError) -> HTTPResponse {
        guard var job = jobs[id] else { return error(404, "Job not found: \(id)") }
        let goal = job["goalQuantity"] ?? 0
        job["paths"] = []
        job["progress"] = ["jobId": .string(id), "jobName": job["name"] ?? "", "goalQuantity": goal, "totalParts": 0,
                           "completedParts": 0, "inProgressParts": 0, "scrappedParts": 0, "producedQuantity": 0,
                           "orderedQuantity": goal, "progressPercent": 0]
        return jsonResponse(200, .object(job))
    }

    /// [id].put.ts: zod checks the body before jobService looks the id up; the service then refuses a blank name
    /// and bumps `updatedAt` even for `{}` (unknown members are dropped by zod).
    private func update(_ id: String, _ request: SimulatedRequest, _ error: NitroError) -> HTTPResponse {
        guard let raw = readBody(request) else { return error(400, "Invalid JSON body") }
        var zod = ZodCheck()
        guard let body = zod.object(raw) else { return error(400, zod.message) }
        let name = zod.string(body, "name", optional: true, tooShort: ZodCheck.stringTooShort)
        let goal = zod.positiveInt(body, "goalQuantity", optional: true)
        guard zod.passed else { return error(400, zod.message) }
        guard var job = jobs[id] else { return error(404, "Job not found: \(id)") }
        if let name {
            let trimmed = trimmedLikeJavaScript(name)
            guard !trimmed.isEmpty else { return error(400, "name is required") }
            job["name"] = .string(trimmed)
        }
        if let goal { job["goalQuantity"] = .number(JSONNumber(goal)) }
        job["updatedAt"] = .string(rfc3339Now())
        jobs[id] = job
        return jsonResponse(200, .object(job))
    }

    // MARK: h3 and JavaScript details

    /// h3's readBody: `.some(nil)` for an empty body (zod then says "received undefined"), nil when it is not JSON.
    private func readBody(_ request: SimulatedRequest) -> JSONValue?? {
        if request.body.isEmpty { return .some(nil) }
        return request.json.map { .some($0) }
    }

    private func cookie(_ request: SimulatedRequest, _ name: String) -> String? {
        for pair in (request.headers["cookie"] ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, trimmedLikeJavaScript(String(parts[0])) == name { return String(parts[1]) }
        }
        return nil
    }

    private func trimmedLikeJavaScript(_ text: String) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// generateId's nanoid: 12 characters of nanoid's URL alphabet.
    private func nanoid() -> String {
        let alphabet = Array("useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict")
        return String((0..<12).map { _ in alphabet.randomElement()! })
    }
}

/// Tokens shaped like Shop Planr's: `base64url(header).base64url(payload).base64url(signature)` with the real
/// header (`{"alg":"ES256"}`, no `typ`) and payload (the user, `iat`, `exp` in epoch seconds). The signature is random
/// bytes, so instead of verifying it the simulator accepts exactly the tokens it issued, until their `exp` —
/// which jose, like here, counts as passed once `exp <= now` in whole seconds of wall-clock time.
struct ShopPlanrSessions {
    var lifetime = TokenLifetime(seconds: 24 * 3600)
    private var expiries: [String: Int64] = [:]

    mutating func issue(for user: JSONObject) -> String {
        let now = epochSecondsNow()
        var payload = user
        payload["iat"] = .number(JSONNumber(now))
        payload["exp"] = .number(JSONNumber(now + Int64(lifetime.seconds)))
        let signature = (0..<64).map { _ in UInt8.random(in: 0...255) }
        let token = [JSON.serialize(["alg": "ES256"]), JSON.serialize(.object(payload)), signature].map { Base64.encode($0, urlSafe: true) }.joined(separator: ".")
        expiries[token] = now + Int64(lifetime.seconds)
        return token
    }

    func isValid(_ token: String) -> Bool {
        guard let expiry = expiries[token] else { return false }
        return expiry > epochSecondsNow()
    }
}

/// middleware/01.rateLimit.ts: three fixed windows per tier (login, requests with a Bearer header, requests
/// without), every window of the tier counting each request. The real server keys them by client IP; the
/// sandbox's clients all share loopback, so one set of windows stands for that one IP.
struct ShopPlanrRateLimits {
    private var login = [FixedWindow(limit: 6, seconds: 15), FixedWindow(limit: 20, seconds: 60), FixedWindow(limit: 60, seconds: 3600)]
    private var bearer = [FixedWindow(limit: 500, seconds: 15), FixedWindow(limit: 1000, seconds: 60), FixedWindow(limit: 25_000, seconds: 3600)]
    private var anonymous = [FixedWindow(limit: 20, seconds: 15), FixedWindow(limit: 60, seconds: 60), FixedWindow(limit: 600, seconds: 3600)]

    /// Counts the request; the Retry-After seconds of the first window (shortest first) it overflows.
    mutating func consume(path: String, hasBearer: Bool) -> Int? {
        if path.hasPrefix("/api/auth/login") || path.hasPrefix("/api/auth/setup-pin") { return Self.consume(&login) }
        return hasBearer ? Self.consume(&bearer) : Self.consume(&anonymous)
    }

    private static func consume(_ windows: inout [FixedWindow]) -> Int? {
        let now = MonotonicInstant.now
        var wait: Int?
        for index in windows.indices {
            if let seconds = windows[index].consume(now: now), wait == nil { wait = seconds }
        }
        return wait
    }
}

/// Nitro's production error answer (its defaultHandler): pretty-printed JSON naming the URL as the server saw
/// it (forwarded host and scheme honoured, query included), with Nitro's security headers.
struct NitroError {
    private static let statusMessages = [400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
                                         500: "Internal Server Error"]
    private let url: String
    private let target: String

    init(_ request: SimulatedRequest) {
        let scheme = request.headers["x-forwarded-proto"] == "https" ? "https" : "http"
        url = scheme + "://" + (request.headers["x-forwarded-host"] ?? request.headers["host"] ?? "localhost") + request.target
        target = request.target
    }

    /// The catch-all route's answer, for unknown paths and methods alike.
    var pageNotFound: HTTPResponse {
        self(404, "Page not found: \(target)", statusMessage: "Page not found: \(target)")
    }

    func callAsFunction(_ status: Int, _ message: String, statusMessage: String? = nil, retryAfter: Int? = nil) -> HTTPResponse {
        func quoted(_ text: String) -> String { String(decoding: JSON.serialize(.string(text)), as: UTF8.self) }
        let members = [("error", "true"), ("url", quoted(url)), ("statusCode", String(status)),
                       ("statusMessage", quoted(statusMessage ?? Self.statusMessages[status] ?? "Server Error")),
                       ("message", quoted(message))]
        let body = "{\n" + members.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}"
        var headers: [(name: String, value: String)] = retryAfter.map { [("Retry-After", String($0))] } ?? []
        headers += [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "no-referrer"), ("Content-Security-Policy", "script-src 'none'; frame-ancestors 'none';"),
                    ("Cache-Control", "no-cache")]
        return HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }
}

/// The part of zod (v4) Shop Planr's schemas use, with zod's messages, joined as its formatZodError joins them:
/// `path: message` issues separated by "; ", in the schema's member order.
struct ZodCheck {
    static let stringTooShort = "Too small: expected string to have >=1 characters"
    private var issues: [String] = []

    var passed: Bool { issues.isEmpty }
    var message: String { issues.joined(separator: "; ") }

    mutating func add(_ key: String?, _ message: String) {
        issues.append(key.map { "\($0): \(message)" } ?? message)
    }

    /// `z.object({...})` over the whole body; unknown members are accepted (and dropped).
    mutating func object(_ value: JSONValue?) -> JSONObject? {
        guard let object = value?.objectValue else { return expected("object", value, key: nil) }
        return object
    }

    /// `z.string()`, with `.min(1, tooShort)` when `tooShort` is given, `.optional()` when `optional`.
    mutating func string(_ object: JSONObject, _ key: String, optional: Bool = false, tooShort: String? = nil) -> String? {
        guard let value = object[key] else { return optional ? nil : expected("string", nil, key: key) }
        guard let text = value.stringValue else { return expected("string", value, key: key) }
        if let tooShort, text.isEmpty {
            add(key, tooShort)
            return nil
        }
        return text
    }

    /// `z.array(z.string())`.
    mutating func strings(_ object: JSONObject, _ key: String, optional: Bool = false) -> [String]? {
        guard let value = object[key] else { return optional ? nil : expected("array", nil, key: key) }
        guard let items = value.arrayValue else { return expected("array", value, key: key) }
        var texts: [String] = []
        for (index, item) in items.enumerated() {
            if let text = item.stringValue { texts.append(text) } else { let _: String? = expected("string", item, key: "\(key).\(index)") }
        }
        return texts.count == items.count ? texts : nil
    }

    /// `z.number().int().positive()`: JSON numbers are doubles, so `6.0` and `1e1` are integers; beyond 2^53-1
    /// is "too big" for `int()`, and each failed check is its own issue.
    mutating func positiveInt(_ object: JSONObject, _ key: String, optional: Bool = false) -> Int64? {
        guard let value = object[key] else { return optional ? nil : expected("number", nil, key: key) }
        guard let number = value.numberValue?.doubleValue, number.isFinite else { return expected("number", value, key: key) }
        guard number.rounded() == number else {
            add(key, "Invalid input: expected int, received number")
            return nil
        }
        let before = issues.count
        if number > 9_007_199_254_740_991 { add(key, "Too big: expected int to be <=9007199254740991") }
        if number < -9_007_199_254_740_991 { add(key, "Too small: expected int to be >=-9007199254740991") }
        if number <= 0 { add(key, "Too small: expected number to be >0") }
        return issues.count == before ? Int64(number) : nil
    }

    private mutating func expected<T>(_ type: String, _ value: JSONValue?, key: String?) -> T? {
        add(key, "Invalid input: expected \(type), received \(Self.typeName(value))")
        return nil
    }

    /// zod's names for what it received (JavaScript's, with arrays and null told apart).
    private static func typeName(_ value: JSONValue?) -> String {
        switch value {
        case nil: "undefined"
        case .null?: "null"
        case .bool?: "boolean"
        case .number?: "number"
        case .string?: "string"
        case .array?: "array"
        case .object?: "object"
        }
    }
}
