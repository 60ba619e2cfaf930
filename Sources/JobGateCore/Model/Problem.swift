import JobGateJSON

/// An RFC 9457 problem. Every error JobGate answers goes through this one type, so no error path can
/// forget the request id, the content type, or leak something it should not.
public struct Problem: Error, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case badRequest = "bad-request"
        case unauthorized
        case notFound = "not-found"
        case methodNotAllowed = "method-not-allowed"
        case requestTimeout = "request-timeout"
        case contentTooLarge = "content-too-large"
        case uriTooLong = "uri-too-long"
        case unsupportedMediaType = "unsupported-media-type"
        case expectationFailed = "expectation-failed"
        case validation
        case headerFieldsTooLarge = "header-fields-too-large"
        case notImplemented = "not-implemented"
        case versionNotSupported = "version-not-supported"
        case forbidden
        case conflict
        case rateLimited = "rate-limited"
        case upstreamAuth = "upstream-auth"
        case upstreamError = "upstream-error"
        case upstreamTimeout = "upstream-timeout"
        case unavailable
        case internalError = "internal-error"

        public var uri: String { "https://jobgate.dev/problems/\(rawValue)" }
    }

    public var kind: Kind
    public var status: Int
    public var title: String
    public var detail: String
    /// Extension members (vendor, upstreamStatus, errors, ...), in order.
    public var extensions: JSONObject
    public var headers: [(name: String, value: String)]

    public init(_ kind: Kind, status: Int, title: String, detail: String,
                extensions: JSONObject = JSONObject(), headers: [(name: String, value: String)] = []) {
        self.kind = kind
        self.status = status
        self.title = title
        self.detail = detail
        self.extensions = extensions
        self.headers = headers
    }

    /// The RFC 9457 body. `instance` and `requestId` belong to a response; a problem nested in another
    /// answer (a read-back failure inside a Job) goes without them.
    public func json(instance: String? = nil, requestID: String? = nil) -> JSONValue {
        var body = JSONObject()
        body["type"] = .string(kind.uri)
        body["title"] = .string(title)
        body["status"] = .number(JSONNumber(Int64(status)))
        body["detail"] = .string(detail)
        if let instance { body["instance"] = .string(instance) }
        if let requestID { body["requestId"] = .string(requestID) }
        for (key, value) in extensions { body[key] = value }
        return .object(body)
    }
}

extension Problem {
    public static func badRequest(_ detail: String) -> Problem {
        Problem(.badRequest, status: 400, title: "Bad request", detail: detail)
    }

    public static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, status: 404, title: "Not found", detail: detail)
    }

    public static func methodNotAllowed(allow: String) -> Problem {
        Problem(.methodNotAllowed, status: 405, title: "Method not allowed",
                detail: "This resource supports \(allow).", headers: [(name: "Allow", value: allow)])
    }
}
