/// A credential. It prints, interpolates, dumps and encodes as "[redacted]"; the only way to the value is
/// `exposedValue`, used where a header is written for the vendor.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    public static let redacted = "[redacted]"
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var exposedValue: String { value }
    public var isEmpty: Bool { value.isEmpty }
    public var description: String { Self.redacted }
    public var debugDescription: String { Self.redacted }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

extension Secret: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.redacted)
    }
}

/// The one place that scrubs known secret values out of text bound for logs, problems, dry runs or metrics.
public struct Redactor: Sendable {
    private let secrets: [String]

    public init(_ secrets: [Secret]) {
        // Longest first, so a secret that contains another is removed whole; very short values would
        // redact ordinary words, so they are left to the structural redaction (header names).
        self.secrets = Array(Set(secrets.map(\.exposedValue).filter { $0.count >= 4 })).sorted { $0.count > $1.count }
    }

    public func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacing(secret, with: Secret.redacted)
        }
        return result
    }
}
