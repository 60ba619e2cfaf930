import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import JobGateCore
import JobGatePosix

/// How one planned call ended, for `steps` in problems and for logs.
struct StepRecord {
    let name: String
    let method: String
    var status: Int?
    var error: String?
    var applied: Bool
    var durationSeconds: Double

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
    let duration: Double

    var json: JSONValue {
        var object = JSONObject()
        if let error { object["error"] = .string(error) }
        if let status { object["status"] = .number(JSONNumber(Int64(status))) }
        object["durationMs"] = .number(JSONNumber(Int64((duration * 1000).rounded())))
        return .object(object)
    }
}

/// Runs a plan: the only place that does I/O for an update. Calls go one after another in plan order and
/// stop at the first failure; a multi-call update that fails part-way reports which calls were applied.
/// Loop-confined: created, run and completed on one event loop.
final class UpdateExecution {
    struct Outcome {
        var result: Result<JSONValue?, Problem>
        var steps: [StepRecord]
        /// The writes landed but reading the job back failed: the answer is still a success, and says why
        /// the job in it is only what the gateway knows.
        var readBackFailure: Problem?
    }

    private let runtime: VendorRuntime
    private let client: UpstreamClient
    /// Every call of the update in order (see `Planner.update`).
    private let sequence: [PlannedCall]
    private let extraHeaders: [(name: String, value: String)]
    private let options: UpstreamOptions
    /// The caller's `Request-Timeout`, as a monotonic deadline: bounds calls, retries and waits.
    private let deadline: UInt64?
    private let redactor: Redactor
    private let metrics: Metrics
    private let completion: (Outcome) -> Void
    private var steps: [StepRecord] = []
    private var lastJSON: JSONValue?
    /// The job as the merge-base read found it, for writes whose parts the vendor replaces whole.
    private var currentJob: JSONValue?
    private var inFlight: UpstreamCallID?
    private var refetchedToken = false
    private var finished = false
    /// Attempts of the call in progress (more than one when it was retried).
    private var attempt = 0
    private var attempts: [Attempt] = []
    /// When the call in progress was first tried: its retries and their waits share its timeout.
    private var callStarted: UInt64 = 0

    init(runtime: VendorRuntime, client: UpstreamClient, calls: [PlannedCall],
         extraHeaders: [(name: String, value: String)], options: UpstreamOptions, deadline: UInt64?,
         redactor: Redactor, metrics: Metrics, completion: @escaping (Outcome) -> Void) {
        self.runtime = runtime
        self.client = client
        self.sequence = calls
        self.extraHeaders = extraHeaders
        self.options = options
        self.deadline = deadline
        self.redactor = redactor
        self.metrics = metrics
        self.completion = completion
    }

    private var vendor: String { runtime.mapping.vendor }

    func start() {
        run(index: 0)
    }

    /// The caller went away: stop, and free the call in progress.
    func cancel() {
        finished = true
        if let inFlight { client.cancel(inFlight) }
        inFlight = nil
    }

    private func run(index: Int) {
        guard !finished else { return }
        guard index < sequence.count else {
            return finish(.success(lastJSON))
        }
        if attempt == 0 { callStarted = monotonicNanoseconds() }
        // Only token-exchange vendors wait for a credential; the rest go straight to the call.
        guard let tokens = runtime.tokens else { return send(sequence[index], index: index, token: nil) }
        tokens.token(using: client, timeout: options.timeoutSeconds) { [self] result in
            switch result {
            case .failure(let problem): finish(.failure(problem))
            case .success(let token): send(sequence[index], index: index, token: token)
            }
        }
    }


    private func send(_ call: PlannedCall, index: Int, token: Secret?) {
        guard !finished else { return }
        var options = self.options
        if let deadline {
            let remaining = Double(Int64(bitPattern: deadline &- monotonicNanoseconds())) / 1e9
            guard remaining > 0.001 else { return finish(.failure(Self.deadlinePassed(vendor))) }
            options.timeoutSeconds = min(options.timeoutSeconds, remaining)
        }
        if attempt > 0 {
            // A retry gets what is left of the call's timeout, not a fresh one.
            let used = Double(monotonicNanoseconds() &- callStarted) / 1e9
            options.timeoutSeconds = max(0.001, min(options.timeoutSeconds, self.options.timeoutSeconds - used))
        }
        // A write that is not safe to repeat goes on a new connection: see UpstreamOptions.freshConnection.
        options.freshConnection = !call.idempotent
        let credentials = runtime.credentials(token: token)
        var url = call.url
        if let query = credentials.query { url += (url.contains("?") ? "&" : "?") + query }
        var headers = call.headers
        headers.reserveCapacity(headers.count + extraHeaders.count + credentials.headers.count)
        headers += extraHeaders
        headers += credentials.headers
        var body = call.bodyBytes
        if call.mergesWithRead, let currentJob {
            body = Planner.merged(call, currentJob: currentJob, mapping: runtime.mapping).map(JSON.serialize) ?? []
        }
        let request = UpstreamRequest(method: call.method, url: url, headers: headers, body: body, options: options)
        let started = monotonicNanoseconds()
        inFlight = client.send(request) { [self] result in
            inFlight = nil
            let duration = Double(monotonicNanoseconds() &- started) / 1e9
            handle(result, call: call, index: index, token: token, duration: duration)
        }
    }

