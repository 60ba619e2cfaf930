import JobGateCore
import JobGateHTTP
import JobGateJSON
import JobGatePosix

/// One simulated vendor API. Handlers are synchronous and run on the simulator's single loop.
protocol VendorSimulator: AnyObject {
    func handle(_ request: SimulatedRequest) -> HTTPResponse
    /// Back to the seed data (and no issued tokens), with the default settings.
    func reset()
    /// Applies `POST /__sandbox/settings` (e.g. `{"tokenTtlSeconds": 2}`); the reason when it cannot.
    func apply(settings: JSONObject) -> String?
}

extension VendorSimulator {
    func apply(settings: JSONObject) -> String? { "this simulator has no settings" }
}

/// A request as simulators see it: the path split into segments, the body parsed when it is JSON.
struct SimulatedRequest {
    let method: String
    /// The request-target as sent, query included.
    let target: String
    let path: String
    let segments: [Substring]
    let query: [String: String]
    let headers: HTTPHeaders
    let body: [UInt8]

    init(_ request: HTTPRequest) {
        method = request.method
        target = request.target
        path = String(request.path)
        segments = request.path.split(separator: "/")
        var query: [String: String] = [:]
        for pair in (request.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { query[String(parts[0])] = String(parts[1]) }
        }
        self.query = query
        headers = request.headers
        body = request.body
    }

    var json: JSONValue? { try? JSON.parse(body) }

    /// The segments after `prefix` when the path starts with it.
    func segments(after prefix: [String]) -> [Substring]? {
        guard segments.count >= prefix.count, zip(segments, prefix).allSatisfy({ $0 == $1 }) else { return nil }
        return Array(segments.dropFirst(prefix.count))
    }
}

/// A fault queued through the control API: the next `times` matching requests get it instead of an answer.
struct Fault {
    var method: String?
    var pathPrefix: String?
    var times: Int
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var delayMilliseconds: Int
    var action: String?

    func matches(_ request: SimulatedRequest) -> Bool {
        (method == nil || method == request.method) && (pathPrefix.map { request.path.hasPrefix($0) } ?? true)
    }
}

/// Serves one simulator: records every request, applies queued faults, and answers `/__sandbox/*`.
final class SimulatorHost: HTTPHandler {
    private let simulator: VendorSimulator
    private let loop: EventLoop
    private var recorded: [JSONValue] = []
    private var faults: [Fault] = []
    /// Vendor requests served and faults injected since the last reset; unlike `recorded`, never capped.
    private var served = 0
    private var injected = 0

    init(simulator: VendorSimulator, loop: EventLoop) {
        self.simulator = simulator
        self.loop = loop
    }

    func handle(_ request: consuming HTTPRequest, responder: HTTPResponder) {
        let simulated = SimulatedRequest(copy request)
        if simulated.path.hasPrefix("/__sandbox/") {
            return responder.respond(control(simulated))
        }
        recorded.append(Self.record(request))
        if recorded.count > 10_000 { recorded.removeFirst(recorded.count - 10_000) }
        served += 1
        if let index = faults.firstIndex(where: { $0.matches(simulated) }) {
            injected += 1
            let fault = faults[index]
            faults[index].times -= 1
            if faults[index].times <= 0 { faults.remove(at: index) }
            return inject(fault, responder: responder)
        }
        responder.respond(simulator.handle(simulated))
    }

    func response(for error: HTTPParseError, requestID: String) -> HTTPResponse {
        jsonResponse(error.status, ["message": .string(error.detail)])
    }

    func timeoutResponse(requestID: String) -> HTTPResponse {
        jsonResponse(408, ["message": "timeout"])
    }

    private static func record(_ request: HTTPRequest) -> JSONValue {
        var headers = JSONObject()
        for (name, value) in request.headers where headers[name] == nil { headers[name] = .string(value) }
        return [
            "method": .string(request.method), "target": .string(request.target), "headers": .object(headers),
            "body": .string(String(decoding: request.body, as: UTF8.self)),
        ]
    }

