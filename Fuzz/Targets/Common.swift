// Shared by every fuzz target (compiled into each executable next to its target file).
#if canImport(Glibc)
import Glibc
#endif

/// An invariant violation: print what broke and trap, so libFuzzer records the input as a crash.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    let text = "INVARIANT VIOLATED (\(file):\(line)): \(message())\n"
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
    abort()
}

/// A tiny deterministic generator seeded from the input, for choices that must not consume input bytes.
struct SplitMix {
    private var state: UInt64

    init(seed bytes: UnsafeBufferPointer<UInt8>) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        state = hash
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}

/// Input split into a one-byte selector and the rest, so one corpus file picks e.g. a vendor and its payload.
func selectorAndPayload(_ data: UnsafePointer<UInt8>?, _ size: Int) -> (UInt8, UnsafeBufferPointer<UInt8>)? {
    guard let data, size >= 1 else { return nil }
    return (data[0], UnsafeBufferPointer(start: data + 1, count: size - 1))
}

/// Environment variables that resolve every ${VAR} in the repository's mappings, secrets with canary values.
let fuzzEnvironment: [String: String] = [
    "DECK_BASE_URL": "http://127.0.0.1:9101/api/v1", "DECK_CLIENT_ID": "client-1", "DECK_SECRET": "deck-secret-canary",
    "BIGCHANGE_BASE_URL": "http://127.0.0.1:9102/v1", "BIGCHANGE_TOKEN_URL": "http://127.0.0.1:9102/auth/tokens",
    "BIGCHANGE_CLIENT_ID": "bc-client", "BIGCHANGE_CLIENT_SECRET": "bc-secret-canary", "BIGCHANGE_CUSTOMER_ID": "42",
    "SHOPPLANR_BASE_URL": "http://127.0.0.1:9103/api", "SHOPPLANR_TOKEN": "shop-token-canary",
    "LILT_BASE_URL": "http://127.0.0.1:9104", "LILT_API_KEY": "lilt-key-canary",
    "BYTENITE_BASE_URL": "http://127.0.0.1:9105/v1/customer", "BYTENITE_AUTH_URL": "http://127.0.0.1:9105/v1/auth/access_token",
    "BYTENITE_API_KEY": "bytenite-key-canary",
]
