/// Where the scanner puts an object's members as it reads them: a tree's `JSONObject`, or the member list of
/// a `JSONRawObject`. The scanner keeps the rules (syntax, duplicate keys, limits); a sink keeps the values.
protocol JSONMemberSink {
    var count: Int { get }
    var keys: [String] { get }
    func containsKey(_ key: String) -> Bool
    mutating func reserveCapacity(_ capacity: Int)
    /// Reads the value of member `key` at the scanner's position; `quoted`: the key's bytes with their quotes
    /// when they are plain ASCII (what the serializer writes for it), else nil.
    mutating func readValue(for key: String, quoted: Range<Int>?, from scanner: inout JSONScanner) throws(JSONParseError)
}

extension JSONObject: JSONMemberSink {
    mutating func readValue(for key: String, quoted: Range<Int>?, from scanner: inout JSONScanner) throws(JSONParseError) {
        appendUnchecked(key, try scanner.readValue())
    }
}

/// An object document checked exactly as `JSON.parse` checks it, its members' values left as their bytes: what
/// a gateway only passes on need not become a tree of strings to be written out again.
public struct JSONRawObject: Sendable {
    public struct Member: Sendable {
        public let key: String
        /// The value's bytes in the document.
        let bytes: Range<Int>
        /// The bytes are what the serializer would write for the value (see `JSONScanner.skipValue`).
        let isCompact: Bool
        /// The whole member, `"key":value`, when its bytes are what the serializer would write for it.
        let compactText: Range<Int>?
    }

    let source: [UInt8]
    public let members: [Member]

    /// The member's value as a tree.
    public func value(of member: Member) -> JSONValue {
        // Read once already, so this cannot fail; null would only show a broken invariant.
        let parsed = source.withUnsafeBytes { (try? JSON.parse(UnsafeRawBufferPointer(rebasing: $0[member.bytes]))) }
        return parsed ?? .null
    }

    /// The member's value when it is a string.
    public func string(of member: Member) -> String? {
        guard source[member.bytes.lowerBound] == 0x22 else { return nil }
        guard member.isCompact else { return value(of: member).stringValue }
        return String(decoding: source[(member.bytes.lowerBound + 1)..<(member.bytes.upperBound - 1)], as: UTF8.self)
    }

    /// The member's value when it is a number: its literal.
    public func numberLiteral(of member: Member) -> String? {
        let first = source[member.bytes.lowerBound]
        guard first == 0x2D || (0x30...0x39).contains(first) else { return nil }
        return String(decoding: source[member.bytes], as: UTF8.self)
    }

    /// The whole object as a tree, for the paths that need one.
    public var json: JSONValue {
        var object = JSONObject(reservingCapacity: members.count)
        for member in members { object.appendUnchecked(member.key, value(of: member)) }
        return .object(object)
    }
}

/// The member list a `JSONRawObject` is read into.
private struct RawMembers: JSONMemberSink {
    var members: [JSONRawObject.Member] = []

    var count: Int { members.count }
    var keys: [String] { members.map(\.key) }
    func containsKey(_ key: String) -> Bool { members.contains { $0.key == key } }
    mutating func reserveCapacity(_ capacity: Int) { members.reserveCapacity(capacity) }

    mutating func readValue(for key: String, quoted: Range<Int>?, from scanner: inout JSONScanner) throws(JSONParseError) {
        let (bytes, isCompact) = try scanner.skipValue()
        // Compact when nothing but the colon stands between a plain key and a compact value.
        let compactText = quoted.flatMap { isCompact && $0.upperBound + 1 == bytes.lowerBound ? $0.lowerBound..<bytes.upperBound : nil }
        members.append(JSONRawObject.Member(key: key, bytes: bytes, isCompact: isCompact, compactText: compactText))
    }
}

/// The members of an object inside a member that is passed on as bytes: only their keys are kept, for the
/// duplicate-key rule.
struct SkippedMembers: JSONMemberSink {
    private(set) var keys: [String] = []

    var count: Int { keys.count }
    func containsKey(_ key: String) -> Bool { keys.contains(key) }
    mutating func reserveCapacity(_ capacity: Int) { keys.reserveCapacity(capacity) }

    mutating func readValue(for key: String, quoted: Range<Int>?, from scanner: inout JSONScanner) throws(JSONParseError) {
        keys.append(key)
        _ = try scanner.skipValue()
    }
}

extension JSON {
    /// The document's members when it is an object, nil when it is valid JSON of another kind; it throws
    /// exactly where `parse` throws.
    public static func parseObjectMembers(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONParseError) -> JSONRawObject? {
        let members = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> [JSONRawObject.Member]? in
                var scanner = JSONScanner(buffer, limits: limits)
                var sink = RawMembers()
                guard try scanner.readObjectDocument(into: &sink) else {
                    var whole = JSONScanner(buffer, limits: limits)
                    _ = try whole.parseDocument()
                    return nil
                }
                return sink.members
            }
        }
        return try members.get().map { JSONRawObject(source: bytes, members: $0) }
    }
}
