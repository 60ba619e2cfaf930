import JobGateCore
import JobGateHTTP
import JobGateJSON

extension Problem {
    public func response(instance: String, requestID: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers + [(name: "Content-Type", value: "application/problem+json")],
                     body: JSON.serialize(json(instance: instance, requestID: requestID)))
    }

    /// The problem for a request the HTTP layer could not read.
    public static func wire(_ error: HTTPParseError) -> Problem {
        switch error {
        case .badRequest(let why): .badRequest(why)
        case .uriTooLong: Problem(.uriTooLong, status: 414, title: "URI too long", detail: error.detail)
        case .headerFieldsTooLarge(let why):
            Problem(.headerFieldsTooLarge, status: 431, title: "Request header fields too large", detail: why)
        case .contentTooLarge:
            Problem(.contentTooLarge, status: 413, title: "Content too large", detail: error.detail)
        case .notImplemented(let why): Problem(.notImplemented, status: 501, title: "Not implemented", detail: why)
        case .versionNotSupported:
            Problem(.versionNotSupported, status: 505, title: "HTTP version not supported", detail: error.detail)
        case .expectationFailed:
            Problem(.expectationFailed, status: 417, title: "Expectation failed", detail: error.detail)
        }
    }
}
