#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JobGatePosix

/// An incremental, strict HTTP/1.1 request reader (RFC 9112).
///
/// It is fed a connection's input buffer as bytes arrive and consumes complete lines and body bytes from it,
/// so a request may arrive one byte at a time or several pipelined requests in one read. Anything RFC 9112
/// lets a server reject is rejected: after an error the connection must be closed, because the framing of
/// whatever follows can no longer be trusted.
public struct HTTPRequestParser: Sendable {
    public enum Result: Sendable {
        /// More bytes are needed. `startedRequest` tells whether part of a request has arrived.
        case needMore
        /// The head asked for `100-continue` and its body has not arrived yet: send the interim response.
        case sendContinue
        case request(HTTPRequest)
    }

    private enum Stage: Sendable {
        case requestLine
        case headerLines
        case fixedBody(remaining: Int)
        case chunkSizeLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailerLines
    }

    public let limits: HTTPLimits
    private var stage: Stage = .requestLine
    /// Bytes of the current, unfinished line already scanned and known to hold no line end.
    private var scannedLineBytes = 0
    private var headBytes = 0
    private var continueSent = false
    private var pending = HTTPRequest(method: "", target: "")

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether some bytes of a request have been read (as opposed to waiting between requests).
    public var isMidRequest: Bool {
        if case .requestLine = stage { return scannedLineBytes > 0 }
        return true
    }

    /// Whether the head is complete and the body is being read.
    public var isReadingBody: Bool {
        switch stage {
        case .requestLine, .headerLines: false
        default: true
        }
    }

