import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import Synchronization

/// Per-vendor state shared by all event loops: the token cache and the rate limiter. Built with a mapping
/// set and replaced with it on reload.
final class VendorRuntime: Sendable {
    let mapping: VendorMapping
    let tokens: TokenCache?
    let rateLimiter: RateLimiter?
    let breaker: CircuitBreaker
    private let callsInProgress = Atomic<Int>(0)

    init(mapping: VendorMapping) {
        self.mapping = mapping
        if case .token(let source) = mapping.auth, source.staticToken == nil, let exchange = source.exchange {
            tokens = TokenCache(vendor: mapping.vendor, exchange: exchange, allowPlainHTTP: mapping.allowPlainHTTP)
        } else {
            tokens = nil
        }
        rateLimiter = mapping.rateLimit.map(RateLimiter.init)
        breaker = CircuitBreaker(mapping.circuitBreaker)
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
        options.timeoutSeconds = mapping.timeoutSeconds ?? defaultTimeout
        options.allowPlainHTTP = mapping.allowPlainHTTP
        options.caFile = mapping.caFile
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
            return ([("Authorization", "Basic " + base64(pair))], nil)
        case .queryKey(let name, let value):
            return ([], "\(Planner.percentEncoded(name))=\(Planner.percentEncoded(value.exposedValue))")
        case .token(let source):
            guard let value = source.staticToken ?? token else { return ([], nil) }
            return ([(source.header, source.prefix + value.exposedValue)], nil)
        }
    }
}

/// Stops calling a vendor that keeps failing: after `failures` consecutive failures the circuit opens for
/// `openSeconds` (callers get 503 with Retry-After), then one probe request decides whether it closes again.
final class CircuitBreaker: Sendable {
    private enum State {
        case closed(failures: Int)
        case open(until: UInt64)
        case halfOpen
    }

    private let settings: CircuitBreakerSettings
    private let state = Mutex(State.closed(failures: 0))

    init(_ settings: CircuitBreakerSettings) {
        self.settings = settings
    }

    /// Nil when a call may go ahead, else the seconds until the circuit may let one through.
    func admit() -> Int? {
        let now = monotonicNanoseconds()
        return state.withLock { state in
            switch state {
            case .closed:
                return nil
            case .open(let until) where until > now:
                return max(1, Int(((Double(until - now)) / 1e9).rounded(.up)))
            case .open:
                state = .halfOpen
                return nil
            case .halfOpen:
                return 1
            }
        }
    }

    func record(success: Bool) {
        state.withLock { state in
            if success {
                state = .closed(failures: 0)
                return
            }
            switch state {
            case .closed(let failures) where failures + 1 < settings.failures:
                state = .closed(failures: failures + 1)
            default:
                state = .open(until: monotonicNanoseconds() &+ UInt64(settings.openSeconds * 1e9))
            }
        }
    }

    var isOpen: Bool {
        state.withLock { state in
            if case .closed = state { return false }
            return true
        }
    }
}

/// A token bucket: `requests` per `perSeconds`, refilled continuously, shared by every loop.
final class RateLimiter: Sendable {
    private let capacity: Double
    private let refillPerNanosecond: Double
    private let state: Mutex<(tokens: Double, updated: UInt64)>

    init(_ limit: RateLimit) {
        capacity = Double(limit.requests)
        refillPerNanosecond = Double(limit.requests) / (limit.perSeconds * 1e9)
        state = Mutex((Double(limit.requests), monotonicNanoseconds()))
    }

    /// Takes one request's worth; nil when allowed, else the seconds until one is available.
    func acquire() -> Int? {
        let now = monotonicNanoseconds()
        return state.withLock { state in
            state.tokens = min(capacity, state.tokens + Double(now &- state.updated) * refillPerNanosecond)
            state.updated = now
            if state.tokens >= 1 {
                state.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - state.tokens) / refillPerNanosecond / 1e9).rounded(.up)))
        }
    }
}

/// Tokens the gateway obtains itself (OAuth2 client credentials, ByteNite's key exchange): fetched lazily,
/// one fetch at a time for all loops, refreshed before they expire, and dropped when the vendor says 401.
final class TokenCache: Sendable {
    typealias Waiter = (loop: EventLoop, deliver: LoopBound<(Result<Secret, Problem>) -> Void>)

    private enum State {
        case empty
        case valid(token: Secret, refreshAt: UInt64)
        case fetching(waiters: [Waiter])
    }

    let vendor: String
    private let exchange: TokenSource.Exchange
    private let allowPlainHTTP: Bool
    private let state = Mutex<State>(.empty)

    init(vendor: String, exchange: TokenSource.Exchange, allowPlainHTTP: Bool) {
        self.vendor = vendor
        self.exchange = exchange
        self.allowPlainHTTP = allowPlainHTTP
    }

