import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import JobGateCore
import JobGatePosix

/// The request handler of one event loop: routes each request and turns every failure into a problem.
final class Gateway: HTTPHandler {
    private let loop: EventLoop
    private let store: StateStore
    private let log: Log
    private let registry: MetricsRegistry
    /// This loop's shard of the metrics.
    private let metrics: Metrics
    /// Created on first use: libcurl's and OpenSSL's start-up cost (and resident pages) is paid only by a
    /// gateway that actually calls a vendor.
    private lazy var client = UpstreamClient(loop: loop, proxies: store.current.settings.upstreamProxies)

    init(loop: EventLoop, store: StateStore, log: Log, metrics: MetricsRegistry) {
        self.loop = loop
        self.store = store
        self.log = log
        self.registry = metrics
        self.metrics = metrics.recorder(forLoop: loop.index)
    }

    func handle(_ request: consuming HTTPRequest, responder: HTTPResponder) {
        let state = store.current
        let route = Route(path: request.path)
        let record = RequestRecord(request, route: route, log: log, metrics: metrics)
        metrics.requestStarted()
        responder.observer = record
        switch route {
        case .health:
            guard request.method == "GET" || request.method == "HEAD" else {
                return fail(.methodNotAllowed(allow: "GET, HEAD"), request, responder)
            }
            responder.respond(Self.json(200, ["status": "ok"]))
        case .ready:
            guard request.method == "GET" || request.method == "HEAD" else {
                return fail(.methodNotAllowed(allow: "GET, HEAD"), request, responder)
            }
            responder.respond(Self.json(200, [
                "status": "ready", "mappingHash": .string(state.mappings.hash),
                "vendors": .number(JSONNumber(Int64(state.mappings.vendors.count))),
            ]))
        case .job(let rawID):
            // No HEAD: it would call the vendor for an answer nobody reads.
            guard request.method == "PATCH" || request.method == "GET" else {
                let allow = JobFlow.allowedMethods(rawID: rawID, request: request, state: state)
                return fail(.methodNotAllowed(allow: allow), request, responder)
            }
            JobFlow(state: state, client: client, request: request, responder: responder, metrics: metrics,
                    record: record).run(rawID: rawID)
        case .metrics:
            guard request.method == "GET" || request.method == "HEAD" else {
                return fail(.methodNotAllowed(allow: "GET, HEAD"), request, responder)
            }
            responder.respond(HTTPResponse(status: 200, headers: [(name: "Content-Type", value: "text/plain; version=0.0.4")],
                                           body: Array(registry.render(gateway: state).utf8)))
        case .vendors:
            guard request.method == "GET" || request.method == "HEAD" else {
                return fail(.methodNotAllowed(allow: "GET, HEAD"), request, responder)
            }
            responder.respond(Self.json(200, VendorCatalog.describe(state)))
        case .openAPI:
            guard request.method == "GET" || request.method == "HEAD" else {
                return fail(.methodNotAllowed(allow: "GET, HEAD"), request, responder)
            }
            responder.respond(HTTPResponse(status: 200, headers: [(name: "Content-Type", value: "application/json")],
                                           body: OpenAPIDocument.bytes))
        case .unknown:
            fail(.notFound("No route for this path."), request, responder)
        }
    }

    func response(for error: HTTPParseError, requestID: String) -> HTTPResponse {
        Problem.wire(error).response(instance: "", requestID: requestID)
    }

    func timeoutResponse(requestID: String) -> HTTPResponse {
        Problem(.requestTimeout, status: 408, title: "Request timeout",
                detail: "The request was not received completely in time.")
            .response(instance: "", requestID: requestID)
    }

    private func fail(_ problem: Problem, _ request: HTTPRequest, _ responder: HTTPResponder) {
        responder.respond(problem.response(instance: instance(request), requestID: responder.requestID))
    }

    static func json(_ status: Int, _ body: JSONValue) -> HTTPResponse {
        json(status, bytes: JSON.serialize(body))
    }

    static func json(_ status: Int, bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonContentType, body: bytes)
    }

    /// Shared, so a response does not allocate its one header.
    private static let jsonContentType = [(name: "Content-Type", value: "application/json")]
}

/// The problem `instance`: the request path, bounded (an attacker's 10 KB path is not echoed whole).
func instance(_ request: HTTPRequest) -> String {
    String(request.path.prefix(256))
}

/// What the access log and metrics learn about one request while it is handled; as the responder's observer, it
/// writes them when the response is final. Loop-confined.
final class RequestRecord: HTTPResponseObserver {
    private let method: String
    private let routeName: String
    private let bytesIn: Int
    private let log: Log
    private let metrics: Metrics
    var vendor: String?
    /// The account's name (`default` for the top-level credentials), once `Job-Account` is resolved.
    var account: String?
    /// The account's runtime's metric labels, once `Job-Account` is resolved.
    var metricLabels: VendorAccount?
    /// The vendor calls made, formatted only if the access log is written.
    var upstreamSteps: [StepRecord] = []

