#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Request ids for requests that came without a usable one: 15 characters of [0-9a-zA-Z_-], 8 drawn at random
/// per server loop (48 bits), then a 7-digit counter in base 64, so they are unique without a syscall per
/// request. 15 bytes is what a Swift string holds inline: an id is never allocated, and it is 10 bytes fewer
/// than the earlier hex form through libcurl's byte-by-byte formatting of the upstream request.
struct RequestIDGenerator {
    private static let digits: StaticString = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"
    private static let prefixLength = 8
    private static let counterLength = 7
    private var prefix: UInt64 = 0
    private var counter: UInt64 = 0

    init() {
        drawPrefix()
    }

    /// A generator whose counter starts after `counter` (for the tests of its last ids).
    init(after counter: UInt64) {
        drawPrefix()
        self.counter = counter
    }

    private mutating func drawPrefix() {
        var generator = SystemRandomNumberGenerator()
        prefix = (generator.next() as UInt64) >> 16
        counter = 0
    }

    mutating func next() -> String {
        counter += 1
        // 64^7 ids later (years at any rate), a new prefix rather than a repeat.
        if counter >> (6 * Self.counterLength) != 0 { drawPrefix(); counter = 1 }
        let (prefix, counter) = (self.prefix, self.counter)
        return String(unsafeUninitializedCapacity: Self.prefixLength + Self.counterLength) { buffer in
            func write(_ value: UInt64, digits count: Int, at start: Int) {
                var rest = value
                for position in (start..<start + count).reversed() {
                    buffer[position] = Self.digits.utf8Start[Int(truncatingIfNeeded: rest & 0x3F)]
                    rest >>= 6
                }
            }
            write(prefix, digits: Self.prefixLength, at: 0)
            write(counter, digits: Self.counterLength, at: Self.prefixLength)
            return Self.prefixLength + Self.counterLength
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
