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
    /// UTF-8 bytes of each secret.
    private let secrets: [[UInt8]]

    public init(_ secrets: [Secret]) {
        // Longest first, so a secret that contains another is removed whole; very short values would
        // redact ordinary words, so they are left to the structural redaction (header names).
        self.secrets = Array(Set(secrets.map(\.exposedValue).filter { $0.count >= 4 }))
            .sorted { $0.utf8.count > $1.utf8.count }.map { Array($0.utf8) }
    }

    /// These secrets too, for text that may hold credentials obtained at run time (fetched tokens).
    public func adding(_ more: [Secret]) -> Redactor {
        more.isEmpty ? self : Redactor(secrets.map { Secret(String(decoding: $0, as: UTF8.self)) } + more)
    }

    /// Secrets are matched as UTF-8 bytes, not as Characters: followed by a combining mark, a secret is no
    /// longer a Character-wise substring, but its bytes are still all there for anyone reading the text.
    public func scrub(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let scrubbed = scrub(bytes)
        return scrubbed == bytes ? text : String(decoding: scrubbed, as: UTF8.self)
    }

    /// Whether any secret occurs in `bytes`: a scan without copying, for output that is scrubbed only when
    /// it needs to be.
    public func occurs(in bytes: [UInt8]) -> Bool {
        secrets.contains { Self.firstMatch(of: $0, in: bytes, from: 0) != nil }
    }

    public func scrub(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        for secret in secrets {
            var output: [UInt8] = []
            var copied = 0
            while let match = Self.firstMatch(of: secret, in: result, from: copied) {
                output.append(contentsOf: result[copied..<match])
                output.append(contentsOf: Secret.redacted.utf8)
                copied = match + secret.count
            }
            if copied > 0 {
                output.append(contentsOf: result[copied...])
                result = output
            }
        }
        return result
    }

    /// A vendor's JSON answer made ready to parse (its values are scrubbed after parsing, which finds a secret
    /// written with escapes such as `\u002d`): scrubbed as bytes first when a secret's bytes begin within an
    /// escape's reach of a backslash, where an escape like `\u0dec` would decode the secret's first characters
    /// into another one and leave the rest of it readable. Not always first: in a longer secret written with
    /// escapes, a shorter secret's bytes would be replaced and the longer one would no longer be found whole.
    public func scrubbedForParsing(_ bytes: [UInt8]) -> [UInt8] {
        let backslash = UInt8(ascii: "\\")
        for secret in secrets {
            var start = 0
            while let match = Self.firstMatch(of: secret, in: bytes, from: start) {
                if bytes[max(0, match - 5)..<match].contains(backslash) { return scrub(bytes) }
                start = match + 1
            }
        }
        return bytes
    }

    /// Where `secret` next starts in `bytes` at or after `start`; the first byte is compared before the rest.
    private static func firstMatch(of secret: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard let first = secret.first, bytes.count >= secret.count else { return nil }
        var index = start
        while index <= bytes.count - secret.count {
            if bytes[index] == first && bytes[index..<index + secret.count].elementsEqual(secret) { return index }
            index += 1
        }
        return nil
    }
}
