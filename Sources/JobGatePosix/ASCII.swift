/// ASCII on the wire: the byte-level comparisons the inbound server and the upstream client share,
/// without Unicode case folding or allocation.

/// `bytes` without leading and trailing spaces and tabs (RFC 9110 OWS).
@inlinable
public func trimmingOWS<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence {
    var trimmed = bytes[...]
    while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed = trimmed.dropFirst() }
    while let last = trimmed.last, last == 0x20 || last == 0x09 { trimmed = trimmed.dropLast() }
    return trimmed
}

/// Whether `bytes` equal the lower-case ASCII `lowercase`, ignoring ASCII case in `bytes`.
@inlinable
public func asciiCaseInsensitiveEquals(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
    guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
    var index = 0
    for byte in bytes {
        guard asciiLowercase(byte) == lowercase.utf8Start[index] else { return false }
        index += 1
    }
    return true
}

/// `byte` with A-Z folded to a-z; every other byte as it is.
@inlinable
public func asciiLowercase(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}

extension StringProtocol {
    public func trimmingASCIIWhitespace() -> String {
        String(decoding: trimmingOWS(Substring(self).utf8), as: UTF8.self)
    }
}
