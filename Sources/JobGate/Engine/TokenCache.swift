import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import Synchronization
import JobGateCore
import JobGatePosix

/// Tokens the gateway obtains itself (OAuth2 client credentials, ByteNite's key exchange, Shop Planr's
/// login): fetched lazily, one fetch at a time for all loops, renewed before they expire, and dropped when
/// the vendor says 401.
final class TokenCache: Sendable {
    typealias Waiter = (loop: EventLoop, deliver: LoopBound<(Result<Secret, Problem>) -> Void>)

    private enum State {
        case empty
        case valid(token: Secret, renewAt: MonotonicInstant, expiresAt: MonotonicInstant)
        case fetching(waiters: [Waiter])
        /// The vendor asked us to wait (a 429 on the token endpoint): asking again sooner only prolongs it.
        case backingOff(problem: Problem, until: MonotonicInstant)
    }

    /// What one fetch does: exchange the credentials, or renew a token that is still valid.
    private enum Fetch {
        case exchange
        case renew(Secret)
    }

    let vendor: String
    private let exchange: TokenSource.Exchange
    private let header: String
    private let prefix: String
    private let allowPlainHTTP: Bool
    private let state = Mutex<State>(.empty)

    init(vendor: String, source: TokenSource, exchange: TokenSource.Exchange, allowPlainHTTP: Bool) {
        self.vendor = vendor
        self.exchange = exchange
        self.header = source.header
        self.prefix = source.prefix
        self.allowPlainHTTP = allowPlainHTTP
    }

    private var renewURL: String? {
        if case .jsonExchange(let json) = exchange { return json.renewURL }
        return nil
    }

    /// Delivers a token on `client`'s loop: the cached one, or the result of the fetch in progress, or of a
    /// fetch this call starts on `client`.
    func token(using client: UpstreamClient, timeout: Interval, _ deliver: @escaping (Result<Secret, Problem>) -> Void) {
        let now = MonotonicInstant.now
        let waiter: Waiter = (client.loop, LoopBound(deliver, on: client.loop))
        enum Next { case use(Secret), refuse(Problem), wait, fetch(Fetch) }
        let renewable = renewURL != nil
        let next: Next = state.withLock { state in
            switch state {
            case .valid(let token, let renewAt, _) where renewAt > now:
                return .use(token)
            case .valid(let token, _, let expiresAt) where expiresAt > now && renewable:
                state = .fetching(waiters: [waiter])
                return .fetch(.renew(token))
            case .fetching(let waiters):
                state = .fetching(waiters: waiters + [waiter])
                return .wait
            case .backingOff(let problem, let until) where until > now:
                return .refuse(problem)
            default:
                state = .fetching(waiters: [waiter])
                return .fetch(.exchange)
            }
        }
        switch next {
        case .use(let token): deliver(.success(token))
        case .refuse(let problem): deliver(.failure(problem))
        case .wait: break
        case .fetch(let fetch): start(fetch, using: client, timeout: timeout)
        }
    }

    /// Forgets `token` after the vendor refused it, so the next request fetches a new one.
    func invalidate(_ token: Secret) {
        state.withLock { state in
            if case .valid(let current, _, _) = state, current == token { state = .empty }
        }
    }

    private func start(_ fetch: Fetch, using client: UpstreamClient, timeout: Interval) {
        var options = UpstreamOptions()
        options.timeout = timeout
        options.allowPlainHTTP = allowPlainHTTP
        options.maxResponseBytes = 64 * 1024
        let json = ("Content-Type", "application/json")
        let accept = ("Accept", "application/json")
        let request: UpstreamRequest
        switch (fetch, exchange) {
        case (.renew(let token), _):
            request = UpstreamRequest(method: "POST", url: renewURL ?? "", headers: [accept, (header, prefix + token.exposedValue)],
                                      body: [], options: options)
        case (.exchange, .clientCredentials(let url, let clientID, let clientSecret)):
            let form = "grant_type=client_credentials&client_id=\(formEncoded(clientID.exposedValue))"
                + "&client_secret=\(formEncoded(clientSecret.exposedValue))"
            request = UpstreamRequest(method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded"), accept],
                                      body: Array(form.utf8), options: options)
        case (.exchange, .jsonExchange(let exchange)):
            var object = JSONObject()
            for (name, value) in exchange.body { object[name] = .string(value.exposedValue) }
            request = UpstreamRequest(method: "POST", url: exchange.url, headers: [json, accept],
                                      body: JSON.serialize(.object(object)), options: options)
        }
        client.send(request) { [self] result in
            let outcome = TokenAnswer.read(result, exchange: exchange, vendor: vendor, now: epochSeconds())
            if case .renew = fetch, case .failure = outcome {
                // Renewal is a courtesy: when it fails, exchange the credentials again, once.
                return start(.exchange, using: client, timeout: timeout)
            }
            finish(outcome)
        }
    }

    private func finish(_ outcome: Result<TokenAnswer, TokenAnswer.Failure>) {
        let now = MonotonicInstant.now
        let waiters: [Waiter] = state.withLock { state in
            guard case .fetching(let waiters) = state else { return [] }
            switch outcome {
            case .success(let answer):
                state = .valid(token: answer.token, renewAt: now + .seconds(answer.renewAfterSeconds),
                               expiresAt: now + .seconds(answer.lifetimeSeconds))
            case .failure(let failure):
                state = failure.retryAfterSeconds.map { .backingOff(problem: failure.problem, until: now + .seconds($0)) } ?? .empty
            }
            return waiters
        }
        let result = outcome.map(\.token).mapError(\.problem)
        for waiter in waiters {
            if waiter.loop.inLoopThread {
                waiter.deliver.value(result)
            } else {
                waiter.loop.execute { waiter.deliver.value(result) }
            }
        }
    }
}

