import JobGateCore

/// `Prefer` (RFC 7240) preferences JobGate honours.
struct Preferences {
    var returnMinimal = false
    var dryRun = false

    init(_ values: [String]) {
        for value in values {
            for preference in value.split(separator: ",") {
                let token = preference.split(separator: ";").first.map { $0.trimmingASCIIWhitespace().lowercased() } ?? ""
                if token == "return=minimal" { returnMinimal = true }
                if token == "dry-run" { dryRun = true }
            }
        }
    }
}

/// A query string's parameters (first occurrence wins), percent-decoded.
struct QueryString {
    private var values: [String: String] = [:]

    init(_ query: Substring) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecoded(parts[0]) else { continue }
            let value = parts.count > 1 ? percentDecoded(parts[1]) : ""
            if values[key] == nil { values[key] = value }
        }
    }

    subscript(key: String) -> String? { values[key] }
}

/// Strict percent-decoding: a malformed escape or bytes that are not UTF-8 give nil. "+" is a space only in
/// query strings.
func percentDecoded(_ text: Substring, plusIsSpace: Bool = true) -> String? {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let byte = iterator.next() {
        if byte == 0x25 {
            guard let high = iterator.next().flatMap(CanonicalValidation.hexDigit),
                  let low = iterator.next().flatMap(CanonicalValidation.hexDigit) else { return nil }
            bytes.append(high << 4 | low)
        } else {
            bytes.append(byte == 0x2B && plusIsSpace ? 0x20 : byte)
        }
    }
    return String(validating: bytes, as: UTF8.self)
}