    public mutating func parse(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> Result {
        while true {
            switch stage {
            case .requestLine:
                guard let length = try nextLineLength(buffer, limit: limits.maxRequestLineBytes, tooLong: .uriTooLong) else {
                    return .needMore
                }
                if length == 0 { buffer.consume(2); continue } // RFC 9112 §2.2: ignore empty lines before a request.
                headBytes = length + 2
                try buffer.withReadableBytes(count: length) { line throws(HTTPParseError) in try readRequestLine(line) }
                buffer.consume(length + 2)
                stage = .headerLines

            case .headerLines:
                let room = limits.maxHeaderBytes - headBytes
                let tooLarge = HTTPParseError.headerFieldsTooLarge("The header section is larger than the server accepts.")
                guard let length = try nextLineLength(buffer, limit: max(room - 2, 0), tooLong: tooLarge) else {
                    return .needMore
                }
                headBytes += length + 2
                if length == 0 {
                    buffer.consume(2)
                    if let done = try finishHead(&buffer) { return done }
                    continue
                }
                if pending.headers.count >= limits.maxHeaderCount {
                    throw .headerFieldsTooLarge("More than \(limits.maxHeaderCount) header fields.")
                }
                try buffer.withReadableBytes(count: length) { line throws(HTTPParseError) in
                    let field = try Self.readFieldLine(line)
                    pending.headers.append(line: line, name: field.name, value: field.value)
                }
                buffer.consume(length + 2)

            case .fixedBody(let remaining):
                let take = min(remaining, buffer.readableCount)
                buffer.move(take, appendingTo: &pending.body)
                if take < remaining {
                    stage = .fixedBody(remaining: remaining - take)
                    return .needMore
                }
                return .request(finishRequest())

            case .chunkSizeLine:
                guard let length = try nextLineLength(buffer, limit: limits.maxChunkLineBytes,
                                                      tooLong: .badRequest("A chunk-size line is too long.")) else {
                    return .needMore
                }
                let size = try buffer.withReadableBytes(count: length) { line throws(HTTPParseError) in
                    try Self.readChunkSize(line)
                }
                buffer.consume(length + 2)
                if size == 0 {
                    stage = .trailerLines
                } else {
                    guard size <= limits.maxBodyBytes - pending.body.count else { throw .contentTooLarge }
                    stage = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                let take = min(remaining, buffer.readableCount)
                buffer.move(take, appendingTo: &pending.body)
                if take < remaining {
                    stage = .chunkData(remaining: remaining - take)
                    return .needMore
                }
                stage = .chunkDataEnd

            case .chunkDataEnd:
                guard buffer.readableCount >= 2 else {
                    if buffer.readableCount == 1, buffer[0] != 0x0D { throw .badRequest("Chunk data is not followed by CRLF.") }
                    return .needMore
                }
                guard buffer[0] == 0x0D, buffer[1] == 0x0A else { throw .badRequest("Chunk data is not followed by CRLF.") }
                buffer.consume(2)
                stage = .chunkSizeLine

            case .trailerLines:
                // Trailers are read for framing and then dropped: nothing downstream may trust them.
                let room = limits.maxHeaderBytes - headBytes
                guard let length = try nextLineLength(buffer, limit: max(room - 2, 0),
                                                      tooLong: .headerFieldsTooLarge("The trailer section is too large.")) else {
                    return .needMore
                }
                headBytes += length + 2
                if length == 0 {
                    buffer.consume(2)
                    return .request(finishRequest())
                }
                _ = try buffer.withReadableBytes(count: length) { line throws(HTTPParseError) in try Self.readFieldLine(line) }
                buffer.consume(length + 2)
            }
        }
    }

    // MARK: Lines

    /// The length of the next CRLF-terminated line (without the CRLF), or nil if it is incomplete. The
    /// caller reads the line in place and consumes it with its CRLF. A bare CR or a bare LF is an error:
    /// we do not guess at line ends.
    private mutating func nextLineLength(_ buffer: ByteBuffer, limit: Int,
                                         tooLong: HTTPParseError) throws(HTTPParseError) -> Int? {
        let available = buffer.readableCount
        let start = scannedLineBytes
        // Only the line's first `limit + 1` bytes are looked at, so a line is too long at the same byte however
        // it arrives; the line end is found by `memchr`, a word or a vector at a time.
        let end = min(available, limit + 1)
        let scanned: (length: Int?, scanned: Int) = try buffer.withReadableBytes(count: available) { bytes throws(HTTPParseError) in
            // The first CR among the bytes looked at, with no LF before it.
            var carriageReturn: Int?
            if start < end, let base = bytes.baseAddress {
                carriageReturn = memchr(base + start, 0x0D, end - start).map { base.distance(to: UnsafeRawPointer($0)) }
                if memchr(base + start, 0x0A, (carriageReturn ?? end) - start) != nil {
                    throw .badRequest("A line ends with a bare LF; CRLF is required.")
                }
            }
            guard let index = carriageReturn else {
                if available > limit { throw tooLong }
                return (nil, available)
            }
            guard index + 1 < available else { return (nil, index) }
            guard bytes[index + 1] == 0x0A else { throw .badRequest("A bare CR is not allowed.") }
            return (index, 0)
        }
        scannedLineBytes = scanned.scanned
        return scanned.length
    }

    // MARK: Request line

    private mutating func readRequestLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) {
        guard let firstSpace = line.firstIndex(of: 0x20) else { throw .badRequest("Malformed request line.") }
        guard let lastSpace = line.lastIndex(of: 0x20), lastSpace > firstSpace + 1 else {
            throw .badRequest("Malformed request line.")
        }
        let method = line[..<firstSpace]
        let target = line[(firstSpace + 1)..<lastSpace]
        let version = line[(lastSpace + 1)...]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw .badRequest("Malformed request method.") }
        pending.version = try Self.readVersion(version)
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x23 }) else {
            throw .badRequest("The request target has a character that is not allowed.")
        }
        guard target.first == 0x2F else {
            throw .badRequest("Only origin-form request targets (starting with \"/\") are accepted.")
        }
        pending.method = String(decoding: method, as: UTF8.self)
        pending.target = String(decoding: target, as: UTF8.self)
    }

    private static func readVersion(_ text: UnsafeRawBufferPointer.SubSequence) throws(HTTPParseError) -> HTTPVersion {
        let bytes = UnsafeRawBufferPointer(rebasing: text)
        guard bytes.count == 8, hasPrefix(bytes, "HTTP/") else { throw .badRequest("Malformed HTTP version.") }
        if hasPrefix(bytes, "HTTP/1.1") { return .http1_1 }
        if hasPrefix(bytes, "HTTP/1.0") { return .http1_0 }
        guard isDigit(bytes[5]), bytes[6] == 0x2E, isDigit(bytes[7]) else { throw .badRequest("Malformed HTTP version.") }
        throw .versionNotSupported
    }

    // MARK: Header fields

    /// Where the field's name and its value (without surrounding whitespace) are in the line.
    static func readFieldLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (name: Range<Int>, value: Range<Int>) {
        if line.first == 0x20 || line.first == 0x09 {
            throw .badRequest("Obsolete line folding is not accepted.")
        }
        // The name is checked as the colon is looked for, in one pass.
        var colon = 0
        while colon < line.count, line[colon] != 0x3A {
            guard isTokenByte(line[colon]) else {
                guard line[colon...].contains(0x3A) else { throw .badRequest("A header line has no colon.") }
                throw .badRequest("A header field name has a character that is not allowed (whitespace before the colon?).")
            }
            colon += 1
        }
        guard colon < line.count else { throw .badRequest("A header line has no colon.") }
        guard colon > 0 else { throw .badRequest("A header field name is empty.") }
        let value = trimmingOWS(line[(colon + 1)...])
        for byte in value where !(byte == 0x09 || byte >= 0x20) || byte == 0x7F {
            throw .badRequest("A header field value has a control character.")
        }
        return (0..<colon, value.startIndex..<value.endIndex)
    }

    // MARK: Framing

    /// The framing fields of a head, gathered in one pass over its headers. Names are told apart by length
    /// first: most fields are none of these, and a length costs nothing where a string comparison does not.
    private struct Framing {
        var hostCount = 0
        var transferEncodingCount = 0
        var transferEncoding: String?
        var contentLength: String?
        var differingContentLengths = false
        var connectionValues: [String] = []
        var expectation: String?

        init(_ headers: HTTPHeaders) {
            for index in 0..<headers.count {
                switch headers.nameLength(at: index) {
                case 4 where headers.isNamed(index, "host"):
                    hostCount += 1
                case 17 where headers.isNamed(index, "transfer-encoding"):
                    transferEncodingCount += 1
                    if transferEncoding == nil { transferEncoding = headers.value(at: index) }
                case 14 where headers.isNamed(index, "content-length"):
                    let value = headers.value(at: index)
                    if let first = contentLength { differingContentLengths = differingContentLengths || value != first }
                    else { contentLength = value }
                case 10 where headers.isNamed(index, "connection"):
                    connectionValues.append(headers.value(at: index))
                case 6 where headers.isNamed(index, "expect"):
                    if expectation == nil { expectation = headers.value(at: index) }
                default:
                    break
                }
            }
        }
    }

    private mutating func finishHead(_ buffer: inout ByteBuffer) throws(HTTPParseError) -> Result? {
        let framing = Framing(pending.headers)
        let hostCount = framing.hostCount
        if pending.version == .http1_1 && hostCount != 1 || hostCount > 1 {
            throw .badRequest(hostCount == 0 ? "HTTP/1.1 requests need a Host header." : "More than one Host header.")
        }
        pending.keepAlive = Self.wantsKeepAlive(framing.connectionValues, version: pending.version)

        if let coding = framing.transferEncoding {
            guard framing.contentLength == nil else {
                throw .badRequest("Content-Length and Transfer-Encoding together are not accepted.")
            }
            guard pending.version == .http1_1 else { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request.") }
            guard framing.transferEncodingCount == 1 else { throw .badRequest("More than one Transfer-Encoding header.") }
            guard !coding.isEmpty else { throw .badRequest("Empty Transfer-Encoding.") }
            guard asciiCaseInsensitiveEquals(coding.utf8, "chunked") else {
                throw .notImplemented("Only the chunked transfer coding is supported.")
            }
        }
        let contentLength = try Self.readContentLength(framing)
        if let contentLength, contentLength > limits.maxBodyBytes { throw .contentTooLarge }

        if let expectation = framing.expectation {
            guard asciiCaseInsensitiveEquals(expectation.utf8, "100-continue") else { throw .expectationFailed }
        }
        let expectsContinue = framing.expectation != nil && pending.version == .http1_1

        if framing.transferEncoding != nil {
            stage = .chunkSizeLine
        } else if let contentLength, contentLength > 0 {
            stage = .fixedBody(remaining: contentLength)
            pending.body.reserveCapacity(contentLength)
        } else {
            return .request(finishRequest())
        }
        if expectsContinue && !continueSent && buffer.isEmpty {
            continueSent = true
            return .sendContinue
        }
        return nil
    }

    private static func readContentLength(_ framing: Framing) throws(HTTPParseError) -> Int? {
        guard let text = framing.contentLength else { return nil }
        guard !framing.differingContentLengths else { throw .badRequest("Differing Content-Length values.") }
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(isDigit) else {
            throw .badRequest("Content-Length must be a decimal number of at most 18 digits.")
        }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    private static func wantsKeepAlive(_ connectionValues: [String], version: HTTPVersion) -> Bool {
        var close = version == .http1_0
        for value in connectionValues {
            for token in value.utf8.split(separator: 0x2C).map(trimmingOWS) {
                if asciiCaseInsensitiveEquals(token, "close") { return false }
                if asciiCaseInsensitiveEquals(token, "keep-alive") { close = false }
            }
        }
        return !close
    }

    static func readChunkSize(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        var size = 0
        var index = 0
        while index < line.count, let digit = hexValue(line[index]) {
            guard index < 15 else { throw .badRequest("A chunk size is too large.") }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .badRequest("A chunk size is not a hexadecimal number.") }
        var rest = line[index...]
        while let byte = rest.first, byte == 0x20 || byte == 0x09 { rest = rest.dropFirst() }
        guard rest.isEmpty || rest.first == 0x3B else { throw .badRequest("Malformed chunk size line.") }
        for byte in rest where !(byte == 0x09 || byte >= 0x20) || byte == 0x7F {
            throw .badRequest("A chunk extension has a control character.")
        }
        return size
    }

    private mutating func finishRequest() -> HTTPRequest {
        // Swapped out rather than copied and replaced: a copy would count a reference to each of its members.
        var request = HTTPRequest(method: "", target: "")
        swap(&request, &pending)
        stage = .requestLine
        headBytes = 0
        continueSent = false
        return request
    }
}

@inline(__always)
func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

@inline(__always)
func hexValue(_ byte: UInt8) -> Int? {
    switch byte {
    case 0x30...0x39: Int(byte - 0x30)
    case 0x41...0x46: Int(byte - 0x41 + 10)
    case 0x61...0x66: Int(byte - 0x61 + 10)
    default: nil
    }
}

/// RFC 9110 token characters: VCHAR minus delimiters.
@inline(__always)
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
    default: false
    }
}
