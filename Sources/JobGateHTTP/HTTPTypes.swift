import JobGatePosix

/// Limits applied while reading a request. Defaults follow nginx/Envoy (see README "Wire limits").
public struct HTTPLimits: Sendable {
    /// Longest request line (method, target, version) before 414.
    public var maxRequestLineBytes: Int = 8 * 1024
    /// Whole header section (request line included) before 431.
    public var maxHeaderBytes: Int = 32 * 1024
    /// Header field lines before 431.
    public var maxHeaderCount: Int = 100
    /// Decoded body bytes before 413.
    public var maxBodyBytes: Int = 1024 * 1024
    /// A chunk-size line including extensions; longer is malformed.
    public var maxChunkLineBytes: Int = 4 * 1024

    public init() {}
}

public enum HTTPVersion: Sendable, Equatable {
    case http1_0
    case http1_1
}

/// Header fields of one request, names lower-cased at parse time so look-ups are a plain compare. The fields
/// are kept as the bytes they arrived as, back to back: a request's handful of fields would otherwise cost two
/// strings each, while the gateway reads only a few of them, and mostly asks for ones that are absent.
public struct HTTPHeaders: Sendable, Sequence {
    private struct Field: Sendable {
        let nameStart: Int32
        let nameCount: Int32
        let valueStart: Int32
        let valueCount: Int32
        var nameRange: Range<Int> { Int(nameStart)..<Int(nameStart + nameCount) }
        var valueRange: Range<Int> { Int(valueStart)..<Int(valueStart + valueCount) }
    }

    private var bytes: [UInt8] = []
    private var fields: [Field] = []

    public init() {}

    public init(_ fields: [(name: String, value: String)]) {
        for field in fields { append(name: field.name, value: field.value) }
    }

    public mutating func append(name: String, value: String) {
        var field = name + ":" + value
        let nameCount = name.utf8.count
        field.withUTF8 { append(line: UnsafeRawBufferPointer($0), name: 0..<nameCount, value: (nameCount + 1)..<$0.count) }
    }

    /// For the parser: the field `line` with its name and value at `name` and `value`. The line is copied whole
    /// from the name's start to the value's end (one copy, not two: each append checks capacity and uniqueness),
    /// and the name is lower-cased in place.
    mutating func append(line: UnsafeRawBufferPointer, name: Range<Int>, value: Range<Int>) {
        if fields.isEmpty {
            fields.reserveCapacity(8)
            bytes.reserveCapacity(256)
        }
        let start = bytes.count - name.lowerBound
        fields.append(Field(nameStart: Int32(start + name.lowerBound), nameCount: Int32(name.count),
                            valueStart: Int32(start + value.lowerBound), valueCount: Int32(value.count)))
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[name.lowerBound..<value.upperBound]))
        bytes.withUnsafeMutableBufferPointer { stored in
            for index in (start + name.lowerBound)..<(start + name.upperBound) { stored[index] = asciiLowercase(stored[index]) }
        }
    }

    /// The first value of `name` (case-insensitive).
    public subscript(name: String) -> String? {
        firstValueBytes(name).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bytes of the first value of `name` (case-insensitive), nil when there is none: for the checks that need
    /// no string of it. Not a generic closure-taking look-up: called from another module, that would run the
    /// standard library's unspecialized `withUnsafeBytes` (hundreds of instructions) on every request.
    public func firstValueBytes(_ name: String) -> ArraySlice<UInt8>? {
        firstIndex(named: name).map { bytes[fields[$0].valueRange] }
    }

    public func values(_ name: String) -> [String] {
        indices(named: name).map(value(at:))
    }

    public func count(of name: String) -> Int {
        indices(named: name).count
    }

    public var count: Int { fields.count }

    /// The length of field `index`'s name, to tell names apart before comparing them.
    func nameLength(at index: Int) -> Int { Int(fields[index].nameCount) }

    func isNamed(_ index: Int, _ lowercaseName: StaticString) -> Bool {
        isNamed(index, UnsafeRawBufferPointer(start: lowercaseName.utf8Start, count: lowercaseName.utf8CodeUnitCount))
    }

    func name(at index: Int) -> String {
        String(decoding: bytes[fields[index].nameRange], as: UTF8.self)
    }

    func value(at index: Int) -> String {
        String(decoding: bytes[fields[index].valueRange], as: UTF8.self)
    }

    /// Compared on the name's own buffer: walking a String's `utf8` view costs more per byte than the compare.
    private func firstIndex(named name: String) -> Int? {
        var name = name
        return name.withUTF8 { key in fields.indices.first { isNamed($0, UnsafeRawBufferPointer(key)) } }
    }

    /// Every field named `name`, in arrival order (see `firstIndex`).
    private func indices(named name: String) -> [Int] {
        var name = name
        return name.withUTF8 { key in fields.indices.filter { isNamed($0, UnsafeRawBufferPointer(key)) } }
    }

    /// Whether field `index` is named `key`, ignoring ASCII case in `key` (stored names are lower-case). Lengths
    /// first: a request's few fields mostly differ in length from the one asked for.
    @inline(__always)
    private func isNamed(_ index: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        let field = fields[index]
        guard Int(field.nameCount) == key.count else { return false }
        let start = Int(field.nameStart)
        return bytes.withUnsafeBufferPointer { stored in
            for offset in 0..<key.count where stored[start + offset] != asciiLowercase(key[offset]) { return false }
            return true
        }
    }

    public struct Iterator: IteratorProtocol {
        fileprivate let headers: HTTPHeaders
        fileprivate var index = 0

        public mutating func next() -> (name: String, value: String)? {
            guard index < headers.fields.count else { return nil }
            defer { index += 1 }
            return (headers.name(at: index), headers.value(at: index))
        }
    }

    public func makeIterator() -> Iterator { Iterator(headers: self) }
}

