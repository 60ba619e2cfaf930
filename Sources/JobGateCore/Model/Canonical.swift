import JobGateJSON

/// The canonical writable fields of a Job (CONTRACT.md §3) and the rules every vendor shares.
public enum CanonicalField: String, CaseIterable, Sendable {
    case name, description, dueAt, goalQuantity, plannedDurationMinutes, reference, orderNumber
    case contactPersonId, customFields

    enum Kind {
        case nonEmptyString, string, dateTime, positiveInteger, nonNegativeInteger, uuid, stringMap
    }

    var kind: Kind {
        switch self {
        case .name: .nonEmptyString
        case .description, .reference, .orderNumber: .string
        case .dueAt: .dateTime
        case .goalQuantity: .positiveInteger
        case .plannedDurationMinutes: .nonNegativeInteger
        case .contactPersonId: .uuid
        case .customFields: .stringMap
        }
    }

    /// A raw-value enum hashes its raw string by default (SipHash over the name); fields are dictionary keys
    /// on every request, so they hash their position instead.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(position)
    }

    /// The field's place in `allCases`: an index into per-field tables (`VendorMapping.field(_:)`).
    var position: Int {
        switch self {
        case .name: 0
        case .description: 1
        case .dueAt: 2
        case .goalQuantity: 3
        case .plannedDurationMinutes: 4
        case .reference: 5
        case .orderNumber: 6
        case .contactPersonId: 7
        case .customFields: 8
        }
    }

    /// The field a patch member names. `init(rawValue:)` compares the name with every case in turn; a
    /// patch's names are looked up among the few fields of their length.
    static func named(_ name: String) -> CanonicalField? {
        let length = name.utf8.count
        guard length < byNameLength.count else { return nil }
        for field in byNameLength[length] where field.rawValue == name { return field }
        return nil
    }

    private static let byNameLength: [[CanonicalField]] = {
        var table = [[CanonicalField]](repeating: [], count: allCases.map(\.rawValue.utf8.count).max().map { $0 + 1 } ?? 0)
        for field in allCases { table[field.rawValue.utf8.count].append(field) }
        return table
    }()

    /// Whether `null` (unset) is meaningful for the field at all; a vendor may still refuse it.
    var isNullable: Bool {
        switch self {
        case .reference, .orderNumber, .contactPersonId: true
        default: false
        }
    }
}

/// Names of members that describe a Job but cannot be written.
let readOnlyJobMembers: Set<String> = ["id", "vendor", "vendorJobId", "createdAt", "updatedAt", "vendorData"]

/// A field of a patch: canonical, or one of the target vendor's raw fields.
public enum PatchField: Hashable, Sendable, CustomStringConvertible {
    case canonical(CanonicalField)
    case vendor(String)

    /// The name used in `errors` and in mapping `fields` lists.
    public var description: String {
        switch self {
        case .canonical(let field): field.rawValue
        case .vendor(let name): "vendorFields.\(name)"
        }
    }
}

/// Messages keyed by canonical field name, in the order found.
public struct FieldErrors: Error, Sendable {
    public private(set) var entries: [(field: String, messages: [String])] = []

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    public mutating func add(_ field: String, _ message: String) {
        if let index = entries.firstIndex(where: { $0.field == field }) {
            entries[index].messages.append(message)
        } else {
            entries.append((field, [message]))
        }
    }

    public mutating func merge(_ other: FieldErrors) {
        for entry in other.entries { for message in entry.messages { add(entry.field, message) } }
    }

    public var json: JSONValue {
        var object = JSONObject()
        for entry in entries { object[entry.field] = .array(entry.messages.map { .string($0) }) }
        return .object(object)
    }
}

/// Checks the vendor-independent shape of each canonical member (types, ranges, formats).
public enum CanonicalValidation {
    static func check(_ field: CanonicalField, _ value: JSONValue, into errors: inout FieldErrors) {
        let name = field.rawValue
        if value.isNull {
            if !field.isNullable { errors.add(name, "cannot be null: this field cannot be unset") }
            return
        }
        switch field.kind {
        case .nonEmptyString:
            guard let text = value.stringValue else { return errors.add(name, "must be a string") }
            // A visible ASCII first byte settles it without breaking the text into Characters, which is costly.
            let startsVisible = text.utf8.first.map { $0 > 0x20 && $0 < 0x7F } ?? false
            if !startsVisible && text.allSatisfy(\.isWhitespace) { errors.add(name, "must not be empty") }
        case .string:
            if value.stringValue == nil { errors.add(name, "must be a string") }
        case .dateTime:
            guard let text = value.stringValue, RFC3339.parse(text) != nil else {
                return errors.add(name, "must be an RFC 3339 date-time such as 2026-05-01T12:00:00Z")
            }
        case .positiveInteger:
            guard let number = safeInteger(value), number > 0 else { return errors.add(name, "must be an integer greater than 0") }
        case .nonNegativeInteger:
            guard let number = safeInteger(value), number >= 0 else { return errors.add(name, "must be an integer of at least 0") }
        case .uuid:
            guard let text = value.stringValue, isUUID(text) else { return errors.add(name, "must be a UUID") }
        case .stringMap:
            guard let object = value.objectValue else { return errors.add(name, "must be an object of id → string or null") }
            for (key, member) in object where !(member.isNull || member.stringValue != nil) {
                errors.add(name, "value of '\(key.prefix(64))' must be a string or null")
            }
        }
    }

    /// An integer within ±2^53 (JSON Schema's integer: `14.0` is 14); beyond that it would be rounded somewhere.
    static func safeInteger(_ value: JSONValue) -> Int64? {
        value.numberValue?.exactSafeInteger
    }

    /// The value as the vendor is sent it: integers in plain form (`14.0` goes out as `14`).
    static func normalized(_ field: CanonicalField, _ value: JSONValue) -> JSONValue {
        switch field.kind {
        case .positiveInteger, .nonNegativeInteger: safeInteger(value).map { JSONValue.number(JSONNumber($0)) } ?? value
        default: value
        }
    }

    public static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == 0x2D else { return false }
            } else if hexDigit(byte) == nil {
                return false
            }
        }
        return true
    }

    public static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x37
        case 0x61...0x66: byte - 0x57
        default: nil
        }
    }
}

extension String {
    /// Whether the text holds CR, LF or NUL, which must never reach an upstream header.
    public var hasLineBreakOrNUL: Bool { utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 } }
}

extension StringProtocol {
    /// Without leading and trailing characters that match `isTrimmed`.
    func trimmingCharacters(_ isTrimmed: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return String(self[first...last])
    }
}
