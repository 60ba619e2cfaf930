import JobGateCore
import JobGatePosix
import JobGateUpstream

/// Runs a plan: the only place that does I/O for an update. It performs what `UpdateExecutionStateMachine`
/// decides (tokens, calls, backoff timers, breaker verdicts, the answer) and feeds it what happened, with the
/// time it happened. Loop-confined: created, run and completed on one event loop.
final class UpdateExecution {
    typealias Outcome = UpdateExecutionStateMachine.Outcome

    private var machine: UpdateExecutionStateMachine
    private let runtime: VendorRuntime
    private let client: UpstreamClient
    /// Every call of the update in order (see `Planner.update`).
    private let sequence: [PlannedCall]
    /// The caller's headers (request id, trace context), then the vendor's credentials unless they depend on a
    /// token: put together once per update rather than for every call.
    private let addedHeaders: [(name: String, value: String)]
    /// The credentials' query parameter, for the same vendors.
    private let credentialQuery: String?
    /// The token fetch's own timeout: the vendor's whole-call timeout.
    private let tokenTimeout: Interval
    private let metrics: Metrics
    private let completion: (Outcome) -> Void
    private var inFlight: UpstreamCallID?

    init(runtime: VendorRuntime, client: UpstreamClient, calls: [PlannedCall],
         extraHeaders: [(name: String, value: String)], options: UpstreamOptions, deadline: MonotonicInstant?,
         redactor: Redactor, metrics: Metrics, completion: @escaping (Outcome) -> Void) {
        self.machine = UpdateExecutionStateMachine(calls: calls, mapping: runtime.mapping, options: options,
                                                   deadline: deadline, needsToken: runtime.tokens != nil,
                                                   redactor: redactor)
        self.runtime = runtime
        self.client = client
        self.sequence = calls
        if runtime.tokens == nil {
            let credentials = runtime.credentials(token: nil)
            addedHeaders = credentials.headers.isEmpty ? extraHeaders : extraHeaders + credentials.headers
            credentialQuery = credentials.query
        } else {
            addedHeaders = extraHeaders
            credentialQuery = nil
        }
        self.tokenTimeout = options.timeout
        self.metrics = metrics
        self.completion = completion
    }

    func start() {
        perform(machine.start(now: MonotonicInstant.now))
    }

    /// The caller went away: stop, and free the call in progress.
    func cancel() {
        perform(machine.cancelled())
    }

    private func perform(_ action: UpdateExecutionStateMachine.Action) {
        switch action {
        case .fetchToken(let refused):
            guard let tokens = runtime.tokens else { preconditionFailure("a token for \(runtime.mapping.vendor), which exchanges none") }
            if let refused { tokens.invalidate(refused) }
            tokens.token(using: client, timeout: tokenTimeout) { [self] result in
                switch result {
                case .success(let token): perform(machine.tokenDelivered(token, now: MonotonicInstant.now))
                case .failure(let problem): perform(machine.tokenFailed(problem))
                }
            }
        case .sendCall(let step, let token, let body, let options):
            send(sequence[step], token: token, body: body, options: options)
        case .scheduleBackoff(let wait):
            client.loop.schedule(after: wait) { [self] in
                perform(machine.backoffElapsed(now: MonotonicInstant.now))
            }
        case .cancelCall:
            if let inFlight { client.cancel(inFlight) }
            inFlight = nil
        case .finish(let outcome):
            completion(outcome)
        case .none:
            break
        }
    }

    /// Reports the attempt that ended to the metrics and the breaker, then does what follows.
    private func record(_ ending: UpdateExecutionStateMachine.CallEnding) {
        if let report = ending.report {
            metrics.upstreamCall(runtime.metricLabels, seconds: report.duration.inSeconds, errorKind: report.failureKind)
            runtime.breaker.record(report.verdict)
        }
        perform(ending.next)
    }

    private func send(_ call: PlannedCall, token: Secret?, body: [UInt8], options: UpstreamOptions) {
        var added = addedHeaders
        var query = credentialQuery
        if runtime.tokens != nil {
            let credentials = runtime.credentials(token: token)
            added += credentials.headers
            query = credentials.query
        }
        var url = call.url
        if let query { url += (url.contains("?") ? "&" : "?") + query }
        let request = UpstreamRequest(method: call.method, url: url, headers: call.headers, addedHeaders: added,
                                      body: body, options: options)
        inFlight = client.send(request) { [self] result in
            inFlight = nil
            let now = MonotonicInstant.now
            switch result {
            case .success(let response):
                // The wall clock matters only to a Retry-After written as a date, which a success never carries.
                let wall = (200..<300).contains(response.status) ? 0 : epochSeconds()
                record(machine.callAnswered(response, now: now, epochSeconds: wall))
            case .failure(let failure): record(machine.callFailed(failure, now: now))
            }
        }
    }
}
