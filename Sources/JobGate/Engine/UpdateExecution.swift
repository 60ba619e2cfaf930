import JobGateHTTP
import JobGateJSON
import JobGateUpstream

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

/// Runs a plan: the only place that does I/O for an update. Calls go one after another in plan order and
/// stop at the first failure; a multi-call update that fails part-way reports which calls were applied.
/// Loop-confined: created, run and completed on one event loop.
final class UpdateExecution {
    struct Outcome {
        var result: Result<JSONValue?, Problem>
        var steps: [StepRecord]
    }

    private let runtime: VendorRuntime
    private let client: UpstreamClient
    private let calls: [PlannedCall]
    private let read: PlannedCall?
    private let vendorJobID: String
    private let extraHeaders: [(name: String, value: String)]
    private let options: UpstreamOptions
    private let redactor: Redactor
    private let completion: (Outcome) -> Void
    private var steps: [StepRecord] = []
    private var lastJSON: JSONValue?
    private var inFlight: UpstreamCallID?
    private var refetchedToken = false
    private var finished = false

    init(runtime: VendorRuntime, client: UpstreamClient, calls: [PlannedCall], read: PlannedCall?, vendorJobID: String,
         extraHeaders: [(name: String, value: String)], options: UpstreamOptions, redactor: Redactor,
         completion: @escaping (Outcome) -> Void) {
        self.runtime = runtime
        self.client = client
        self.calls = calls
        self.read = read
        self.vendorJobID = vendorJobID
        self.extraHeaders = extraHeaders
        self.options = options
        self.redactor = redactor
        self.completion = completion
    }

    private var vendor: String { runtime.mapping.vendor }
    private var sequence: [PlannedCall] { calls + (read.map { [$0] } ?? []) }

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
        withCredentials { [self] result in
            switch result {
            case .failure(let problem): finish(.failure(problem))
            case .success(let token): send(sequence[index], index: index, token: token)
            }
        }
    }

    private func withCredentials(_ next: @escaping (Result<Secret?, Problem>) -> Void) {
        guard let tokens = runtime.tokens else { return next(.success(nil)) }
        tokens.token(using: client, timeout: options.timeoutSeconds) { result in next(result.map { $0 }) }
    }

    private func send(_ call: PlannedCall, index: Int, token: Secret?) {
        guard !finished else { return }
        let credentials = runtime.credentials(token: token)
        var url = call.url
        if let query = credentials.query { url += (url.contains("?") ? "&" : "?") + query }
        let request = UpstreamRequest(method: call.method, url: url, headers: call.headers + extraHeaders + credentials.headers,
                                      body: call.bodyBytes, options: options)
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
        let isWrite = call.method != "GET"
        switch result {
        case .failure(let failure):
            steps.append(StepRecord(name: call.name, method: call.method, status: nil, error: failure.kind,
                                    applied: false, durationSeconds: duration))
            finish(.failure(UpstreamProblems.problem(for: failure, vendor: vendor, isWrite: isWrite)))
        case .success(let response) where response.status == 401 && token != nil && !refetchedToken:
            // Our token may have been revoked or expired early: fetch a new one once, then try again.
            refetchedToken = true
            if let token { runtime.tokens?.invalidate(token) }
            run(index: index)
        case .success(let response) where (200..<300).contains(response.status):
            steps.append(StepRecord(name: call.name, method: call.method, status: response.status, error: nil,
                                    applied: isWrite, durationSeconds: duration))
            if !response.body.isEmpty {
                guard let body = try? JSON.parse(response.body, limits: JSONLimits(maxDepth: 64)) else {
                    return finish(.failure(UpstreamProblems.malformedBody(vendor: vendor)))
                }
                lastJSON = body
            }
            run(index: index + 1)
        case .success(let response):
            steps.append(StepRecord(name: call.name, method: call.method, status: response.status, error: nil,
                                    applied: false, durationSeconds: duration))
            let summary = Normalizer.summarize(response, mapping: runtime.mapping, redactor: redactor)
            finish(.failure(UpstreamProblems.problem(for: summary, vendor: vendor)))
        }
    }

    private func finish(_ result: Result<JSONValue?, Problem>) {
        guard !finished else { return }
        finished = true
        var result = result
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
        completion(Outcome(result: result, steps: steps))
    }
}
