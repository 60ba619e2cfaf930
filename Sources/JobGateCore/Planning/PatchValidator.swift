import JobGateJSON

/// A merge patch that passed every check for its vendor: only fields the vendor supports, each well-formed.
public struct ValidatedPatch: Sendable {
    public private(set) var members: [(field: PatchField, value: JSONValue)] = []

    public subscript(field: PatchField) -> JSONValue? {
        members.first { $0.field == field }?.value
    }

    public func contains(_ field: PatchField) -> Bool { self[field] != nil }

    mutating func append(_ field: PatchField, _ value: JSONValue) {
        members.append((field, value))
    }

    /// Room for a patch's members up front: appended one by one they would grow 1, 2, 4.
    mutating func reserveCapacity(_ count: Int) {
        members.reserveCapacity(count)
    }
}

/// Validation happens before any upstream call (CONTRACT.md §3): canonical types first, then what the
/// target vendor supports, then the vendor adapter's own rules.
public enum PatchValidator {
    public static func validate(_ body: JSONObject, mapping: VendorMapping) -> Result<ValidatedPatch, FieldErrors> {
        var errors = FieldErrors()
        var patch = ValidatedPatch()
        patch.reserveCapacity(body.count)
        for (key, value) in body {
            if key == "vendorFields" {
                validateVendorFields(value, mapping: mapping, into: &patch, errors: &errors)
            } else if let field = CanonicalField.named(key) {
                var fieldErrors = FieldErrors()
                CanonicalValidation.check(field, value, into: &fieldErrors)
                if let fieldMapping = mapping.field(field) {
                    if fieldErrors.isEmpty { checkVendorSpecific(field, value, fieldMapping, mapping, &fieldErrors) }
                } else {
                    fieldErrors = FieldErrors()
                    fieldErrors.add(key, "not supported by vendor '\(mapping.vendor)'")
                }
                if fieldErrors.isEmpty {
                    patch.append(.canonical(field), CanonicalValidation.normalized(field, value))
                } else {
                    errors.merge(fieldErrors)
                }
            } else if readOnlyJobMembers.contains(key) {
                errors.add(key, "is read-only")
            } else {
                errors.add(String(key.prefix(64)), "unknown field")
            }
        }
        if errors.isEmpty, let adapter = mapping.adapter.flatMap(VendorAdapters.named) {
            errors.merge(adapter.validate(patch, mapping: mapping))
        }
        return errors.isEmpty ? .success(patch) : .failure(errors)
    }

    private static func checkVendorSpecific(_ field: CanonicalField, _ value: JSONValue, _ fieldMapping: FieldMapping,
                                            _ mapping: VendorMapping, _ errors: inout FieldErrors) {
        if value.isNull && !fieldMapping.nullable {
            errors.add(field.rawValue, "vendor '\(mapping.vendor)' cannot unset this field")
        }
        if fieldMapping.format == .keyValueArray && fieldMapping.integerKeys, let object = value.objectValue {
            for key in object.keys where JobIDRule.positiveInteger.violation(key) != nil {
                errors.add(field.rawValue, "key '\(key.prefix(64))' must be a positive integer id")
            }
        }
    }

    private static func validateVendorFields(_ value: JSONValue, mapping: VendorMapping, into patch: inout ValidatedPatch,
                                             errors: inout FieldErrors) {
        guard let object = value.objectValue else {
            errors.add("vendorFields", "must be an object of \(mapping.vendor)'s raw fields")
            return
        }
        guard !mapping.vendorFields.isEmpty else {
            errors.add("vendorFields", "vendor '\(mapping.vendor)' has no vendorFields")
            return
        }
        for (name, member) in object {
            let field = PatchField.vendor(name)
            guard let spec = mapping.vendorField(name) else {
                let known = mapping.vendorFields.map(\.name).joined(separator: ", ")
                errors.add(String(field.description.prefix(80)), "unknown to vendor '\(mapping.vendor)' (known: \(known))")
                continue
            }
            if let problem = typeProblem(member, spec) {
                errors.add(field.description, problem)
            } else if spec.type == .integer, let integer = CanonicalValidation.safeInteger(member) {
                patch.append(field, .number(JSONNumber(integer)))
            } else {
                patch.append(field, member)
            }
        }
    }

    private static func typeProblem(_ value: JSONValue, _ spec: VendorFieldMapping) -> String? {
        if value.isNull { return spec.nullable ? nil : "cannot be null" }
        switch spec.type {
        case .any:
            return nil
        case .string:
            return value.stringValue == nil ? "must be a string" : nil
        case .nonEmptyString:
            guard let text = value.stringValue, !text.allSatisfy(\.isWhitespace) else { return "must be a non-empty string" }
            return nil
        case .integer:
            return CanonicalValidation.safeInteger(value) == nil ? "must be an integer" : nil
        case .boolean:
            return value.boolValue == nil ? "must be true or false" : nil
        case .enum:
            guard let text = value.stringValue, spec.values.contains(text) else {
                return "must be one of \(spec.values.map { "\"\($0)\"" }.joined(separator: ", "))"
            }
            return nil
        case .object:
            guard let object = value.objectValue else { return "must be an object" }
            if !spec.keys.isEmpty, let unknown = object.keys.first(where: { !spec.keys.contains($0) }) {
                return "unknown key '\(unknown.prefix(64))' (allowed: \(spec.keys.joined(separator: ", ")))"
            }
            for (key, member) in object {
                guard let type = spec.keyTypes[key], !member.isNull else { continue }
                let memberSpec = VendorFieldMapping(to: spec.to, from: spec.from, type: type, values: [], keys: [], keyTypes: [:], nullable: true)
                if let problem = typeProblem(member, memberSpec) { return "'\(key)' \(problem)" }
            }
            return nil
        }
    }
}
