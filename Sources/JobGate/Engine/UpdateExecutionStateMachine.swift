import JobGateCore
import JobGateJSON
import JobGatePosix
import JobGateUpstream

/// How one planned call ended, for `steps` in problems and for logs.
struct StepRecord {
    let name: String
    let method: String
    var status: Int?
    var error: String?
    var applied: Bool
    var duration: Interval
    /// The vendor's answer body, for `?raw=true` (the response's own buffer, not a copy).
    var body: [UInt8] = []

    /// The answer as `raw` shows it; nil for a call that got none.
    var rawAnswer: RawAnswer? {
        status.map { RawAnswer(call: name, method: method, status: $0, body: body) }
    }

    var json: JSONValue {
        var object = JSONObject()
        object["call"] = .string(name)
        object["method"] = .string(method)
        if let status { object["status"] = .number(JSONNumber(Int64(status))) }
        if let error { object["error"] = .string(error) }
        object["applied"] = .bool(applied)
        return .object(object)
    }
}

/// One try of a call, reported as `attempts` when the call was retried.
struct Attempt {
    let status: Int?
    let error: String?
    let duration: Interval

    var json: JSONValue {
        var object = JSONObject()
        if let error { object["error"] = .string(error) }
        if let status { object["status"] = .number(JSONNumber(Int64(status))) }
        object["durationMs"] = .number(JSONNumber(Int64((duration.inSeconds * 1000).rounded())))
        return .object(object)
    }
}

/// Every decision of an update's execution, apart from its I/O: which call goes next and with what timeout
/// and body, when a token is needed (again), whether a failed attempt is retried and after how long, and what
/// the update answers. Calls go one after another in plan order and stop at the first failure; a multi-call
/// update that fails part-way reports which calls were applied.
///
/// Time comes in with the events and every effect goes out as an action (`UpdateExecution` performs them),
/// so each transition is tested without sockets or clocks.
struct UpdateExecutionStateMachine {
    enum State: Equatable {
        case initial
        /// Attempt `attempt` (0 first) of call `step` waits for the vendor's token.
        case awaitingToken(step: Int, attempt: Int)
        /// Attempt `attempt` of call `step` was sent at `sentAt` with `token`.
        case calling(step: Int, attempt: Int, token: Secret?, sentAt: MonotonicInstant)
        /// Waiting before attempt `attempt` of call `step`, a retry.
        case backingOff(step: Int, attempt: Int)
        /// Answered, or the caller went away: whatever still arrives (a token, a timer, the answer of a call
        /// the client could not start) is dropped.
        case finished
    }

    struct Outcome {
        var result: Result<VendorBody?, Problem>
        var steps: [StepRecord]
        /// The writes landed but reading the job back failed: the answer is still a success, and says why
        /// the job in it is only what the gateway knows.
        var readBackFailure: Problem?
        /// Tokens the gateway obtained and sent: secrets too, for redacting what the vendor answered.
        var tokensUsed: [Secret]
    }

    /// What one attempt tells the circuit breaker and the metrics.
    struct AttemptReport {
        let verdict: CircuitBreakerStateMachine.Verdict
        let duration: Interval
        /// The transport failure, nil when the vendor answered.
        let failureKind: String?
    }

    /// What an ended call leads to: the attempt to report (none for an answer no longer wanted) and the action
    /// that follows. Not an action nesting the next one: that case would be boxed, an allocation per call.
    struct CallEnding {
        let report: AttemptReport?
        let next: Action
    }

    enum Action {
        /// Get the vendor's token (cached or fetched), after forgetting `refused`, which the vendor just refused.
        case fetchToken(refused: Secret?)
        /// Send call `step` of the plan, with `token`'s credentials, this body (merged with the job as the
        /// merge-base read found it) and these options (timeout cut to what is left).
        case sendCall(step: Int, token: Secret?, body: [UInt8], options: UpstreamOptions)
        /// Deliver `backoffElapsed` after this wait.
        case scheduleBackoff(Interval)
        /// Abandon the call in progress: its answer is not wanted.
        case cancelCall
        case finish(Outcome)
        case none
    }

