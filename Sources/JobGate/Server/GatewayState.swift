import JobGateHTTP
import Synchronization
import JobGateCore
import JobGatePosix

/// Everything a request needs that configuration decides. Immutable: a reload swaps in a whole new value,
/// and a request keeps the one it started with.
final class GatewayState: Sendable {
    let settings: Settings
    let mappings: MappingSet
    let runtimes: [String: VendorRuntimes]
    let redactor: Redactor
    let inboundTokens: InboundTokens

    init(settings: Settings, mappings: MappingSet) {
        self.settings = settings
        self.mappings = mappings
        runtimes = mappings.vendors.mapValues { VendorRuntimes(mapping: $0, defaultTimeout: settings.upstreamTimeoutSeconds) }
        redactor = Redactor(mappings.vendors.values.flatMap(\.secrets) + settings.authTokens.map(Secret.init))
        inboundTokens = InboundTokens(settings.authTokens)
    }
}

/// A vendor's runtimes, one per account: token caches, rate limits, circuit breakers and concurrency caps
/// are never shared between accounts, so one account's load or failures cannot hold up another's.
final class VendorRuntimes: Sendable {
    /// The top-level credentials' runtime (`Job-Account` absent or `default`).
    let main: VendorRuntime
    /// One per declared account, by name.
    let named: [String: VendorRuntime]

    init(mapping: VendorMapping, defaultTimeout: Double) {
        main = VendorRuntime(mapping: mapping, defaultTimeout: defaultTimeout)
        named = mapping.accounts.mapValues { VendorRuntime(mapping: $0, defaultTimeout: defaultTimeout) }
    }

    /// Every runtime, the top level first, then accounts by name.
    var all: [VendorRuntime] { [main] + named.sorted { $0.key < $1.key }.map(\.value) }

    /// The runtime of the account `Job-Account` names; a 400 for a name the mapping does not declare.
    func runtime(account: String?) throws(Problem) -> VendorRuntime {
        let mapping = try AccountSelection.mapping(for: account, of: main.mapping).get()
        if mapping.account == VendorMapping.defaultAccount { return main }
        guard let runtime = named[mapping.account] else {
            preconditionFailure("account '\(mapping.account)' of \(mapping.vendor) has no runtime")
        }
        return runtime
    }
}

/// The live `GatewayState`, shared by every loop; replaced atomically on reload.
final class StateStore: Sendable {
    private let state: Mutex<GatewayState>

    init(_ initial: GatewayState) {
        state = Mutex(initial)
    }

    var current: GatewayState { state.withLock { $0 } }

    func replace(with next: GatewayState) {
        state.withLock { $0 = next }
    }
}

/// Inbound bearer tokens (JOBGATE_AUTH_TOKENS), compared in constant time.
struct InboundTokens: Sendable {
    private static let width = 256
    private let tokens: [[UInt8]]

    init(_ tokens: [String]) {
        self.tokens = tokens.map { Self.padded(Array($0.utf8)) }
    }

    var isEnabled: Bool { !tokens.isEmpty }

    /// Whether an `Authorization` header value carries one of the tokens. Every candidate is compared over
    /// the full fixed width with no early exit, so timing tells nothing about how much of a token matched.
    func accepts(_ authorization: String?) -> Bool {
        guard let authorization, authorization.count > 7,
              authorization.prefix(7).lowercased() == "bearer " else { return false }
        let given = Array(authorization.utf8.dropFirst(7))
        guard given.count <= Self.width else { return false }
        let candidate = Self.padded(given)
        var matched: UInt8 = 0
        for token in tokens {
            var difference: UInt8 = 0
            for index in 0..<Self.width { difference |= token[index] ^ candidate[index] }
            matched |= difference == 0 ? 1 : 0
        }
        return matched == 1
    }

    /// The token bytes, then a 0x00 terminator (tokens have none) so "abc" and "abc\0..." differ, then zeros.
    private static func padded(_ bytes: [UInt8]) -> [UInt8] {
        var result = Array(bytes.prefix(width - 1))
        result.append(0)
        result += [UInt8](repeating: 0, count: width - result.count)
        return result
    }
}
