import JobGateJSON

/// `calls`, `read`, `response` and `errors`.
extension MappingReader {
    mutating func readCall(_ value: JSONValue, at path: String, fields: [CanonicalField: FieldMapping],
                                   vendorFields: [(name: String, mapping: VendorFieldMapping)]) -> CallTemplate? {
        guard let object = objectValue(value, at: path) else { return nil }
        allowOnly(["name", "method", "path", "fields", "body", "idempotent", "mergeWithRead"], in: object, at: path)
        let method = string(object, "method", at: path, required: true) ?? ""
        if !["GET", "PUT", "PATCH", "POST"].contains(method) { report(path + "/method", "must be GET, PUT, PATCH or POST") }
        let callPath = string(object, "path", at: path, required: true) ?? ""
        if !callPath.hasPrefix("/") || !callPath.contains("{id}") { report(path + "/path", "must start with '/' and contain {id}") }
        if callPath.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x23 }) {
            report(path + "/path", "must be ASCII without spaces, control characters or a fragment (percent-encode them)")
        }
        var selected: [PatchField]?
        if let list = object["fields"]?.arrayValue {
            selected = []
            for (index, entry) in list.enumerated() {
                let name = entry.stringValue ?? ""
                if name.hasPrefix("vendorFields."), vendorFields.contains(where: { "vendorFields.\($0.name)" == name }) {
                    selected?.append(.vendor(String(name.dropFirst("vendorFields.".count))))
                } else if let field = CanonicalField(rawValue: name), fields[field] != nil {
                    selected?.append(.canonical(field))
                } else {
                    report("\(path)/fields/\(index)", "'\(name)' is not a field this mapping defines")
                }
            }
        }
        var body = method == "GET" ? CallTemplate.BodyShape.none : .object
        if let text = string(object, "body", at: path) {
            if let shape = CallTemplate.BodyShape(rawValue: text) { body = shape } else {
                report(path + "/body", "must be object, value or none")
            }
        }
        if body == .value && selected?.count != 1 { report(path + "/body", "'value' needs exactly one field in 'fields'") }
        return CallTemplate(name: string(object, "name", at: path) ?? method.lowercased(), method: method, path: callPath,
                            fields: selected, body: body, idempotent: object["idempotent"]?.boolValue ?? (method == "GET" || method == "PUT"),
                            mergesWithRead: object["mergeWithRead"]?.boolValue ?? false)
    }

    mutating func readResponse(_ value: JSONValue?, at path: String) -> ResponseMapping {
        let object = value.flatMap { objectValue($0, at: path) } ?? JSONObject()
        allowOnly(["job", "id", "createdAt", "updatedAt"], in: object, at: path)
        func stamp(_ key: String) -> (pointer: JSONPointer, format: FieldMapping.Format)? {
            guard let spec = object[key]?.objectValue, let from = spec["from"]?.stringValue, let pointer = JSONPointer(from) else {
                if object[key] != nil { report("\(path)/\(key)", "needs 'from' (a JSON pointer) and optional 'format'") }
                return nil
            }
            let format = spec["format"]?.stringValue.flatMap(FieldMapping.Format.init(rawValue:)) ?? .rfc3339
            return (pointer, format)
        }
        return ResponseMapping(job: pointer(object, "job", at: path) ?? JSONPointer("")!, id: pointer(object, "id", at: path),
                               createdAt: stamp("createdAt"), updatedAt: stamp("updatedAt"))
    }

    mutating func readErrors(_ value: JSONValue?, at path: String) -> ErrorMapping {
        let object = value.flatMap { objectValue($0, at: path) } ?? JSONObject()
        allowOnly(["style", "fieldErrors", "message", "code", "defaultRetryAfterSeconds"], in: object, at: path)
        var style = ErrorMapping.Style.problemDetails
        if let text = string(object, "style", at: path) {
            if let parsed = ErrorMapping.Style(rawValue: text) { style = parsed } else {
                report(path + "/style", "must be problemDetails, message or rpcStatus")
            }
        }
        var defaultRetryAfter: Int?
        if let value = object["defaultRetryAfterSeconds"] {
            if let seconds = value.numberValue?.int64Value, (1...3600).contains(seconds) { defaultRetryAfter = Int(seconds) } else {
                report(path + "/defaultRetryAfterSeconds", "must be an integer number of seconds from 1 to 3600")
            }
        }
        return ErrorMapping(style: style, fieldErrors: pointer(object, "fieldErrors", at: path),
                            message: pointer(object, "message", at: path), code: pointer(object, "code", at: path),
                            defaultRetryAfterSeconds: defaultRetryAfter)
    }
}
