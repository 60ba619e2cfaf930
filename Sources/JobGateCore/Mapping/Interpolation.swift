/// `${VAR}` and `${VAR:-default}` in mapping strings (CONTRACT.md §1). An unset variable without a default
/// is an error naming it: a credential must never silently become empty.
enum Interpolation {
    struct Unset: Error, Equatable {
        let variable: String
    }

    struct Malformed: Error, Equatable {
        let reason: String
    }

    /// The variables a string references, in order.
    static func references(in text: String) -> [String] {
        var names: [String] = []
        _ = try? scan(text) { name, _ in
            names.append(name)
            return ""
        }
        return names
    }

    static func resolve(_ text: String, environment: [String: String]) throws -> String {
        var unset: String?
        let result = try scan(text) { name, fallback -> String in
            if let value = environment[name] { return value }
            if let fallback { return fallback }
            if unset == nil { unset = name }
            return ""
        }
        if let unset { throw Unset(variable: unset) }
        return result.joined()
    }

    /// Splits `text` into literal parts and substitutions, calling `substitute` for each `${...}`.
    private static func scan(_ text: String, substitute: (String, String?) -> String) throws -> [String] {
        var parts: [String] = []
        var rest = Substring(text)
        while let dollar = rest.firstRange(of: "${") {
            parts.append(String(rest[..<dollar.lowerBound]))
            let afterOpen = rest[dollar.upperBound...]
            guard let close = afterOpen.firstIndex(of: "}") else { throw Malformed(reason: "unclosed ${") }
            let body = afterOpen[..<close]
            let name: Substring
            var fallback: String?
            if let separator = body.firstRange(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = String(body[separator.upperBound...])
            } else {
                name = body
            }
            guard let first = name.first, first == "_" || first.isLetter,
                  name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
                throw Malformed(reason: "bad variable name '\(name)'")
            }
            parts.append(substitute(String(name), fallback))
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        parts.append(String(rest))
        return parts
    }
}
