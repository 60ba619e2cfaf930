/// A JSON number kept as its exact source text, so nothing is ever rounded on the way through.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    public let literal: String

    /// Nil unless `literal` is an RFC 8259 number.
    public init?(literal: String) {
        let ok: Bool = Array(literal.utf8).withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, limits: .default)
            return (try? scanner.scanNumberEnd()) == buffer.count
        }
        guard ok else { return nil }
        self.literal = literal
    }

    public init(_ value: Int64) {
        literal = String(value)
    }

    init(unchecked literal: String) {
        self.literal = literal
    }

    public var description: String { literal }

    private var isPlainInteger: Bool {
        let bytes = literal.utf8
        return !bytes.contains { $0 == 0x2E || $0 == 0x65 || $0 == 0x45 }
    }

    /// The value when the literal is a plain integer (no fraction or exponent) that fits Int64.
    public var int64Value: Int64? {
        isPlainInteger ? Int64(literal) : nil
    }

    /// A plain integer within ±2^53: representable exactly by every JSON implementation.
    public var isSafeInteger: Bool {
        guard let value = int64Value else { return false }
        return value.magnitude <= 1 << 53
    }

    public var doubleValue: Double { Double(literal) ?? .nan }

    /// The value when the number is an integer in JSON Schema's sense (a zero fraction counts: `14.0`,
    /// `1.4e1`) and within ±2^53, computed from the digits, never through a Double.
    public var exactSafeInteger: Int64? {
        if let value = int64Value { return value.magnitude <= 1 << 53 ? value : nil }
        var bytes = literal.utf8[...]
        let negative = bytes.first == 0x2D
        if negative { bytes = bytes.dropFirst() }
        let mantissa = bytes.prefix { $0 != 0x65 && $0 != 0x45 }
        let exponentText = bytes.dropFirst(mantissa.count + 1)
        var exponent = 0
        if !exponentText.isEmpty {
            // Past ±20 the integer part is either more than 2^53 or the digits are all fraction.
            guard let parsed = Int(String(decoding: exponentText, as: UTF8.self)), abs(parsed) <= 20 else { return nil }
            exponent = parsed
        }
        let integerDigits = mantissa.prefix { $0 != 0x2E }
        let digits = Array(integerDigits) + Array(mantissa.dropFirst(integerDigits.count + 1))
        let point = integerDigits.count + exponent
        guard point >= 0, digits.dropFirst(point).allSatisfy({ $0 == 0x30 }) else { return nil }
        var value: Int64 = 0
        for index in 0..<point {
            let digit = index < digits.count ? Int64(digits[index] - 0x30) : 0
            guard value <= (1 << 53) / 10 + 1 else { return nil }
            value = value * 10 + digit
        }
        guard value <= 1 << 53 else { return nil }
        return negative ? -value : value
    }
}

/// Members in the order they were parsed or set; keys are unique.
public struct JSONObject: Sendable, Equatable, Sequence {
    private var members: [(key: String, value: JSONValue)] = []

    public init() {}

    /// Room for `capacity` members before the storage has to grow.
    public init(reservingCapacity capacity: Int) {
        members.reserveCapacity(capacity)
    }

    /// Later duplicates replace earlier ones (the parser itself rejects duplicates).
    public init(_ members: [(String, JSONValue)]) {
        for (key, value) in members { self[key] = value }
    }

    public subscript(key: String) -> JSONValue? {
        get {
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                // Objects built member by member (a job's vendorData) would otherwise grow 1, 2, 4, 8, 16.
                if members.capacity == 0 { members.reserveCapacity(8) }
                members.append((key, newValue))
            }
        }
    }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    mutating func reserveCapacity(_ capacity: Int) {
        members.reserveCapacity(capacity)
    }

    /// Appends a member whose key the caller knows is not present (the parser checked already; a builder
    /// writing fixed, distinct names), skipping the search a subscript set does.
    public mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        assert(!members.contains { $0.key == key }, "duplicate key \(key)")
        members.append((key, value))
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}

/// Not `indirect`: arrays and objects already hold their elements out of line, and boxing every value would
/// cost an allocation per string, number and bool.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public init(_ string: String) { self = .string(string) }
    public init(_ integer: Int64) { self = .number(JSONNumber(integer)) }
    public init(_ integer: Int) { self = .number(JSONNumber(Int64(integer))) }
    public init(_ bool: Bool) { self = .bool(bool) }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}
