import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import Synchronization
import JobGateCore
import JobGatePosix

/// Per-(vendor, account) state shared by all event loops: the token cache, the rate limiter, the circuit
/// breaker and the concurrency count. Built with a mapping set and replaced with it on reload.
final class VendorRuntime: Sendable {
    let mapping: VendorMapping
    let tokens: TokenCache?
    let rateLimiter: RateLimiter?
    let breaker: CircuitBreaker
    /// The credentials this vendor (account) is sent: a vendor that echoes one back in a job must not hand
    /// it to the caller through `vendorData`.
    let echoRedactor: Redactor
    /// The labels of this vendor (account)'s request metrics, made once.
    let metricLabels: VendorAccount
    private let callsInProgress = Atomic<Int>(0)

    init(mapping: VendorMapping, defaultTimeout: Double) {
        self.mapping = mapping
        metricLabels = VendorAccount(vendor: mapping.vendor, account: mapping.account)
        if case .token(let source) = mapping.auth, source.staticToken == nil, let exchange = source.exchange {
            tokens = TokenCache(vendor: mapping.vendor, source: source, exchange: exchange, allowPlainHTTP: mapping.allowPlainHTTP)
        } else {
            tokens = nil
        }
        rateLimiter = RateLimiter(mapping.rateLimits)
        echoRedactor = Redactor(mapping.secrets)
        // A probe's lease outlasts its whole call (retries share the call's timeout), token fetch included.
        breaker = CircuitBreaker(mapping.circuitBreaker, lease: .seconds(2 * (mapping.timeoutSeconds ?? defaultTimeout) + 1))
    }

    /// The vendor, and the account when it is not the top level: for problem details (never a secret).
    var name: String {
        mapping.account == VendorMapping.defaultAccount ? mapping.vendor : "\(mapping.vendor) (account \(mapping.account))"
    }

    /// Takes a slot for one update; false when the vendor's concurrency limit is reached.
    func enter() -> Bool {
        let now = callsInProgress.wrappingAdd(1, ordering: .relaxed).newValue
        if now <= mapping.maxConcurrent { return true }
        callsInProgress.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func leave() {
        callsInProgress.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Transport options for this vendor's calls, bounded by what is left of the caller's budget.
    func options(defaultTimeout: Double) -> UpstreamOptions {
        var options = UpstreamOptions()
        options.timeout = .seconds(mapping.timeoutSeconds ?? defaultTimeout)
        options.allowPlainHTTP = mapping.allowPlainHTTP
        options.caFile = mapping.caFile
        options.keepAliveSeconds = mapping.keepAliveSeconds
        options.http2 = mapping.http2
        return options
    }

    /// The credential headers (and query suffix) for a call, given the current token if the scheme uses one.
    func credentials(token: Secret?) -> (headers: [(name: String, value: String)], query: String?) {
        switch mapping.auth {
        case .none:
            return ([], nil)
        case .headers(let headers):
            return (headers.map { ($0.name, $0.value.exposedValue) }, nil)
        case .bearer(let token):
            return token.isEmpty ? ([], nil) : ([("Authorization", "Bearer " + token.exposedValue)], nil)
        case .basic(let username, let password):
            let pair = Array("\(username.exposedValue):\(password.exposedValue)".utf8)
            return ([("Authorization", "Basic " + Base64.encode(pair))], nil)
        case .queryKey(let name, let value):
            return ([], "\(Planner.percentEncoded(name))=\(Planner.percentEncoded(value.exposedValue))")
        case .token(let source):
            guard let value = source.staticToken ?? token else { return ([], nil) }
            return ([(source.header, source.prefix + value.exposedValue)], nil)
        }
    }
}
