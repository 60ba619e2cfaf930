#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Request ids for requests that came without a usable one: random per process, then a counter,
/// so they are unique without a syscall per request.
struct RequestIDGenerator {
    private let prefix: String
    private var counter: UInt64 = 0

    init() {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        prefix = String(random, radix: 16).leftPadded(to: 16) + "-"
    }

    /// The prefix, then the counter in lower-case hex, zero-padded to 8 digits.
    mutating func next() -> String {
        counter &+= 1
        let hex: StaticString = "0123456789abcdef"
        let digitCount = max(8, (64 - counter.leadingZeroBitCount + 3) / 4)
        return String(unsafeUninitializedCapacity: prefix.utf8.count + digitCount) { buffer in
            var offset = 0
            for byte in prefix.utf8 { buffer[offset] = byte; offset += 1 }
            for digit in (0..<digitCount).reversed() {
                buffer[offset] = hex.utf8Start[Int(truncatingIfNeeded: counter >> UInt64(digit * 4)) & 0xF]
                offset += 1
            }
            return offset
        }
    }

    /// A caller's X-Request-Id is echoed only when it is short and plain, so it cannot inject into logs or headers.
    static func isAcceptable(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x5F, 0x2E, 0x3A, 0x2F, 0x2B, 0x3D, 0x40: true
            default: false
            }
        }
    }
}

extension String {
    public func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