    private(set) var state = State.initial
    /// Every call of the update in order (see `Planner.update`).
    private let calls: [PlannedCall]
    private let mapping: VendorMapping
    /// The vendor's transport options: each attempt's timeout is cut from them.
    private let options: UpstreamOptions
    /// The caller's `Request-Timeout`, as a monotonic deadline: bounds calls, retries and waits.
    private let deadline: MonotonicInstant?
    /// Only vendors whose tokens the gateway obtains itself wait for one before each attempt.
    private let needsToken: Bool
    private let redactor: Redactor
    private var steps: [StepRecord] = []
    /// The last answer with a body: the job, unless the mapping says where in it the job is.
    private var lastBody: VendorBody?
    /// The job as the merge-base read found it, for writes whose parts the vendor replaces whole.
    private var currentJob: JSONValue?
    /// One token re-fetch per update: a second 401 means our credentials are wrong, not stale.
    private var refetchedToken = false
    private var tokensUsed: [Secret] = []
    /// Attempts of the call in progress, reported when it was retried: the first is kept apart, so a call
    /// that is answered at once allocates no list.
    private var firstAttempt: Attempt?
    private var retries: [Attempt] = []
    /// When the call in progress was first tried: its retries and their waits share its timeout.
    private var callStarted = MonotonicInstant(nanoseconds: 0)

    init(calls: [PlannedCall], mapping: VendorMapping, options: UpstreamOptions, deadline: MonotonicInstant?,
         needsToken: Bool, redactor: Redactor) {
        self.calls = calls
        self.mapping = mapping
        self.options = options
        self.deadline = deadline
        self.needsToken = needsToken
        self.redactor = redactor
    }

    private var vendor: String { mapping.vendor }

    // MARK: Events

    mutating func start(now: MonotonicInstant) -> Action {
        guard case .initial = state else { preconditionFailure("started twice, in \(state)") }
        return begin(step: 0, attempt: 0, now: now)
    }

    mutating func tokenDelivered(_ token: Secret, now: MonotonicInstant) -> Action {
        switch state {
        case .awaitingToken(let step, let attempt): return send(step: step, attempt: attempt, token: token, now: now)
        case .finished: return .none
        case .initial, .calling, .backingOff: preconditionFailure("token delivered in \(state)")
        }
    }

    mutating func tokenFailed(_ problem: Problem) -> Action {
        switch state {
        case .awaitingToken: return finish(.failure(problem))
        case .finished: return .none
        case .initial, .calling, .backingOff: preconditionFailure("token failure in \(state)")
        }
    }

    /// `epochSeconds`: the wall clock, which a Retry-After given as an HTTP-date is read against.
    mutating func callAnswered(_ response: UpstreamResponse, now: MonotonicInstant, epochSeconds: Double) -> CallEnding {
        callEnded(.answered(response, epochSeconds: epochSeconds), now: now)
    }

    mutating func callFailed(_ failure: UpstreamFailure, now: MonotonicInstant) -> CallEnding {
        callEnded(.failed(failure), now: now)
    }

    mutating func backoffElapsed(now: MonotonicInstant) -> Action {
        switch state {
        case .backingOff(let step, let attempt): return begin(step: step, attempt: attempt, now: now)
        case .finished: return .none
        case .initial, .awaitingToken, .calling: preconditionFailure("backoff elapsed in \(state)")
        }
    }

    /// The caller went away: nothing is answered, and only a call in progress needs stopping (a token or a
    /// timer still to come is dropped when it arrives).
    mutating func cancelled() -> Action {
        let callInProgress = if case .calling = state { true } else { false }
        state = .finished
        return callInProgress ? .cancelCall : .none
    }

    // MARK: Transitions

    /// Attempt `attempt` of call `step`, or the update's success when every call is done.
    private mutating func begin(step: Int, attempt: Int, now: MonotonicInstant, refusedToken: Secret? = nil) -> Action {
        guard step < calls.count else { return finish(.success(lastBody)) }
        if attempt == 0 { callStarted = now }
        guard needsToken else { return send(step: step, attempt: attempt, token: nil, now: now) }
        state = .awaitingToken(step: step, attempt: attempt)
        return .fetchToken(refused: refusedToken)
    }