    private func handle(_ result: Result<UpstreamResponse, UpstreamFailure>, call: PlannedCall, index: Int,
                        token: Secret?, duration: Double) {
        guard !finished else { return }
        let isWrite = call.purpose == .write
        var failureKind: String?
        var status: Int?
        switch result {
        case .failure(let failure): failureKind = failure.kind
        case .success(let response): status = response.status
        }
        attempts.append(Attempt(status: status, error: failureKind, duration: duration))
        metrics.upstreamCall(vendor: vendor, seconds: duration, errorKind: failureKind)
        let vendorFailed: Bool = switch result {
        case .failure(let failure): failure != .cancelled
        case .success(let response): response.status >= 500
        }
        runtime.breaker.record(vendorFailed ? .failure : .success)

        if case .success(let response) = result, response.status == 401, token != nil, !refetchedToken {
            // Our token may have been revoked or expired early: fetch a new one once, then try again.
            refetchedToken = true
            if let token { runtime.tokens?.invalidate(token) }
            return run(index: index)
        }
        if let delay = retryDelay(after: result, call: call) {
            attempt += 1
            client.loop.schedule(afterNanoseconds: UInt64(delay * 1e9)) { [self] in run(index: index) }
            return
        }
        switch result {
        case .failure(let failure):
            steps.append(StepRecord(name: call.name, method: call.method, status: nil, error: failure.kind,
                                    applied: false, durationSeconds: duration))
            fail(UpstreamProblems.problem(for: failure, vendor: vendor, isWrite: isWrite), in: call)
        case .success(let response) where (200..<300).contains(response.status):
            steps.append(StepRecord(name: call.name, method: call.method, status: response.status, error: nil,
                                    applied: isWrite, durationSeconds: duration))
            if !response.body.isEmpty {
                guard let body = try? JSON.parse(response.body, limits: JSONLimits(maxDepth: 64)) else {
                    return fail(UpstreamProblems.malformedBody(vendor: vendor), in: call)
                }
                if call.purpose == .mergeBase {
                    guard let job = runtime.mapping.response.job.value(in: body), job.objectValue != nil else {
                        return fail(UpstreamProblems.malformedBody(vendor: vendor), in: call)
                    }
                    currentJob = job
                } else {
                    lastJSON = body
                }
            } else if call.purpose == .mergeBase {
                return fail(UpstreamProblems.malformedBody(vendor: vendor), in: call)
            }
            attempt = 0
            attempts = []
            run(index: index + 1)
        case .success(let response):
            steps.append(StepRecord(name: call.name, method: call.method, status: response.status, error: nil,
                                    applied: false, durationSeconds: duration))
            let summary = Normalizer.summarize(response, mapping: runtime.mapping, redactor: redactor, now: epochSeconds())
            fail(UpstreamProblems.problem(for: summary, vendor: vendor), in: call)
        }
    }

    /// A failed read-back does not undo the writes before it: the update is answered as the success it
    /// was, with the reason the job could not be read. Any other failure ends the update with its problem.
    private func fail(_ problem: Problem, in call: PlannedCall) {
        guard call.purpose == .readBack, steps.contains(where: \.applied) else { return finish(.failure(problem)) }
        finish(.success(lastJSON), readBackFailure: problem)
    }

    /// Seconds to wait before trying the call again, or nil when it must not be repeated: it is not
    /// idempotent, it may have landed (a write that was sent), the answer is final (a 400 is never retried),
    /// attempts are used up, or the wait would outlive the caller's deadline (then we answer at once).
    private func retryDelay(after result: Result<UpstreamResponse, UpstreamFailure>, call: PlannedCall) -> Double? {
        let policy = runtime.mapping.retry
        guard call.idempotent, attempt + 1 < policy.attempts else { return nil }
        var retryAfter = 0.0
        switch result {
        case .failure(let failure):
            switch failure {
            case .dnsFailure, .connectionRefused: break
            case .timeout, .connectionReset:
                guard call.method == "GET" || !failure.requestMayHaveLanded else { return nil }
            default: return nil
            }
        case .success(let response):
            guard [429, 502, 503, 504].contains(response.status) else { return nil }
            if let seconds = Normalizer.retryAfter(response, runtime.mapping, now: epochSeconds()) {
                retryAfter = Double(seconds)
            }
        }
        // Drawn only once a retry is decided: the jitter costs a getrandom call per draw.
        let delay = max(policy.delay(afterAttempt: attempt), retryAfter)
        // The vendor's timeout bounds the whole call, retries and Retry-After waits included: a vendor that
        // keeps saying "429, Retry-After: 7" must not hold the caller for attempts × 7 s.
        let used = Double(monotonicNanoseconds() &- callStarted) / 1e9
        guard used + delay < options.timeoutSeconds else { return nil }
        if let deadline, monotonicNanoseconds() &+ UInt64(delay * 1e9) >= deadline { return nil }
        return delay
    }

    static func deadlinePassed(_ vendor: String) -> Problem {
        var problem = Problem(.upstreamTimeout, status: 504, title: "Request-Timeout reached",
                              detail: "The caller's Request-Timeout passed before \(vendor) could be called.")
        problem.extensions["vendor"] = .string(vendor)
        return problem
    }

    private func finish(_ result: Result<JSONValue?, Problem>, readBackFailure: Problem? = nil) {
        guard !finished else { return }
        finished = true
        var result = result
        if case .failure(var problem) = result, attempts.count > 1 {
            problem.extensions["attempts"] = .array(attempts.map(\.json))
            result = .failure(problem)
        }
        if case .failure(var problem) = result, sequence.count > 1 {
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
        completion(Outcome(result: result, steps: steps, readBackFailure: readBackFailure))
    }
}