    init(_ request: borrowing HTTPRequest, route: Route, log: Log, metrics: Metrics) {
        method = request.method
        routeName = route.name
        bytesIn = request.body.count
        self.log = log
        self.metrics = metrics
    }

    /// One access-log line and the request metrics, when the response is final.
    func observe(_ response: HTTPResponse, of responder: HTTPResponder) {
        let seconds = (MonotonicInstant.now - responder.receivedAt).inSeconds
        let labels = metricLabels ?? VendorAccount(vendor: vendor ?? "none", account: account ?? "none")
        metrics.requestFinished(labels, status: response.status, seconds: seconds)
        guard log.enabled(.info) else { return }
        // Fixed, distinct names: appended without the search a literal or a subscript does per member.
        var fields = JSONObject(reservingCapacity: 11)
        fields.appendUnchecked("requestId", .string(responder.requestID))
        fields.appendUnchecked("method", .string(method))
        fields.appendUnchecked("route", .string(routeName))
        fields.appendUnchecked("status", .number(JSONNumber(Int64(response.status))))
        fields.appendUnchecked("totalMs", .number(JSONNumber(literal: format3(seconds * 1000)) ?? JSONNumber(0)))
        fields.appendUnchecked("bytesIn", .number(JSONNumber(Int64(bytesIn))))
        fields.appendUnchecked("bytesOut", .number(JSONNumber(Int64(response.body.count))))
        if let vendor { fields.appendUnchecked("vendor", .string(vendor)) }
        if let account { fields.appendUnchecked("account", .string(account)) }
        if !upstreamSteps.isEmpty {
            let statuses = upstreamSteps.map { $0.status.map(String.init) ?? ($0.error ?? "error") }
            let upstream = upstreamSteps.reduce(Interval.zero) { $0 + $1.duration }
            fields.appendUnchecked("upstreamStatuses", .array(statuses.map { .string($0) }))
            fields.appendUnchecked("upstreamMs", .number(JSONNumber(literal: format3(upstream.inSeconds * 1000)) ?? JSONNumber(0)))
        }
        log.info("request", fields)
    }
}

/// A number with three decimals, without Foundation's formatter.
func format3(_ value: Double) -> String {
    let scaled = Int64((value * 1000).rounded())
    var text = String(scaled / 1000)
    text.append(".")
    text.append(threeDigitFractions[Int(abs(scaled % 1000))])
    return text
}

/// ".000" to ".999" without the dot, made once: two of them go into every access-log line.
private let threeDigitFractions: [String] = (0..<1000).map { String($0).leftPadded(to: 3) }

/// The routes of the public surface (CONTRACT.md §3).
enum Route: Equatable {
    case health
    case ready
    case metrics
    case vendors
    case openAPI
    case job(rawID: Substring)
    case unknown

    /// A bounded name for logs (never the raw path, which carries ids).
    var name: String {
        switch self {
        case .health: "/healthz"
        case .ready: "/readyz"
        case .metrics: "/metrics"
        case .vendors: "/vendors"
        case .openAPI: "/openapi.json"
        case .job: "/jobs/{id}"
        case .unknown: "unknown"
        }
    }

    init(path: Substring) {
        var path = path
        self = path.withUTF8 { Self.fixedRoute(UnsafeRawBufferPointer($0)) }
            ?? .job(rawID: path[path.utf8.index(path.startIndex, offsetBy: Self.jobsPrefix.utf8CodeUnitCount)...])
    }

    private static let jobsPrefix: StaticString = "/jobs/"

    /// The route of a path other than a job's; nil for "/jobs/{id}". Compared as bytes in the string's own
    /// buffer: String comparison would normalize Unicode, and walking a UTF-8 view's indices costs several times
    /// as much.
    private static func fixedRoute(_ bytes: UnsafeRawBufferPointer) -> Route? {
        func equals(_ literal: StaticString) -> Bool {
            bytes.count == literal.utf8CodeUnitCount && literal.withUTF8Buffer { bytes.elementsEqual($0) }
        }
        if jobsPrefix.withUTF8Buffer({ bytes.starts(with: $0) }) {
            let id = bytes[jobsPrefix.utf8CodeUnitCount...]
            return id.isEmpty || id.contains(0x2F) ? .unknown : nil
        }
        if equals("/healthz") { return .health }
        if equals("/readyz") { return .ready }
        if equals("/metrics") { return .metrics }
        if equals("/vendors") { return .vendors }
        if equals("/openapi.json") { return .openAPI }
        return .unknown
    }
}
