public struct JSONLimits: Sendable {
    public var maxDepth: Int
    public var maxBytes: Int

    public init(maxDepth: Int = 64, maxBytes: Int = .max) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
    }

    public static let `default` = JSONLimits()
}

public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case empty, unexpectedEnd, unexpectedByte, invalidNumber, numberOverflow, invalidString, invalidEscape
        case invalidUTF8, loneSurrogate, duplicateKey, tooDeep, tooLarge, trailingData
    }

    public let kind: Kind
    public let offset: Int
    /// A short safe note, such as the duplicated key (bounded).
    let note: String?

    init(_ kind: Kind, at offset: Int, note: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.note = note.map { String($0.prefix(64)) }
    }

    public static func == (lhs: JSONParseError, rhs: JSONParseError) -> Bool {
        lhs.kind == rhs.kind && lhs.offset == rhs.offset
    }

    public var description: String {
        let what: String = switch kind {
        case .empty: "empty document"
        case .unexpectedEnd: "unexpected end of input"
        case .unexpectedByte: "unexpected character"
        case .invalidNumber: "invalid number"
        case .numberOverflow: "number out of range"
        case .invalidString: "control character in string"
        case .invalidEscape: "invalid escape sequence"
        case .invalidUTF8: "invalid UTF-8"
        case .loneSurrogate: "unpaired UTF-16 surrogate escape"
        case .duplicateKey: "duplicate key" + (note.map { " \"\($0)\"" } ?? "")
        case .tooDeep: "nesting too deep"
        case .tooLarge: "document too large"
        case .trailingData: "data after the JSON value"
        }
        return "\(what) at byte \(offset)"
    }
}

public enum JSON {
    public static func parse(_ bytes: some Collection<UInt8>, limits: JSONLimits = .default) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            parseResult(buffer, limits: limits)
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { parseResult($0, limits: limits) }.get()
    }

    public static func parse(_ buffer: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONParseError) -> JSONValue {
        try parseResult(buffer.bindMemory(to: UInt8.self), limits: limits).get()
    }

    private static func parseResult(_ buffer: UnsafeBufferPointer<UInt8>, limits: JSONLimits) -> Result<JSONValue, JSONParseError> {
        var scanner = JSONScanner(buffer, limits: limits)
        return Result { () throws(JSONParseError) in try scanner.parseDocument() }
    }
}
