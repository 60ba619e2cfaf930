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
    // Strings' UTF-8 views lend their storage: walking a buffer costs a fraction of walking the view's indices.
    if let equal = bytes.withContiguousStorageIfAvailable({ asciiCaseInsensitiveEquals(UnsafeRawBufferPointer($0), lowercase) }) {
        return equal
    }
    var index = 0
    for byte in bytes {
        guard asciiLowercase(byte) == lowercase.utf8Start[index] else { return false }
        index += 1
    }
    return true
}

/// The same over bytes in memory, walked directly: on a slice, the generic version's
/// `withContiguousStorageIfAvailable` runs the standard library's unspecialized code, hundreds of instructions.
@inlinable
public func asciiCaseInsensitiveEquals(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
    guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
    for offset in 0..<bytes.count where asciiLowercase(bytes[offset]) != lowercase.utf8Start[offset] { return false }
    return true
}

@inlinable
public func asciiCaseInsensitiveEquals(_ bytes: Slice<UnsafeRawBufferPointer>, _ lowercase: StaticString) -> Bool {
    asciiCaseInsensitiveEquals(UnsafeRawBufferPointer(rebasing: bytes), lowercase)
}

/// Whether `text` starts with the lower-case ASCII `lowercase`, ignoring ASCII case in `text`.
@inlinable
public func asciiCaseInsensitiveHasPrefix(_ text: String, _ lowercase: StaticString) -> Bool {
    var text = text
    return text.withUTF8 { bytes in
        bytes.count >= lowercase.utf8CodeUnitCount
            && asciiCaseInsensitiveEquals(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes).prefix(lowercase.utf8CodeUnitCount)), lowercase)
    }
}

/// Whether `bytes` begin with `literal`'s bytes, case and all. A literal's `utf8` view walked as a collection
/// costs tens of instructions a byte; this is a plain byte loop.
@inlinable
public func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard bytes.count >= count else { return false }
    for offset in 0..<count where bytes[offset] != literal.utf8Start[offset] { return false }
    return true
}

/// How many bytes precede the first that satisfies `predicate`, nil if none does. Over a string's own buffer
/// where it lends one (see `asciiCaseInsensitiveEquals`).
@inlinable
public func firstByteOffset(in bytes: some Collection<UInt8>, where predicate: (UInt8) -> Bool) -> Int? {
    if let offset = bytes.withContiguousStorageIfAvailable({ $0.firstIndex(where: predicate) }) { return offset }
    return bytes.firstIndex(where: predicate).map { bytes.distance(from: bytes.startIndex, to: $0) }
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

