import JobGateJSON

/// Typed reads of members, each reporting what is wrong at its JSON pointer.
extension MappingReader {
    mutating func allowOnly(_ keys: Set<String>, in object: JSONObject, at path: String) {
        for key in object.keys where !keys.contains(key) {
            report("\(path)/\(key)", "unknown key (allowed: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    mutating func objectValue(_ value: JSONValue?, at path: String) -> JSONObject? {
        guard let value else { return nil }
        guard let object = value.objectValue else {
            report(path, "must be an object")
            return nil
        }
        return object
    }

    mutating func string(_ object: JSONObject, _ key: String, at path: String, required: Bool = false) -> String? {
        guard let value = object[key] else {
            if required { report("\(path)/\(key)", "is required") }
            return nil
        }
        guard let text = value.stringValue else {
            report("\(path)/\(key)", "must be a string")
            return nil
        }
        return text
    }

    mutating func pointer(_ object: JSONObject, _ key: String, at path: String, required: Bool = false) -> JSONPointer? {
        guard let text = string(object, key, at: path, required: required) else { return nil }
        guard let pointer = JSONPointer(text) else {
            report("\(path)/\(key)", "must be a JSON pointer such as \"/name\"")
            return nil
        }
        return pointer
    }

    /// A string with `${VAR}` resolved; an unset variable without default is an error naming it.
    mutating func interpolated(_ object: JSONObject, _ key: String, at path: String, required: Bool) -> String? {
        guard let value = object[key] else {
            if required { report(path, "is required") }
            return nil
        }
        guard let raw = value.stringValue else {
            report(path, "must be a string")
            return nil
        }
        do {
            return try Interpolation.resolve(raw, environment: environment)
        } catch let unset as Interpolation.Unset {
            report(path, "environment variable \(unset.variable) is not set and has no default")
        } catch {
            report(path, "malformed ${...} reference")
        }
        return nil
    }

    /// A credential: interpolated, wrapped as a secret; empty values are collected in `unset`.
    mutating func credential(_ object: JSONObject, _ key: String, at path: String, unset: inout [String],
                                     required: Bool = true) -> Secret {
        let value = interpolated(object, key, at: path, required: required) ?? ""
        if value.hasLineBreakOrNUL { report(path, "credential has a line break") }
        if value.isEmpty { unset += variables(in: object[key]?.stringValue ?? key) }
        return Secret(value)
    }

    func variables(in raw: String) -> [String] {
        let names = Interpolation.references(in: raw)
        return names.isEmpty ? [raw] : names
    }

    mutating func checkURL(_ url: String, at path: String) {
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            return report(path, "must be an http:// or https:// URL")
        }
        let rest = url.drop { $0 != ":" }.dropFirst(3)
        if rest.isEmpty || rest.hasPrefix("/") { report(path, "has no host") }
        if url.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) || url.contains("?") || url.contains("#") {
            report(path, "must not contain spaces, a query or a fragment")
        }
    }

    func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
