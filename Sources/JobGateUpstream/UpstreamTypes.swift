import JobGatePosix

/// One HTTP call to a vendor, as the runtime sends it (a planned call plus credentials and transport options).
public struct UpstreamRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    /// Sent after `headers`: the caller's own (request id, trace context, credentials). Two lists, so a call's
    /// planned headers and its caller's are not copied into a new one for every call.
    public var addedHeaders: [(name: String, value: String)]
    public var body: [UInt8]
    public var options: UpstreamOptions

    public init(method: String, url: String, headers: [(name: String, value: String)] = [],
                addedHeaders: [(name: String, value: String)] = [], body: [UInt8] = [],
                options: UpstreamOptions = UpstreamOptions()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.addedHeaders = addedHeaders
        self.body = body
        self.options = options
    }
}

/// Per-call transport settings, from the vendor's mapping file.
public struct UpstreamOptions: Sendable {
    /// The whole call, connect to last body byte.
    public var timeout: Interval = .seconds(10)
    public var connectTimeout: Interval = .seconds(3)
    /// A response body over this fails the call (`bodyTooLarge`) instead of growing memory.
    public var maxResponseBytes: Int = 4 * 1024 * 1024
    /// Plain http is refused unless the vendor's base URL was configured as http (local simulators).
    public var allowPlainHTTP = false
    /// A private CA bundle for this vendor; nil uses the system's. Verification is never turned off.
    public var caFile: String?
    /// Whether the call may reach the vendor twice. libcurl silently re-sends a request whose pooled connection
    /// died before an answer byte: harmless for a read or a PUT, a second write for a PATCH the vendor may
    /// already have acted on. A call that is not idempotent still goes on pooled connections, but a second
    /// attempt is stopped before it is sent and the call fails with `closedBeforeAnswer`.
    public var idempotent = true
    /// How long an idle pooled connection to this vendor is trusted by a call that is not idempotent (one that
    /// is trusts it at least `UpstreamClient.repeatableIdleReuseSeconds`), in whole seconds: it should be below the
    /// vendor's keep-alive timeout, so that a connection is not reused just as the vendor closes it. The
    /// vendor's own `Keep-Alive: timeout=N` lowers it to N - 1 once an answer has said so (never raises it: a
    /// proxy in front of the vendor may drop connections sooner than the server behind it announces).
    public var keepAliveSeconds = 4
    /// HTTP/2 over TLS where the vendor offers it, many calls multiplexed on one connection. Off unless the
    /// mapping asks: with this libcurl (7.88.1) a vendor that answers before reading a request's body and then
    /// resets the stream (nginx's `return` does) loses the answer of about one call in 200 under concurrency
    /// (CURLE_HTTP2_STREAM), which HTTP/1.1 on pooled connections never does.
    public var http2 = false

    public init() {}
}

public struct UpstreamResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// "1.1" or "2".
    public var httpVersion: String
    /// A successful call rarely needs its headers (error summaries and retries do), so the client hands
    /// over the raw field lines and they become strings only when asked for.
    private var headerStorage: HeaderStorage

    private enum HeaderStorage: Sendable {
        case fields([(name: String, value: String)])
        /// "name: value" lines, each ended by LF.
        case rawLines([UInt8])
    }

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], httpVersion: String = "1.1") {
        self.status = status
        self.headerStorage = .fields(headers)
        self.body = body
        self.httpVersion = httpVersion
    }

    init(status: Int, rawHeaderLines: [UInt8], body: [UInt8], httpVersion: String) {
        self.status = status
        self.headerStorage = .rawLines(rawHeaderLines)
        self.body = body
        self.httpVersion = httpVersion
    }

    public var headers: [(name: String, value: String)] {
        get {
            switch headerStorage {
            case .fields(let fields): fields
            case .rawLines(let lines): Self.fields(of: lines)
            }
        }
        set { headerStorage = .fields(newValue) }
    }

    /// Lines without a colon are dropped; a value's leading blanks are not part of it.
    private static func fields(of lines: [UInt8]) -> [(name: String, value: String)] {
        lines.split(separator: 0x0A).compactMap { line in
            guard let colon = line.firstIndex(of: 0x3A) else { return nil }
            var valueStart = colon + 1
            while valueStart < line.endIndex, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
            return (name: String(decoding: line[..<colon], as: UTF8.self),
                    value: String(decoding: line[valueStart...], as: UTF8.self))
        }
    }

    /// The first value of a response header (case-insensitive).
    public func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.first { $0.name.lowercased() == key }?.value
    }
}

/// Why a call produced no usable response. A closed set the normalizers map to statuses; it never carries
/// curl's error text (which can echo URLs with keys in them).
public enum UpstreamFailure: Error, Sendable, Equatable {
    case dnsFailure
    case connectionRefused
    case tlsFailure
    /// `requestSent`: the request (and its body) left us before the timeout, so a write may have landed.
    case timeout(requestSent: Bool)
    /// The connection closed or reset, before or during the response; `requestSent` as for timeouts.
    case connectionReset(requestSent: Bool)
    /// A pooled connection closed before any answer byte and the call, not idempotent, was not sent again
    /// (libcurl would have); `requestSent`: the request had left on that connection.
    case closedBeforeAnswer(requestSent: Bool)
    case bodyTooLarge
    case malformedResponse
    case protocolNotAllowed
    case other(code: Int)

    /// A short stable name for logs, metrics and problem bodies.
    public var kind: String {
        switch self {
        case .dnsFailure: "dns"
        case .connectionRefused: "connect"
        case .tlsFailure: "tls"
        case .timeout: "timeout"
        case .connectionReset: "reset"
        case .closedBeforeAnswer: "closed-before-answer"
        case .bodyTooLarge: "body-too-large"
        case .malformedResponse: "malformed-response"
        case .protocolNotAllowed: "protocol-not-allowed"
        case .other: "transport"
        }
    }

    /// Whether the request may have reached the vendor (so a write's outcome is unknown).
    public var requestMayHaveLanded: Bool {
        switch self {
        case .timeout(let sent), .connectionReset(let sent), .closedBeforeAnswer(let sent): sent
        case .bodyTooLarge, .malformedResponse: true
        default: false
        }
    }
}