/// A complete request as the router sees it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The raw request-target, always origin-form (starts with "/").
    public var target: String { didSet { queryMark = Self.queryMark(in: target) } }
    /// Where the target's "?" is: looked for once, as the router and the flags each ask for path and query.
    private var queryMark: String.Index?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Whether the connection may carry another request after this one.
    public var keepAlive: Bool

    public init(method: String, target: String, version: HTTPVersion = .http1_1,
                headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], keepAlive: Bool = true) {
        self.method = method
        self.target = target
        self.queryMark = Self.queryMark(in: target)
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    /// The target's path, before any "?".
    public var path: Substring {
        if let queryMark { return target[..<queryMark] }
        return target[...]
    }

    /// The target's query string without the "?", if any.
    public var query: Substring? {
        guard let queryMark else { return nil }
        return target[target.utf8.index(after: queryMark)...]
    }

    private static func queryMark(in target: String) -> String.Index? {
        let utf8 = target.utf8
        return firstByteOffset(in: utf8, where: { $0 == 0x3F }).map { utf8.index(utf8.startIndex, offsetBy: $0) }
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Bytes written verbatim instead of a framed response, then the connection closes. Only the vendor
    /// simulators use it, to inject broken upstream answers (cut bodies, garbage, silent closes).
    public private(set) var verbatim: [UInt8]?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func verbatim(_ bytes: [UInt8]) -> HTTPResponse {
        var response = HTTPResponse(status: 500)
        response.verbatim = bytes
        return response
    }
}

/// Why a request could not be read; each maps to the status RFC 9112/9110 asks for.
public enum HTTPParseError: Error, Sendable, Equatable {
    case badRequest(String)
    case uriTooLong
    case headerFieldsTooLarge(String)
    case contentTooLarge
    case notImplemented(String)
    case versionNotSupported
    case expectationFailed

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .uriTooLong: 414
        case .headerFieldsTooLarge: 431
        case .contentTooLarge: 413
        case .notImplemented: 501
        case .versionNotSupported: 505
        case .expectationFailed: 417
        }
    }

    public var detail: String {
        switch self {
        case .badRequest(let why): why
        case .uriTooLong: "The request line is longer than the server accepts."
        case .headerFieldsTooLarge(let why): why
        case .contentTooLarge: "The request body is larger than the server accepts."
        case .notImplemented(let why): why
        case .versionNotSupported: "Only HTTP/1.0 and HTTP/1.1 are supported."
        case .expectationFailed: "Only the expectation 100-continue is supported."
        }
    }
}

public let reasonPhrases: [Int: String] = [
    100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Content Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
    417: "Expectation Failed", 422: "Unprocessable Content", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
]