/// A token endpoint's answer, read without I/O: the token, how long it lasts, when to renew it.
struct TokenAnswer {
    struct Failure: Error {
        let problem: Problem
        /// Set when the vendor asked us to wait before asking again.
        let retryAfterSeconds: Int?
    }

    let token: Secret
    let lifetimeSeconds: Double

    /// Renew early: 80% into the lifetime, and at most five minutes before expiry when it is long (a JWT's
    /// `exp` is the vendor's clock, which may run ahead of ours).
    var renewAfterSeconds: Double { lifetimeSeconds - min(300, lifetimeSeconds * 0.2) }

    /// Used when the answer states no lifetime: short enough to notice a revoked credential soon.
    static let defaultLifetimeSeconds = 300.0

    static func read(_ result: Result<UpstreamResponse, UpstreamFailure>, exchange: TokenSource.Exchange, vendor: String,
                     now: Double) -> Result<TokenAnswer, Failure> {
        var problem = Problem(.upstreamAuth, status: 502, title: "Vendor token unavailable",
                              detail: "JobGate could not obtain an access token from \(vendor).",
                              extensions: ["vendor": .string(vendor)])
        guard case .success(let response) = result else { return .failure(Failure(problem: problem, retryAfterSeconds: nil)) }
        if response.status == 429 {
            let wait = UpstreamProblems.clamp(response.header("retry-after").flatMap { Normalizer.retryAfterSeconds($0, now: now) } ?? 60)
            problem = Problem(.rateLimited, status: 429, title: "Vendor rate limit reached",
                              detail: "\(vendor) is limiting how often JobGate may obtain a token.",
                              extensions: ["vendor": .string(vendor)], headers: [(name: "Retry-After", value: String(wait))])
            return .failure(Failure(problem: problem, retryAfterSeconds: wait))
        }
        if response.status == 401 || response.status == 403 {
            problem.detail = "\(vendor) refused the credentials JobGate is configured with."
        }
        guard (200..<300).contains(response.status), let body = try? JSON.parse(response.body) else {
            problem.extensions["upstreamStatus"] = .number(JSONNumber(Int64(response.status)))
            return .failure(Failure(problem: problem, retryAfterSeconds: nil))
        }
        let tokenPointer: JSONPointer
        let lifetime: JSONTokenExchange.Lifetime
        switch exchange {
        case .clientCredentials:
            tokenPointer = JSONPointer(tokens: ["access_token"])
            lifetime = .expiresIn(JSONPointer(tokens: ["expires_in"]))
        case .jsonExchange(let json):
            tokenPointer = json.tokenPointer
            lifetime = json.lifetime
        }
        guard let token = tokenPointer.value(in: body)?.stringValue, !token.isEmpty, !token.hasLineBreakOrNUL else {
            return .failure(Failure(problem: problem, retryAfterSeconds: nil))
        }
        let seconds: Double?
        switch lifetime {
        case .expiresIn(let pointer):
            let value = pointer?.value(in: body)
            // ByteNite sends expiresIn as a string ("3600"); OAuth2 servers send a number.
            seconds = value?.numberValue?.doubleValue ?? value?.stringValue.flatMap(Double.init)
        case .jwtExpiry:
            seconds = JWT.expiry(of: token).map { $0 - now }
        }
        guard let seconds, seconds.isFinite else {
            return .success(TokenAnswer(token: Secret(token), lifetimeSeconds: defaultLifetimeSeconds))
        }
        guard seconds > 0 else {
            problem.detail = "\(vendor) issued a token that has already expired (check the clocks)."
            return .failure(Failure(problem: problem, retryAfterSeconds: nil))
        }
        return .success(TokenAnswer(token: Secret(token), lifetimeSeconds: seconds))
    }
}

/// Reads the claims of a JSON Web Token without verifying it: the gateway only needs to know when the
/// vendor will stop accepting it; the vendor verifies the signature.
enum JWT {
    /// The `exp` claim, in Unix epoch seconds.
    static func expiry(of token: String) -> Double? {
        let segments = token.utf8.split(separator: 0x2E, omittingEmptySubsequences: false)
        guard segments.count == 3, let payload = Base64.decode(segments[1]),
              let claims = try? JSON.parse(payload, limits: JSONLimits(maxDepth: 8, maxBytes: 16 * 1024)) else { return nil }
        guard let exp = claims.objectValue?["exp"]?.numberValue?.doubleValue, exp.isFinite else { return nil }
        return exp
    }

    /// Why a static token will not last, for `jobgate check`: nil when it is not a JWT or lasts over a day.
    static func expiryWarning(for token: String, now: Double) -> String? {
        guard let exp = expiry(of: token) else { return nil }
        if exp <= now {
            return "the static token expired \(RFC3339.format(epochSeconds: exp)); calls will be refused (401)"
        }
        if exp - now < 86_400 {
            return "the static token expires \(RFC3339.format(epochSeconds: exp)), within a day; prefer credentials the gateway can log in with"
        }
        return nil
    }
}

func formEncoded(_ text: String) -> String {
    Planner.percentEncoded(text)
}
