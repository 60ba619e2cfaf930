#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Request ids for requests that came without a usable one: random per process, then a counter,
/// so they are unique without a syscall per request.
struct RequestIDGenerator {
    /// Kept as bytes, copied whole into each id.
    private let prefix: [UInt8]
    private var counter: UInt64 = 0

    init() {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        prefix = Array((String(random, radix: 16).leftPadded(to: 16) + "-").utf8)
    }

    /// The prefix, then the counter in lower-case hex, zero-padded to 8 digits.
    mutating func next() -> String {
        counter &+= 1
        let hex: StaticString = "0123456789abcdef"
        let digitCount = max(8, (64 - counter.leadingZeroBitCount + 3) / 4)
        return String(unsafeUninitializedCapacity: prefix.count + digitCount) { buffer in
            let digitsStart = prefix.withUnsafeBufferPointer { buffer.initialize(fromContentsOf: $0) }
            var rest = counter
            for position in (digitsStart..<digitsStart + digitCount).reversed() {
                buffer[position] = hex.utf8Start[Int(truncatingIfNeeded: rest & 0xF)]
                rest >>= 4
            }
            return digitsStart + digitCount
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
