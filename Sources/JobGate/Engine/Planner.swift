import JobGateJSON

/// One upstream call, fully decided except for credentials (added when it is sent, so a plan is safe to show).
public struct PlannedCall: Sendable {
    public let name: String
    public let method: String
    public let url: String
    public let headers: [(name: String, value: String)]
    public let body: JSONValue?
    public let idempotent: Bool
    /// The patch fields this call applies.
    let carriedFields: [PatchField]
    /// The patch fields this call applies, as named in `errors`.
    public var fields: [String] { carriedFields.map(\.description) }

    public var bodyBytes: [UInt8] { body.map(JSON.serialize) ?? [] }
}

/// Pure translation of a validated patch into the vendor's calls, in the mapping's order.
public enum Planner {
    public static func plan(_ patch: ValidatedPatch, vendorJobID: String, mapping: VendorMapping) -> [PlannedCall] {
        mapping.calls.compactMap { template in
            let carried = patch.members.filter { template.fields?.contains($0.field) ?? true }
            // A call limited to some fields is made only when one of them is present (bytenite's parts).
            if template.fields != nil && carried.isEmpty { return nil }
            let body: JSONValue? = switch template.body {
            case .none: nil
            case .value: carried.first.map { upstreamValue($0.field, $0.value, mapping) }
            case .object: objectBody(carried, mapping)
            }
            return call(template, vendorJobID: vendorJobID, mapping: mapping, body: body, fields: carried.map(\.field))
        }
    }

    /// The read-back call (GET of the job), if the mapping has one.
    public static func read(vendorJobID: String, mapping: VendorMapping) -> PlannedCall? {
        mapping.read.map { call($0, vendorJobID: vendorJobID, mapping: mapping, body: nil, fields: []) }
    }

    private static func call(_ template: CallTemplate, vendorJobID: String, mapping: VendorMapping, body: JSONValue?,
                             fields: [PatchField]) -> PlannedCall {
        var base = mapping.baseURL
        while base.utf8.last == 0x2F { base.removeLast() }
        let path = template.pathParts.joined(separator: percentEncoded(vendorJobID))
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(2 + mapping.headers.count)
        headers.append((name: "Accept", value: "application/json"))
        if body != nil { headers.append((name: "Content-Type", value: "application/json")) }
        headers += mapping.headers
        return PlannedCall(name: template.name, method: template.method, url: base + path, headers: headers,
                           body: body, idempotent: template.idempotent, carriedFields: fields)
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
        case .canonical(let canonical): mapping.fields[canonical]?.to
        case .vendor(let name): mapping.vendorField(name)?.to
        }
    }

    /// The canonical value in the vendor's representation.
    static func upstreamValue(_ field: PatchField, _ value: JSONValue, _ mapping: VendorMapping) -> JSONValue {
        guard case .canonical(let canonical) = field, let spec = mapping.fields[canonical], !value.isNull else { return value }
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
    static func percentEncoded(_ text: String) -> String {
        if text.utf8.allSatisfy(isUnreserved) { return text }
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
