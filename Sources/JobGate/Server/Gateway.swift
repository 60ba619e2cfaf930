import JobGateHTTP
import JobGateJSON
import JobGateUpstream

/// The request handler of one event loop: routes each request and turns every failure into a problem.
final class Gateway: HTTPHandler {
    private let loop: EventLoop
    private let store: StateStore
    private let log: Log
    /// Created on first use: libcurl's and OpenSSL's start-up cost (and resident pages) is paid only by a
    /// gateway that actually calls a vendor.
    private lazy var client = UpstreamClient(loop: loop)

    init(loop: EventLoop, store: StateStore, log: Log) {
        self.loop = loop
        self.store = store
        self.log = log
    }

    func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let state = store.current
        switch Route(path: request.path) {
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
            guard request.method == "PATCH" else {
                return fail(.methodNotAllowed(allow: "PATCH"), request, responder)
            }
            JobUpdateFlow(state: state, client: client, request: request, responder: responder)
                .run(rawID: rawID)
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
        HTTPResponse(status: status, headers: [(name: "Content-Type", value: "application/json")],
                     body: JSON.serialize(body))
    }
}

/// The problem `instance`: the request path, bounded (an attacker's 10 KB path is not echoed whole).
func instance(_ request: HTTPRequest) -> String {
    String(request.path.prefix(256))
}

/// The routes of the public surface (CONTRACT.md §3).
enum Route: Equatable {
    case health
    case ready
    case job(rawID: Substring)
    case unknown

    init(path: Substring) {
        switch path {
        case "/healthz": self = .health
        case "/readyz": self = .ready
        default:
            let prefix = "/jobs/"
            if path.hasPrefix(prefix), path.count > prefix.count {
                let id = path.dropFirst(prefix.count)
                self = id.contains("/") ? .unknown : .job(rawID: id)
            } else {
                self = .unknown
            }
        }
    }
}