    private mutating func send(step: Int, attempt: Int, token: Secret?, now: MonotonicInstant) -> Action {
        let call = calls[step]
        var options = self.options
        if let deadline {
            let remaining = deadline - now
            guard remaining > .milliseconds(1) else { return finish(.failure(Self.deadlinePassed(vendor))) }
            options.timeout = min(options.timeout, remaining)
        }
        if attempt > 0 {
            // A retry gets what is left of the call's timeout, not a fresh one.
            options.timeout = max(.milliseconds(1), min(options.timeout, self.options.timeout - (now - callStarted)))
        }
        options.idempotent = call.idempotent // a write that is not is never sent twice: see UpstreamOptions.idempotent
        var body = call.bodyBytes
        if call.mergesWithRead, let currentJob {
            body = Planner.merged(call, currentJob: currentJob, mapping: mapping).map(JSON.serialize) ?? []
        }
        if let token, !tokensUsed.contains(token) { tokensUsed.append(token) }
        state = .calling(step: step, attempt: attempt, token: token, sentAt: now)
        return .sendCall(step: step, token: token, body: body, options: options)
    }

    /// How an attempt ended.
    private enum Ending {
        case answered(UpstreamResponse, epochSeconds: Double)
        case failed(UpstreamFailure)
    }

    private mutating func callEnded(_ ending: Ending, now: MonotonicInstant) -> CallEnding {
        guard case .calling(let step, let attempt, let token, let sentAt) = state else {
            guard case .finished = state else { preconditionFailure("call ended in \(state)") }
            return CallEnding(report: nil, next: .none)
        }
        let duration = now - sentAt
        var failureKind: String?
        var status: Int?
        switch ending {
        case .failed(let failure): failureKind = failure.kind
        case .answered(let response, _): status = response.status
        }
        let tried = Attempt(status: status, error: failureKind, duration: duration)
        if firstAttempt == nil { firstAttempt = tried } else { retries.append(tried) }
        let vendorFailed: Bool = switch ending {
        case .failed: true
        case .answered(let response, _): response.status >= 500
        }
        let report = AttemptReport(verdict: vendorFailed ? .failure : .success, duration: duration, failureKind: failureKind)
        let next = decide(after: ending, step: step, attempt: attempt, token: token, duration: duration, now: now)
        return CallEnding(report: report, next: next)
    }

    /// What follows an attempt: a new token, a retry, the next call, or the end.
    private mutating func decide(after ending: Ending, step: Int, attempt: Int,
                                 token: Secret?, duration: Interval, now: MonotonicInstant) -> Action {
        let call = calls[step]
        if case .answered(let response, _) = ending, response.status == 401, let token, !refetchedToken {
            // Our token may have been revoked or expired early: fetch a new one once, then try again.
            refetchedToken = true
            return begin(step: step, attempt: attempt, now: now, refusedToken: token)
        }
        if let delay = retryDelay(after: ending, call: call, attempt: attempt, now: now) {
            state = .backingOff(step: step, attempt: attempt + 1)
            return .scheduleBackoff(delay)
        }
        let isWrite = call.purpose == .write
        switch ending {
        case .failed(let failure):
            steps.append(StepRecord(name: call.name, method: call.method, status: nil, error: failure.kind,
                                    applied: false, duration: duration))
            return fail(UpstreamProblems.problem(for: failure, vendor: vendor, isWrite: isWrite), in: call)
        case .answered(let response, _) where (200..<300).contains(response.status):
            steps.append(StepRecord(name: call.name, method: call.method, status: response.status, error: nil,
                                    applied: isWrite, duration: duration, body: response.body))
            if !response.body.isEmpty {
                let limits = JSONLimits(maxDepth: 64)
                if call.purpose == .mergeBase {
                    guard let body = try? JSON.parse(response.body, limits: limits),
                          let job = mapping.response.job.value(in: body), job.objectValue != nil else {
                        return fail(UpstreamProblems.malformedBody(vendor: vendor), in: call)
                    }
                    currentJob = job
                } else {
                    guard let body = try? VendorBody.read(response.body, limits: limits, mapping: mapping) else {
                        return fail(UpstreamProblems.malformedBody(vendor: vendor), in: call)
                    }
                    lastBody = body
                }
            } else if call.purpose == .mergeBase {
                return fail(UpstreamProblems.malformedBody(vendor: vendor), in: call)
            }
            firstAttempt = nil
            retries = []
            return begin(step: step + 1, attempt: 0, now: now)
        case .answered(let response, let epochSeconds):
            steps.append(StepRecord(name: call.name, method: call.method, status: response.status, error: nil,
                                    applied: false, duration: duration, body: response.body))
            let summary = Normalizer.summarize(response, mapping: mapping, redactor: redactor, now: epochSeconds)
            return fail(UpstreamProblems.problem(for: summary, vendor: vendor), in: call)
        }
    }