    private func inject(_ fault: Fault, responder: HTTPResponder) {
        let answer: HTTPResponse?
        switch fault.action {
        case "reset":
            answer = .verbatim(Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"partial\":".utf8))
        case "invalid-json":
            answer = HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array("{\"job\": not json".utf8))
        case "big-body":
            answer = HTTPResponse(status: 200, headers: [("Content-Type", "application/json")],
                                  body: Array("\"".utf8) + [UInt8](repeating: 0x78, count: 10 * 1024 * 1024) + Array("\"".utf8))
        case "close":
            answer = .verbatim([])
        case "stall":
            answer = nil
        default:
            answer = HTTPResponse(status: fault.status, headers: fault.headers, body: fault.body)
        }
        guard let answer else {
            loop.schedule(after: .seconds(60)) { responder.respond(.verbatim([])) }
            return
        }
        if fault.delayMilliseconds > 0 {
            loop.schedule(after: .milliseconds(fault.delayMilliseconds)) { responder.respond(answer) }
        } else {
            responder.respond(answer)
        }
    }

    private func control(_ request: SimulatedRequest) -> HTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/__sandbox/requests"):
            return jsonResponse(200, .array(recorded))
        case ("DELETE", "/__sandbox/requests"):
            recorded.removeAll()
            served = 0
            injected = 0
            return HTTPResponse(status: 204)
        case ("GET", "/__sandbox/stats"):
            return jsonResponse(200, ["requests": .number(JSONNumber(Int64(served))), "faultsInjected": .number(JSONNumber(Int64(injected))),
                                      "faultsPending": .number(JSONNumber(Int64(faults.reduce(0) { $0 + $1.times })))])
        case ("POST", "/__sandbox/faults"):
            guard let spec = request.json?.objectValue else { return jsonResponse(400, ["message": "fault must be a JSON object"]) }
            var headers: [(name: String, value: String)] = []
            for (name, value) in spec["headers"]?.objectValue ?? JSONObject() {
                headers.append((name, value.stringValue ?? ""))
            }
            let body = spec["body"]?.stringValue ?? ""
            if !headers.contains(where: { $0.name.lowercased() == "content-type" }) && !body.isEmpty {
                headers.append(("Content-Type", "application/json"))
            }
            faults.append(Fault(
                method: spec["method"]?.stringValue, pathPrefix: spec["pathPrefix"]?.stringValue,
                times: Int(spec["times"]?.numberValue?.int64Value ?? 1), status: Int(spec["status"]?.numberValue?.int64Value ?? 500),
                headers: headers, body: Array(body.utf8), delayMilliseconds: Int(spec["delayMs"]?.numberValue?.int64Value ?? 0),
                action: spec["action"]?.stringValue))
            return HTTPResponse(status: 204)
        case ("POST", "/__sandbox/settings"):
            guard let settings = request.json?.objectValue else { return jsonResponse(400, ["message": "settings must be a JSON object"]) }
            if let problem = simulator.apply(settings: settings) { return jsonResponse(400, ["message": .string(problem)]) }
            return HTTPResponse(status: 204)
        case ("DELETE", "/__sandbox/faults"):
            faults.removeAll()
            return HTTPResponse(status: 204)
        case ("POST", "/__sandbox/reset"):
            faults.removeAll()
            recorded.removeAll()
            served = 0
            injected = 0
            simulator.reset()
            return HTTPResponse(status: 204)
        default:
            return jsonResponse(404, ["message": "unknown sandbox control endpoint"])
        }
    }
}

// MARK: Shared helpers for the simulators

func jsonResponse(_ status: Int, _ body: JSONValue, contentType: String = "application/json",
                  headers: [(name: String, value: String)] = []) -> HTTPResponse {
    HTTPResponse(status: status, headers: [("Content-Type", contentType)] + headers, body: JSON.serialize(body))
}

/// An RFC 7807 / ASP.NET ProblemDetails body (Deck, BigChange).
func problemDetails(_ status: Int, _ title: String, detail: String? = nil, errors: [String: [String]]? = nil) -> HTTPResponse {
    var body: JSONObject = ["type": "https://tools.ietf.org/html/rfc9110#section-15", "title": .string(title),
                            "status": .number(JSONNumber(Int64(status)))]
    if let detail { body["detail"] = .string(detail) }
    if let errors {
        var object = JSONObject()
        for (field, messages) in errors.sorted(by: { $0.key < $1.key }) { object[field] = .array(messages.map { .string($0) }) }
        body["errors"] = .object(object)
    }
    body["traceId"] = .string("00-sandbox-\(status)")
    return jsonResponse(status, .object(body), contentType: "application/problem+json")
}

/// Tokens a simulator issued, each valid until its expiry.
struct IssuedTokens {
    private var expiries: [String: MonotonicInstant] = [:]
    private var counter = 0

    mutating func issue(prefix: String, ttlSeconds: Int) -> String {
        counter += 1
        let now = MonotonicInstant.now
        let token = "\(prefix)-\(counter)-\(now.nanoseconds % 1_000_000_007)"
        expiries[token] = now + .seconds(ttlSeconds)
        return token
    }

    func isValid(_ token: String) -> Bool {
        guard let expiry = expiries[token] else { return false }
        return expiry > .now
    }

    mutating func removeAll() { expiries.removeAll() }
}

/// How long newly issued tokens live: the simulator's default until a test sets `tokenTtlSeconds` through
/// `/__sandbox/settings` (to see a gateway renew a short-lived token); a reset restores the default.
struct TokenLifetime {
    let defaultSeconds: Int
    private(set) var seconds: Int

    init(seconds: Int) {
        defaultSeconds = seconds
        self.seconds = seconds
    }

    mutating func reset() { seconds = defaultSeconds }

    /// Takes `tokenTtlSeconds` (0 issues tokens that are already expired); the reason for anything else.
    mutating func apply(_ settings: JSONObject) -> String? {
        if let unknown = settings.keys.first(where: { $0 != "tokenTtlSeconds" }) { return "unknown setting '\(unknown)'" }
        guard let value = settings["tokenTtlSeconds"] else { return nil }
        guard let number = value.numberValue?.int64Value, (0...365 * 86_400).contains(number) else {
            return "tokenTtlSeconds must be an integer from 0 to 31536000"
        }
        seconds = Int(number)
        return nil
    }
}

/// A fixed-window request counter like rate-limiter-flexible's in-memory limiter: a window opens with the
/// first request and lasts `seconds`; every request counts, refused ones too.
struct FixedWindow {
    let limit: Int
    let window: Interval
    private var end = MonotonicInstant(nanoseconds: 0)
    private var count = 0

    init(limit: Int, seconds: Int) {
        self.limit = limit
        self.window = .seconds(seconds)
    }

    /// Counts one request: nil while within the limit, else the whole seconds until the window closes.
    mutating func consume(now: MonotonicInstant = .now) -> Int? {
        if now >= end {
            end = now + window
            count = 0
        }
        count += 1
        guard count > limit else { return nil }
        return Int((end - now).inSeconds.rounded(.up))
    }
}

func epochSecondsNow() -> Int64 { Int64(epochSeconds()) }

/// Now as JavaScript's toISOString writes it (the vendors' own timestamps).
func rfc3339Now() -> String { RFC3339.format(epochSeconds: epochSeconds(), alwaysMilliseconds: true) }
