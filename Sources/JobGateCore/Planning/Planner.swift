import JobGateJSON

/// One upstream call, fully decided except for credentials (added when it is sent, so a plan is safe to show).
/// A class, not a struct: the execution hands its calls around several times per request, and copying half a
/// dozen reference-counted members each time cost more than the one reference.
public final class PlannedCall: Sendable {
    public let name: String
    public let method: String
    public let url: String
    public let headers: [(name: String, value: String)]
    public let body: JSONValue?
    public let idempotent: Bool
    public let purpose: Purpose
    /// The body holds only the patch's part: before sending, each of the call's fields is merged into its
    /// current value from the merge-base read (see `Planner.merged`).
    public let mergesWithRead: Bool
    /// The patch members this call applies: the patch's own list when the call takes them all.
    let carried: [(field: PatchField, value: JSONValue)]

    init(name: String, method: String, url: String, headers: [(name: String, value: String)], body: JSONValue?,
         idempotent: Bool, purpose: Purpose, mergesWithRead: Bool, carried: [(field: PatchField, value: JSONValue)]) {
        self.name = name
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.idempotent = idempotent
        self.purpose = purpose
        self.mergesWithRead = mergesWithRead
        self.carried = carried
    }
    /// The patch fields this call applies, as named in `errors`.
    public var fields: [String] { carried.map(\.field.description) }

    func carries(_ field: PatchField) -> Bool {
        carried.contains { $0.field == field }
    }

    public var bodyBytes: [UInt8] { body.map(JSON.serialize) ?? [] }

    public enum Purpose: Sendable, Equatable {
        /// Changes the job.
        case write
        /// Reads the job before any write, for calls whose parts the vendor replaces whole.
        case mergeBase
        /// Reads the job after writes that answer without it.
        case readBack
        /// Reads the job for a patch that changes nothing.
        case read
    }

    public var isRead: Bool { purpose != .write }
}

/// Pure translation of a validated patch into the vendor's calls, in the mapping's order.
public enum Planner {
    /// Every call an update makes, in order: the merge-base read if a write needs one, the writes, and the
    /// read-back unless the caller asked for a minimal answer. A patch that changes nothing (RFC 7396: `{}`)
    /// writes nothing and reads the current job instead; nil when the vendor cannot read either.
    public static func update(_ patch: ValidatedPatch, vendorJobID: String, mapping: VendorMapping,
                              returnMinimal: Bool) -> [PlannedCall]? {
        let writes = plan(patch, vendorJobID: vendorJobID, mapping: mapping)
        guard !writes.isEmpty else {
            return read(vendorJobID: vendorJobID, mapping: mapping, purpose: .read).map { [$0] }
        }
        // The writes' own array, grown only when a read joins them.
        var calls = writes
        if writes.contains(where: \.mergesWithRead), let base = read(vendorJobID: vendorJobID, mapping: mapping, purpose: .mergeBase) {
            calls.insert(base, at: 0)
        }
        if mapping.readAfterWrite && !returnMinimal, let readBack = read(vendorJobID: vendorJobID, mapping: mapping, purpose: .readBack) {
            calls.append(readBack)
        }
        return calls
    }

    /// The write calls for a patch, in the mapping's order; none for an empty patch.
    public static func plan(_ patch: ValidatedPatch, vendorJobID: String, mapping: VendorMapping) -> [PlannedCall] {
        guard !patch.members.isEmpty else { return [] }
        let encodedID = percentEncoded(vendorJobID)
        return zip(mapping.calls, mapping.callURLs).compactMap { template, url in
            let carried = template.fields.map { fields in patch.members.filter { fields.contains($0.field) } } ?? patch.members
            // A call limited to some fields is made only when one of them is present (bytenite's parts).
            if template.fields != nil && carried.isEmpty { return nil }
            let body: JSONValue? = switch template.body {
            case .none: nil
            case .value: carried.first.map { upstreamValue($0.field, $0.value, mapping) }
            case .object: objectBody(carried, mapping)
            }
            return call(template, url: url.url(encodedID: encodedID), mapping: mapping, body: body,
                        carried: carried, purpose: .write)
        }
    }

    /// The vendor's read call (GET of the job), if the mapping has one.
    public static func read(vendorJobID: String, mapping: VendorMapping, purpose: PlannedCall.Purpose = .readBack) -> PlannedCall? {
        guard let template = mapping.read, let url = mapping.readURL else { return nil }
        return call(template, url: url.url(encodedID: percentEncoded(vendorJobID)), mapping: mapping, body: nil, carried: [],
                    purpose: purpose)
    }

