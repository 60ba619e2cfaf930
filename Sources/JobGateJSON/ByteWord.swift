/// Eight bytes tested at once (SWAR), so string scans step a word at a time over plain text. Each test sets the
/// high bit of the bytes that match; a borrow can also set it on bytes after the first match, so of the flags
/// only the lowest, the first match, is exact, and that is all a scan needs.
struct ByteWord {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    private let bits: UInt64

    /// The eight bytes from `address` on, the first of them lowest.
    init(loadingFrom address: UnsafePointer<UInt8>) {
        bits = UInt64(littleEndian: UnsafeRawPointer(address).loadUnaligned(as: UInt64.self))
    }

    /// Bytes below `limit` (at most 0x80).
    func below(_ limit: UInt8) -> UInt64 {
        (bits &- Self.ones &* UInt64(limit)) & ~bits & Self.highBits
    }

    func equal(_ byte: UInt8) -> UInt64 {
        let difference = bits ^ (Self.ones &* UInt64(byte))
        return (difference &- Self.ones) & ~difference & Self.highBits
    }

    /// Bytes of 0x80 and above: the bytes of multi-byte UTF-8 sequences.
    var nonASCII: UInt64 { bits & Self.highBits }

    /// How many bytes precede the first flagged one; `flags` must not be zero.
    static func offsetOfFirst(_ flags: UInt64) -> Int {
        flags.trailingZeroBitCount / 8
    }
}

/// A hash of a key's bytes as unescaped, so equal keys always have equal fingerprints. Long keys are
/// hashed by their length and first and last eight bytes only: keys differing only in between end up
/// compared byte by byte, which the small-object limit bounds.
func keyFingerprint(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    guard bytes.count >= 8, let base = bytes.baseAddress else {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 // FNV-1a
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
    let first = UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)
    let last = UnsafeRawPointer(base + bytes.count - 8).loadUnaligned(as: UInt64.self)
    return (first &* 0x9E37_79B9_7F4A_7C15) ^ (last &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(bytes.count)
}