    /// Delivers a token on `client`'s loop: the cached one, or the result of the fetch in progress, or of a
    /// fetch this call starts on `client`.
    func token(using client: UpstreamClient, timeout: Double, _ deliver: @escaping (Result<Secret, Problem>) -> Void) {
        let now = monotonicNanoseconds()
        let waiter: Waiter = (client.loop, LoopBound(deliver))
        enum Next { case use(Secret), wait, fetch }
        let next: Next = state.withLock { state in
            switch state {
            case .valid(let token, let refreshAt) where refreshAt > now:
                return .use(token)
            case .fetching(let waiters):
                state = .fetching(waiters: waiters + [waiter])
                return .wait
            default:
                state = .fetching(waiters: [waiter])
                return .fetch
            }
        }
        switch next {
        case .use(let token): deliver(.success(token))
        case .wait: break
        case .fetch: fetch(using: client, timeout: timeout)
        }
    }

    /// Forgets `token` after the vendor refused it, so the next request fetches a new one.
    func invalidate(_ token: Secret) {
        state.withLock { state in
            if case .valid(let current, _) = state, current == token { state = .empty }
        }
    }

    private func fetch(using client: UpstreamClient, timeout: Double) {
        var options = UpstreamOptions()
        options.timeoutSeconds = timeout
        options.allowPlainHTTP = allowPlainHTTP
        options.maxResponseBytes = 64 * 1024
        let request: UpstreamRequest
        switch exchange {
        case .clientCredentials(let url, let clientID, let clientSecret):
            let form = "grant_type=client_credentials&client_id=\(formEncoded(clientID.exposedValue))"
                + "&client_secret=\(formEncoded(clientSecret.exposedValue))"
            request = UpstreamRequest(method: "POST", url: url, headers: [
                ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
            ], body: Array(form.utf8), options: options)
        case .jsonExchange(let url, let body, _, _):
            var object = JSONObject()
            for (name, value) in body { object[name] = .string(value.exposedValue) }
            request = UpstreamRequest(method: "POST", url: url, headers: [
                ("Content-Type", "application/json"), ("Accept", "application/json"),
            ], body: JSON.serialize(.object(object)), options: options)
        }
        client.send(request) { [self] result in
            finish(parse(result))
        }
    }

    private func parse(_ result: Result<UpstreamResponse, UpstreamFailure>) -> Result<(Secret, Double), Problem> {
        let failure = Problem(.upstreamAuth, status: 502, title: "Vendor token unavailable",
                              detail: "JobGate could not obtain an access token from \(vendor).",
                              extensions: ["vendor": .string(vendor)])
        guard case .success(let response) = result, (200..<300).contains(response.status),
              let body = try? JSON.parse(response.body) else { return .failure(failure) }
        let tokenPointer: JSONPointer?
        let expiresPointer: JSONPointer?
        switch exchange {
        case .clientCredentials:
            tokenPointer = JSONPointer("/access_token")
            expiresPointer = JSONPointer("/expires_in")
        case .jsonExchange(_, _, let token, let expires):
            tokenPointer = JSONPointer(token)
            expiresPointer = expires.flatMap(JSONPointer.init)
        }
        guard let token = tokenPointer?.value(in: body)?.stringValue, !token.isEmpty, !token.hasLineBreakOrNUL else {
            return .failure(failure)
        }
        let expiresValue = expiresPointer?.value(in: body)
        // ByteNite sends expiresIn as a string ("3600"); OAuth2 servers send a number.
        let lifetime = expiresValue?.numberValue?.doubleValue ?? expiresValue?.stringValue.flatMap(Double.init) ?? 300
        return .success((Secret(token), max(lifetime, 1)))
    }

    private func finish(_ outcome: Result<(Secret, Double), Problem>) {
        let waiters: [Waiter] = state.withLock { state in
            guard case .fetching(let waiters) = state else { return [] }
            if case .success(let (token, lifetime)) = outcome {
                // Refresh early: at 90% of the lifetime, and at least a minute before expiry when it is long.
                let margin = min(60, lifetime * 0.1)
                state = .valid(token: token, refreshAt: monotonicNanoseconds() &+ UInt64((lifetime - margin) * 1e9))
            } else {
                state = .empty
            }
            return waiters
        }
        let result = outcome.map(\.0)
        for waiter in waiters {
            if waiter.loop.inLoopThread {
                waiter.deliver.value(result)
            } else {
                waiter.loop.execute { waiter.deliver.value(result) }
            }
        }
    }
}

func formEncoded(_ text: String) -> String {
    Planner.percentEncoded(text)
}

func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var output: [UInt8] = []
    output.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let b0 = bytes[index], b1 = index + 1 < bytes.count ? bytes[index + 1] : 0, b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
        output.append(alphabet[Int(b0 >> 2)])
        output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
        output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : 0x3D)
        output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : 0x3D)
        index += 3
    }
    return String(decoding: output, as: UTF8.self)
}
