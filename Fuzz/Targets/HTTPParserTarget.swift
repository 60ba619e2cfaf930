// Fuzz target: the incremental HTTP/1.1 request parser (JobGateHTTP.HTTPRequestParser).
//
// The input is a byte stream from a client. It is parsed whole, one byte at a time, and in chunks of sizes chosen
// from the input's hash, each with the default limits and with tiny limits (so the 414/431/413 paths are reached
// by short inputs). Invariants:
//   - every way of splitting the stream yields the same requests (method, target, version, headers, body,
//     keep-alive), the same error, the same bytes left over and the same parser state at the end;
//   - at most one 100-continue per request, and only once its head asked for it;
//   - each request is self-consistent: origin-form target, token method and field names, no CR/LF/NUL in values,
//     one Host in HTTP/1.1, a body length equal to its Content-Length, no body without framing;
//   - a parsed request written back to the wire parses to the same request.
@testable import JobGateHTTP

private struct Outcome: Equatable {
    var requests: [Snapshot] = []
    var parsed: [HTTPRequest] = []
    var error: HTTPParseError?
    var leftover = 0
    var midRequest = false
    var readingBody = false

    static func == (lhs: Outcome, rhs: Outcome) -> Bool {
        lhs.requests == rhs.requests && lhs.error == rhs.error && lhs.leftover == rhs.leftover
            && lhs.midRequest == rhs.midRequest && lhs.readingBody == rhs.readingBody
    }
}

private struct Snapshot: Equatable {
    var method: String
    var target: String
    var version: HTTPVersion
    var headers: [String]
    var body: [UInt8]
    var keepAlive: Bool

    init(_ request: HTTPRequest) {
        method = request.method
        target = request.target
        version = request.version
        headers = request.headers.map { "\($0.name): \($0.value)" }
        body = request.body
        keepAlive = request.keepAlive
    }
}

private func run(_ bytes: UnsafeBufferPointer<UInt8>, pieces: [Int], limits: HTTPLimits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var buffer = ByteBuffer()
    var outcome = Outcome()
    var continuesThisRequest = 0
    var offset = 0
    for size in pieces {
        buffer.append(contentsOf: bytes[offset..<offset + size])
        offset += size
        while true {
            let result: HTTPRequestParser.Result
            do {
                result = try parser.parse(&buffer)
            } catch {
                outcome.error = error
                return outcome
            }
            switch result {
            case .needMore:
                break
            case .sendContinue:
                continuesThisRequest += 1
                require(continuesThisRequest == 1, "100-continue sent twice for one request")
                require(parser.isReadingBody, "100-continue before the head was complete")
                continue
            case .request(let request):
                if continuesThisRequest > 0 {
                    require(request.headers["expect"] != nil, "100-continue for a request without Expect")
                }
                continuesThisRequest = 0
                checkRequest(request, limits: limits)
                outcome.requests.append(Snapshot(request))
                outcome.parsed.append(request)
                continue
            }
            break
        }
    }
    outcome.leftover = buffer.readableCount
    outcome.midRequest = parser.isMidRequest
    outcome.readingBody = parser.isReadingBody
    return outcome
}

private func checkRequest(_ request: HTTPRequest, limits: HTTPLimits) {
    require(!request.method.isEmpty && request.method.utf8.allSatisfy(isTokenByte), "method \(request.method.debugDescription)")
    require(request.target.utf8.first == 0x2F, "target not origin-form: \(request.target.debugDescription)")
    require(request.target.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x23 }, "target bytes")
    for field in request.headers {
        require(!field.name.isEmpty && field.name.utf8.allSatisfy { isTokenByte($0) && !($0 >= 0x41 && $0 <= 0x5A) },
                "field name \(field.name.debugDescription)")
        require(!field.value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }, "field value with CR/LF/NUL")
        require(field.value.utf8.first != 0x20 && field.value.utf8.last != 0x20, "field value not trimmed")
    }
    require(request.headers.count <= limits.maxHeaderCount, "more header fields than the limit")
    require(request.body.count <= limits.maxBodyBytes, "body over the limit")
    let hosts = request.headers.count(of: "host")
    require(request.version == .http1_1 ? hosts == 1 : hosts <= 1, "Host count \(hosts)")
    let lengths = request.headers.values("content-length")
    let codings = request.headers.values("transfer-encoding")
    require(lengths.isEmpty || codings.isEmpty, "Content-Length and Transfer-Encoding both accepted")
    if let length = lengths.first {
        require(Int(length) == request.body.count, "Content-Length \(length) but a body of \(request.body.count) bytes")
    } else if codings.isEmpty {
        require(request.body.isEmpty, "a body without framing")
    }
    if request.version == .http1_0 && request.headers["connection"] == nil {
        require(!request.keepAlive, "HTTP/1.0 without Connection kept alive")
    }
}

/// The request as a client would send it: chunked bodies as one chunk, everything else verbatim.
private func wire(_ request: HTTPRequest) -> [UInt8] {
    var text = "\(request.method) \(request.target) \(request.version == .http1_1 ? "HTTP/1.1" : "HTTP/1.0")\r\n"
    for field in request.headers { text += "\(field.name): \(field.value)\r\n" }
    text += "\r\n"
    var bytes = Array(text.utf8)
    if request.headers["transfer-encoding"] != nil {
        if !request.body.isEmpty {
            bytes += Array((String(request.body.count, radix: 16) + "\r\n").utf8) + request.body + [0x0D, 0x0A]
        }
        bytes += Array("0\r\n\r\n".utf8)
    } else {
        bytes += request.body
    }
    return bytes
}

private let smallLimits: HTTPLimits = {
    var limits = HTTPLimits()
    limits.maxRequestLineBytes = 40
    limits.maxHeaderBytes = 160
    limits.maxHeaderCount = 4
    limits.maxBodyBytes = 48
    limits.maxChunkLineBytes = 16
    return limits
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var random = SplitMix(seed: bytes)
    var chunks: [Int] = []
    var left = size
    while left > 0 {
        let take = min(left, 1 + random.below(random.below(2) == 0 ? 8 : 300))
        chunks.append(take)
        left -= take
    }
    for limits in [HTTPLimits(), smallLimits] {
        let whole = run(bytes, pieces: [size], limits: limits)
        let single = run(bytes, pieces: Array(repeating: 1, count: size), limits: limits)
        let chunked = run(bytes, pieces: chunks, limits: limits)
        require(whole == single, "whole and byte-at-a-time disagree:\n  whole \(whole)\n  bytes \(single)")
        require(whole == chunked, "whole and chunks \(chunks) disagree:\n  whole \(whole)\n  chunks \(chunked)")

        for (request, parsed) in zip(whole.requests, whole.parsed).prefix(4) {
            // Round trip through the wire: what we accepted, written back, reads the same.
            let original = wire(parsed)
            let again = original.withUnsafeBufferPointer { run($0, pieces: [original.count], limits: HTTPLimits()) }
            require(again.error == nil && again.requests.count == 1 && again.leftover == 0,
                    "a parsed request written back does not parse: \(again)\n  wire \(String(decoding: original, as: UTF8.self).debugDescription)")
            require(again.requests.first == request, "round trip changed the request:\n  \(request)\n  \(again.requests)")
        }
    }
    return 0
}
