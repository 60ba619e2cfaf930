/// Where the scanner puts an object's members as it reads them: a tree's `JSONObject`, the member list of a
/// `JSONRawObject`, or nothing. The scanner keeps the rules (syntax, duplicate keys, limits); a sink keeps the values.
protocol JSONMemberSink {
    mutating func reserveCapacity(_ capacity: Int)
    /// Reads the value of member `key` at the scanner's position.
    mutating func readValue(for key: ScannedKey, from scanner: inout JSONScanner) throws(JSONParseError)
}

extension JSONObject: JSONMemberSink {
    mutating func readValue(for key: ScannedKey, from scanner: inout JSONScanner) throws(JSONParseError) {
        appendUnchecked(scanner.text(of: key), try scanner.readValue())
    }
}

/// A member name made ready once (its fingerprint, when it is ASCII) for finding members of `JSONRawObject`s
/// without making strings of their keys.
public struct JSONMemberName: Sendable, Equatable {
    public let text: String
    /// The fingerprint a plain key with this text has; nil when the text is not ASCII.
    let fingerprint: UInt64?

    public init(_ text: String) {
        self.text = text
        let bytes = Array(text.utf8)
        fingerprint = bytes.allSatisfy { $0 < 0x80 } ? bytes.withUnsafeBufferPointer(keyFingerprint) : nil
    }
}

/// Member names made ready once for telling raw members' keys from them: their fingerprints, when all are ASCII.
public struct JSONMemberNames: Sendable {
    public private(set) var texts: [String] = []
    fileprivate private(set) var fingerprints: [UInt64] = []
    fileprivate private(set) var areASCII = true

    public init() {}

    public mutating func append(_ name: JSONMemberName) {
        texts.append(name.text)
        if let fingerprint = name.fingerprint { fingerprints.append(fingerprint) } else { areASCII = false }
    }
}

/// An object document checked exactly as `JSON.parse` checks it, its members' keys and values left as their
/// bytes: what a gateway only passes on need not become strings and trees to be written out again.
public struct JSONRawObject: Sendable {
    public struct Member: Sendable {
        let key: ScannedKey
        /// The value's bytes in the document.
        let bytes: Range<Int>
        /// The bytes are what the serializer would write for the value (see `JSONScanner.skipValue`).
        let isCompact: Bool
        /// The whole member, `"key":value`, when its bytes are what the serializer would write for it.
        let compactText: Range<Int>?
    }

    let source: [UInt8]
    public let members: [Member]

    /// The member's key.
    public func key(of member: Member) -> String {
        source.withUnsafeBufferPointer { JSONScanner.text(of: member.key, in: $0) }
    }

    /// Whether the member's key is one of `names` as strings compare (canonically equivalent text is equal), as
    /// the tree's object subscript and the duplicate-key rule compare keys.
    public func isKey(of member: Member, amongst names: JSONMemberNames) -> Bool {
        guard let keyFingerprint = member.key.fingerprint, names.areASCII else {
            let key = key(of: member)
            return names.texts.contains(key)
        }
        // Two ASCII texts are equal strings exactly when their bytes are.
        return names.fingerprints.withUnsafeBufferPointer { fingerprints in
            for index in fingerprints.indices where fingerprints[index] == keyFingerprint {
                if hasKeyBytes(member, names.texts[index]) { return true }
            }
            return false
        }
    }

    /// The first member whose key is `name` (see `isKey`).
    public func member(named name: JSONMemberName) -> Member? {
        members.withUnsafeBufferPointer { members in
            for index in members.indices where isKey(of: members[index], name) { return members[index] }
            return nil
        }
    }

    /// Plain keys and ASCII names are told apart by their fingerprints, the rest as strings.
    @inline(__always)
    private func isKey(of member: Member, _ name: JSONMemberName) -> Bool {
        guard let keyFingerprint = member.key.fingerprint, let nameFingerprint = name.fingerprint else {
            return key(of: member) == name.text
        }
        // Two ASCII texts are equal strings exactly when their bytes are.
        return keyFingerprint == nameFingerprint && hasKeyBytes(member, name.text)
    }

    private func hasKeyBytes(_ member: Member, _ name: String) -> Bool {
        let keyBytes = member.key.bytes
        guard name.utf8.count == keyBytes.count else { return false }
        return source.withUnsafeBufferPointer { source in
            name.utf8.withContiguousStorageIfAvailable { name in
                for offset in 0..<name.count where name[offset] != source[keyBytes.lowerBound + offset] { return false }
                return true
            } ?? source[keyBytes].elementsEqual(name.utf8)
        }
    }

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
        for member in members { object.appendUnchecked(key(of: member), value(of: member)) }
        return .object(object)
    }
}

/// The member list a `JSONRawObject` is read into.
private struct RawMembers: JSONMemberSink {
    var members: [JSONRawObject.Member] = []

    mutating func reserveCapacity(_ capacity: Int) { members.reserveCapacity(capacity) }

    mutating func readValue(for key: ScannedKey, from scanner: inout JSONScanner) throws(JSONParseError) {
        let (bytes, isCompact) = try scanner.skipValue()
        // Compact when nothing but the colon stands between a plain key and a compact value.
        let compactText = key.fingerprint != nil && isCompact && key.bytes.upperBound + 2 == bytes.lowerBound
            ? (key.bytes.lowerBound - 1)..<bytes.upperBound : nil
        members.append(JSONRawObject.Member(key: key, bytes: bytes,
                                            isCompact: isCompact, compactText: compactText))
    }
}

/// The members of an object inside a member that is passed on as bytes: checked, and nothing kept but what
/// tells whether the object's bytes are what the serializer writes for it (see `JSONScanner.skipValue`).
struct SkippedMembers: JSONMemberSink {
    private(set) var count = 0
    /// Every member so far is a plain key, the colon, and a compact value, with nothing in between.
    private(set) var allCompact = true
    /// Those members' bytes, `"key":value`.
    private(set) var compactBytes = 0

    mutating func reserveCapacity(_ capacity: Int) {}

    mutating func readValue(for key: ScannedKey, from scanner: inout JSONScanner) throws(JSONParseError) {
        let (bytes, isCompact) = try scanner.skipValue()
        count += 1
        allCompact = allCompact && isCompact && key.fingerprint != nil && key.bytes.upperBound + 2 == bytes.lowerBound
        compactBytes += bytes.upperBound - (key.bytes.lowerBound - 1)
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