    /// How long to wait before trying the call again, or nil when it must not be repeated: it is not
    /// idempotent, it may have landed (a write that was sent), the answer is final (a 400 is never retried),
    /// attempts are used up, or the wait would outlive the caller's deadline (then we answer at once).
    private func retryDelay(after ending: Ending, call: PlannedCall, attempt: Int,
                            now: MonotonicInstant) -> Interval? {
        let policy = mapping.retry
        guard call.idempotent, attempt + 1 < policy.attempts else { return nil }
        var retryAfter = Interval.zero
        switch ending {
        case .failed(let failure):
            switch failure {
            case .dnsFailure, .connectionRefused: break
            case .timeout, .connectionReset:
                guard call.method == "GET" || !failure.requestMayHaveLanded else { return nil }
            default: return nil
            }
        case .answered(let response, let epochSeconds):
            guard [429, 502, 503, 504].contains(response.status) else { return nil }
            if let seconds = Normalizer.retryAfter(response, mapping, now: epochSeconds) {
                retryAfter = .seconds(seconds)
            }
        }
        // Drawn only once a retry is decided: the jitter costs a getrandom call per draw.
        let delay = max(Interval(policy.delay(afterAttempt: attempt)), retryAfter)
        // The vendor's timeout bounds the whole call, retries and Retry-After waits included: a vendor that
        // keeps saying "429, Retry-After: 7" must not hold the caller for attempts × 7 s. A retry must also
        // leave the call a quarter of its timeout to be answered in: waiting 9 of 10 s only to time out is a
        // 504 where answering the 429 at once was the better answer.
        let headroom = options.timeout / 4
        guard (now - callStarted) + delay + headroom <= options.timeout else { return nil }
        if let deadline, now + delay + headroom >= deadline { return nil }
        return delay
    }

    /// A failed read-back does not undo the writes before it: the update is answered as the success it
    /// was, with the reason the job could not be read. Any other failure ends the update with its problem.
    private mutating func fail(_ problem: Problem, in call: PlannedCall) -> Action {
        guard call.purpose == .readBack, steps.contains(where: \.applied) else { return finish(.failure(problem)) }
        return finish(.success(lastBody), readBackFailure: problem)
    }

    private mutating func finish(_ result: Result<VendorBody?, Problem>, readBackFailure: Problem? = nil) -> Action {
        state = .finished
        var result = result
        if case .failure(var problem) = result, let firstAttempt, !retries.isEmpty {
            problem.extensions["attempts"] = .array(([firstAttempt] + retries).map(\.json))
            result = .failure(problem)
        }
        if case .failure(var problem) = result, calls.count > 1 {
            // Nothing silently lost: say exactly which calls took effect before the failure.
            problem.extensions["steps"] = .array(steps.map(\.json))
            problem.extensions["applied"] = .array(steps.filter(\.applied).map { .string($0.name) })
            if let failed = steps.last, !(200..<300).contains(failed.status ?? 0) {
                problem.extensions["failed"] = .string(failed.name)
            }
            if steps.contains(where: \.applied) {
                problem.detail += " Some calls were applied before the failure: see 'applied'."
            }
            result = .failure(problem)
        }
        return .finish(Outcome(result: result, steps: steps, readBackFailure: readBackFailure, tokensUsed: tokensUsed))
    }

    static func deadlinePassed(_ vendor: String) -> Problem {
        var problem = Problem(.upstreamTimeout, status: 504, title: "Request-Timeout reached",
                              detail: "The caller's Request-Timeout passed before \(vendor) could be called.")
        problem.extensions["vendor"] = .string(vendor)
        return problem
    }
}
