import JobGateJSON

/// `fields` (canonical) and `vendorFields` (raw).
extension MappingReader {
    mutating func readFields(_ value: JSONValue?, at path: String) -> [CanonicalField: FieldMapping] {
        guard let value else { return [:] }
        guard let object = objectValue(value, at: path) else { return [:] }
        var fields: [CanonicalField: FieldMapping] = [:]
        for (name, member) in object {
            let here = "\(path)/\(name)"
            guard let field = CanonicalField(rawValue: name) else {
                report(here, "not a canonical field (known: \(CanonicalField.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            guard let spec = objectValue(member, at: here) else { continue }
            allowOnly(["to", "from", "format", "keyName", "keyFrom", "valueName", "keyType", "nullable"], in: spec, at: here)
            guard let to = pointer(spec, "to", at: here, required: true) else { continue }
            var format = FieldMapping.Format.plain
            if let text = string(spec, "format", at: here) {
                if let parsed = FieldMapping.Format(rawValue: text) { format = parsed } else {
                    report(here + "/format", "must be one of plain, rfc3339, epoch, epochMillis, keyValueArray")
                }
            }
            let formatFits: Bool = switch (field.kind, format) {
            case (.dateTime, .rfc3339), (.dateTime, .epoch), (.dateTime, .epochMillis), (.dateTime, .plain): true
            case (.stringMap, .keyValueArray), (_, .plain): true
            default: false
            }
            if !formatFits { report(here + "/format", "format '\(format.rawValue)' does not apply to \(name)") }
            let keyType = string(spec, "keyType", at: here) ?? "string"
            if keyType != "string" && keyType != "integer" { report(here + "/keyType", "must be string or integer") }
            let keyName = string(spec, "keyName", at: here) ?? "id"
            var keyFrom: [JSONPointer] = []
            for (index, entry) in (spec["keyFrom"]?.arrayValue ?? []).enumerated() {
                if let text = entry.stringValue, let pointer = JSONPointer(text) { keyFrom.append(pointer) } else {
                    report("\(here)/keyFrom/\(index)", "must be a JSON pointer such as \"/definition/id\"")
                }
            }
            if keyFrom.isEmpty { keyFrom = [JSONPointer(tokens: [keyName])] }
            fields[field] = FieldMapping(
                to: to, from: pointer(spec, "from", at: here) ?? to, format: format == .plain && field.kind == .dateTime ? .rfc3339 : format,
                keyName: keyName, keyFrom: keyFrom, valueName: string(spec, "valueName", at: here) ?? "value",
                integerKeys: keyType == "integer", nullable: spec["nullable"]?.boolValue ?? field.isNullable)
        }
        return fields
    }

    mutating func readVendorFields(_ value: JSONValue?, at path: String) -> [(name: String, mapping: VendorFieldMapping)] {
        guard let value else { return [] }
        guard let object = objectValue(value, at: path) else { return [] }
        var result: [(name: String, mapping: VendorFieldMapping)] = []
        for (name, member) in object {
            let here = "\(path)/\(name)"
            guard let spec = objectValue(member, at: here) else { continue }
            allowOnly(["to", "from", "type", "values", "keys", "nullable"], in: spec, at: here)
            guard let to = pointer(spec, "to", at: here, required: true) else { continue }
            let typeName = string(spec, "type", at: here) ?? "any"
            guard let type = VendorFieldMapping.ValueType(rawValue: typeName) else {
                report(here + "/type", "must be one of \(VendorFieldMapping.ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            let values = spec["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
            // "keys": a list of member names, or an object naming each member's type.
            var keys = spec["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
            var keyTypes: [String: VendorFieldMapping.ValueType] = [:]
            for (key, typeValue) in spec["keys"]?.objectValue ?? JSONObject() {
                keys.append(key)
                guard let typeName = typeValue.stringValue, let keyType = VendorFieldMapping.ValueType(rawValue: typeName),
                      keyType != .enum, keyType != .object else {
                    report("\(here)/keys/\(key)", "must be one of string, nonEmptyString, integer, boolean, any")
                    continue
                }
                keyTypes[key] = keyType
            }
            if type == .enum && values.isEmpty { report(here + "/values", "an enum needs a non-empty list of string values") }
            result.append((name, VendorFieldMapping(
                to: to, from: pointer(spec, "from", at: here) ?? to, type: type, values: values,
                keys: keys, keyTypes: keyTypes, nullable: spec["nullable"]?.boolValue ?? false)))
        }
        return result
    }
}