    /// A call's body with the patch merged into the job's current parts (RFC 7396), so members the patch
    /// leaves out keep their values where the vendor replaces a part whole. Every field the call sends is
    /// sent, patched or not: a part missing from the body would be reset too.
    public static func merged(_ call: PlannedCall, currentJob: JSONValue, mapping: VendorMapping) -> JSONValue? {
        guard call.mergesWithRead, let template = mapping.calls.first(where: { $0.name == call.name }) else { return call.body }
        let fields = template.fields ?? call.carried.map(\.field)
        func current(_ field: PatchField) -> JSONValue? { readPointer(field, mapping)?.value(in: currentJob) }
        func patched(_ field: PatchField) -> JSONValue? {
            let base = current(field)
            guard let patch = call.body.flatMap({ body in
                template.body == .value ? body : targetPointer(field, mapping)?.value(in: body)
            }), call.carries(field) else { return base.map { typed($0, field, mapping) } }
            return typed(JSONMergePatch.apply(patch, to: base ?? .null), field, mapping)
        }
        switch template.body {
        case .none: return nil
        case .value: return fields.first.flatMap(patched)
        case .object:
            var body = JSONValue.object(JSONObject())
            for field in fields {
                guard let value = patched(field), let pointer = targetPointer(field, mapping) else { continue }
                pointer.set(value, in: &body)
            }
            return body
        }
    }

    private static func call(_ template: CallTemplate, url: String, mapping: VendorMapping, body: JSONValue?,
                             carried: [(field: PatchField, value: JSONValue)], purpose: PlannedCall.Purpose) -> PlannedCall {
        let headers = body == nil ? mapping.headersWithoutBody : mapping.headersWithBody
        return PlannedCall(name: template.name, method: template.method, url: url, headers: headers,
                           body: body, idempotent: template.idempotent, purpose: purpose,
                           mergesWithRead: template.mergesWithRead, carried: carried)
    }

    private static func objectBody(_ members: [(field: PatchField, value: JSONValue)], _ mapping: VendorMapping) -> JSONValue {
        var body = JSONValue.object(JSONObject())
        for member in members {
            guard let pointer = targetPointer(member.field, mapping) else { continue }
            pointer.set(upstreamValue(member.field, member.value, mapping), in: &body)
        }
        return body
    }

    private static func targetPointer(_ field: PatchField, _ mapping: VendorMapping) -> JSONPointer? {
        switch field {
        case .canonical(let canonical): mapping.field(canonical)?.to
        case .vendor(let name): mapping.vendorField(name)?.to
        }
    }

    /// Members the mapping types as integers go out as JSON numbers even where the vendor's read wrote
    /// them as strings (protobuf's JSON form of int64: ByteNite's "3600"), as its request schema expects.
    private static func typed(_ value: JSONValue, _ field: PatchField, _ mapping: VendorMapping) -> JSONValue {
        guard case .vendor(let name) = field, let spec = mapping.vendorField(name), var object = value.objectValue else { return value }
        for (key, type) in spec.keyTypes where type == .integer {
            if let text = object[key]?.stringValue, let number = JSONNumber(literal: text), number.exactSafeInteger != nil {
                object[key] = .number(number)
            }
        }
        return .object(object)
    }

    private static func readPointer(_ field: PatchField, _ mapping: VendorMapping) -> JSONPointer? {
        switch field {
        case .canonical(let canonical): mapping.field(canonical)?.from
        case .vendor(let name): mapping.vendorField(name)?.from
        }
    }

    /// The canonical value in the vendor's representation.
    static func upstreamValue(_ field: PatchField, _ value: JSONValue, _ mapping: VendorMapping) -> JSONValue {
        guard case .canonical(let canonical) = field, let spec = mapping.field(canonical), !value.isNull else { return value }
        switch spec.format {
        case .plain, .rfc3339:
            return value
        case .epoch, .epochMillis:
            guard let text = value.stringValue, let seconds = RFC3339.parse(text) else { return value }
            let scaled = spec.format == .epoch ? seconds.rounded(.down) : (seconds * 1000).rounded(.down)
            return .number(JSONNumber(Int64(scaled)))
        case .keyValueArray:
            guard let object = value.objectValue else { return value }
            return .array(object.map { key, member in
                var element = JSONObject()
                element[spec.keyName] = spec.integerKeys ? (Int64(key).map { .number(JSONNumber($0)) } ?? .string(key)) : .string(key)
                element[spec.valueName] = member
                return .object(element)
            })
        }
    }

    /// RFC 3986 unreserved characters pass; everything else, "/" and "%" included, is percent-encoded,
    /// so an id can never change the shape of a vendor URL.
    public static func percentEncoded(_ text: String) -> String {
        let utf8 = text.utf8
        // Over the string's own buffer where it has one: a generic walk of the UTF-8 view costs far more.
        if utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(isUnreserved) }) ?? utf8.allSatisfy(isUnreserved) { return text }
        var result = ""
        for byte in text.utf8 {
            if isUnreserved(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                result += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return result
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: true
        default: false
        }
    }
}
