import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import JobGateCore
import JobGatePosix

/// `PATCH /jobs/{id}`: parse → route → validate → plan → execute → normalize (CONTRACT.md §3).
/// Everything before `execute` is pure and answers with a problem at the first failure.
struct JobUpdateFlow {
    let state: GatewayState
    let client: UpstreamClient
    let request: HTTPRequest
    let responder: HTTPResponder
    let metrics: Metrics
    /// What the access log and metrics learn about this request as it goes.
    let record: RequestRecord

    static let acceptPatch = "application/json, application/merge-patch+json"

    func run(rawID: Substring) {
        switch prepare(rawID: rawID) {
        case .failure(let problem):
            respond(problem)
        case .success(let prepared):
            if prepared.isDryRun {
                return responder.respond(Gateway.json(200, dryRun(prepared)))
            }
            execute(prepared)
        }
    }

    struct Prepared {
        let runtime: VendorRuntime
        let vendorJobID: String
        let patch: ValidatedPatch
        let calls: [PlannedCall]
        let preferMinimal: Bool
        let isDryRun: Bool
        let deadline: UInt64?
    }

    /// The gates before any vendor call, in the order their problems take precedence.
    private func prepare(rawID: Substring) -> Result<Prepared, Problem> {
        Result { () throws(Problem) -> Prepared in
            try authorize()
            let patch = try patchBody()
            let (runtime, vendorJobID) = try route(rawID)
            let validated = try UpdatePlanning.validate(patch, mapping: runtime.mapping)
            let deadline = try callerDeadline()
            let preferences = Preferences(request.headers.values("prefer"))
            let calls = try UpdatePlanning.plan(validated, vendorJobID: vendorJobID, mapping: runtime.mapping,
                                                returnMinimal: preferences.returnMinimal)
            let isDryRun = try dryRunQuery() || preferences.dryRun
            return Prepared(runtime: runtime, vendorJobID: vendorJobID, patch: validated, calls: calls,
                            preferMinimal: preferences.returnMinimal, isDryRun: isDryRun, deadline: deadline)
        }
    }

    private func authorize() throws(Problem) {
        guard !state.inboundTokens.isEnabled || state.inboundTokens.accepts(request.headers["authorization"]) else {
            throw Problem(.unauthorized, status: 401, title: "Unauthorized", detail: "A valid bearer token is required.",
                          headers: [(name: "WWW-Authenticate", value: "Bearer realm=\"jobgate\"")])
        }
    }

    private func patchBody() throws(Problem) -> JSONObject {
        guard isJSONContentType(request.headers["content-type"]) else {
            throw Problem(.unsupportedMediaType, status: 415, title: "Unsupported media type",
                          detail: "Send the patch as application/json or application/merge-patch+json.",
                          headers: [(name: "Accept-Patch", value: Self.acceptPatch)])
        }
        let body: JSONValue
        do {
            body = try JSON.parse(request.body)
        } catch {
            throw .badRequest("The body is not valid JSON: \(error).")
        }
        guard let patch = body.objectValue else {
            throw .badRequest("The body must be a JSON object (a merge patch of a Job).")
        }
        return patch
    }

    /// The vendor's runtime and the vendor's own job id, for a configured vendor and a well-formed id.
    private func route(_ rawID: Substring) throws(Problem) -> (VendorRuntime, String) {
        let reference = try JobReference.parse(rawID: rawID, vendorHeader: request.headers["job-vendor"],
                                               known: state.mappings.vendors).get()
        guard let runtime = state.runtimes[reference.vendor] else {
            throw .badRequest("Unknown vendor '\(reference.vendor)'.")
        }
        record.vendor = reference.vendor
        let mapping = runtime.mapping
        guard mapping.isConfigured else {
            var problem = Problem(.unavailable, status: 503, title: "Vendor not configured",
                                  detail: "Vendor '\(mapping.vendor)' has no credentials configured (set \(mapping.missingConfiguration.joined(separator: ", "))).",
                                  headers: [(name: "Retry-After", value: "60")])
            problem.extensions["vendor"] = .string(mapping.vendor)
            throw problem
        }
        try UpdatePlanning.checkJobID(reference.vendorJobID, mapping: mapping)
        return (runtime, reference.vendorJobID)
    }

    /// The caller's `Request-Timeout` as a monotonic deadline, counted from when the request arrived.
    private func callerDeadline() throws(Problem) -> UInt64? {
        guard let text = request.headers["request-timeout"] else { return nil }
        guard let seconds = Self.decimalSeconds(text.trimmingASCIIWhitespace()), seconds > 0, seconds <= 3600 else {
            throw .badRequest("Request-Timeout must be a number of seconds in (0, 3600].")
        }
        return responder.receivedAt &+ UInt64(seconds * 1e9)
    }

    /// Strict: a mistyped flag (`dryRun=ture`, `dryRun=1`) must not turn a dry run into a real write.
    private func dryRunQuery() throws(Problem) -> Bool {
        guard let value = request.query.flatMap({ QueryString($0)["dryRun"] }) else { return false }
        guard value == "true" || value == "false" else { throw .badRequest("dryRun must be 'true' or 'false'.") }
        return value == "true"
    }

    private func execute(_ prepared: Prepared) {
        let vendor = prepared.runtime.mapping.vendor
        let ticket: CircuitBreakerStateMachine.Ticket
        switch prepared.runtime.breaker.admit() {
        case .admitted(let admitted):
            ticket = admitted
        case .refused(let retryAfter):
            var problem = Problem(.unavailable, status: 503, title: "Vendor circuit open",
                                  detail: "Calls to \(vendor) are paused after repeated failures.",
                                  headers: [(name: "Retry-After", value: String(retryAfter))])
            problem.extensions["vendor"] = .string(vendor)
            return respond(problem)
        }
        // Every way out of an admitted request releases its ticket (a half-open probe's lease with it).
        let breaker = prepared.runtime.breaker
        if let retryAfter = prepared.runtime.rateLimiter?.acquire() {
            breaker.release(ticket)
            metrics.rateLimited(vendor: vendor)
            var problem = Problem(.rateLimited, status: 429, title: "Rate limit reached",
                                  detail: "The configured rate limit for \(prepared.runtime.mapping.vendor) is reached.",
                                  headers: [(name: "Retry-After", value: String(retryAfter))])
            problem.extensions["vendor"] = .string(prepared.runtime.mapping.vendor)
            return respond(problem)
        }
        guard prepared.runtime.enter() else {
            breaker.release(ticket)
            var problem = Problem(.unavailable, status: 503, title: "Too many calls in progress",
                                  detail: "The concurrency limit for \(vendor) is reached.",
                                  headers: [(name: "Retry-After", value: "1")])
            problem.extensions["vendor"] = .string(vendor)
            return respond(problem)
        }
        let options = prepared.runtime.options(defaultTimeout: state.settings.upstreamTimeoutSeconds)
        let mapping = prepared.runtime.mapping
        let responder = self.responder
        let requestPath = instance(request)
        let record = self.record
        let execution = UpdateExecution(
            runtime: prepared.runtime, client: client, calls: prepared.calls,
            extraHeaders: forwardedHeaders(idempotencyHeader: mapping.idempotencyKeyHeader), options: options, deadline: prepared.deadline,
            redactor: state.redactor, metrics: metrics
        ) { outcome in
            prepared.runtime.leave()
            breaker.release(ticket)
            record.upstreamSteps = outcome.steps
            switch outcome.result {
            case .failure(let problem):
                responder.respond(problem.response(instance: requestPath, requestID: responder.requestID))
            case .success where prepared.preferMinimal:
                responder.respond(HTTPResponse(status: 204, headers: [(name: "Preference-Applied", value: "return=minimal")]))
            case .success(let body):
                if let readBackFailure = outcome.readBackFailure {
                    let known = body.flatMap { Normalizer.job(from: $0, vendorJobID: prepared.vendorJobID, mapping: mapping) }
                    return responder.respond(Gateway.json(200, Normalizer.withReadBackFailure(
                        known ?? Normalizer.job(from: prepared.patch, vendorJobID: prepared.vendorJobID, mapping: mapping),
                        readBackFailure)))
                }
                guard let body, let job = Normalizer.job(from: body, vendorJobID: prepared.vendorJobID, mapping: mapping) else {
                    return responder.respond(UpstreamProblems.malformedBody(vendor: mapping.vendor)
                        .response(instance: requestPath, requestID: responder.requestID))
                }
                responder.respond(Gateway.json(200, job))
            }
        }
        responder.onCancel = {
            execution.cancel()
            prepared.runtime.leave()
            breaker.release(ticket)
        }
        execution.start()
    }

    /// Plain decimal seconds ("2", "0.5"): Double(_:) alone would also take "0x10", "1e1" and "inf".
    static func decimalSeconds(_ text: String) -> Double? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digitsOnly = parts.allSatisfy { part in !part.isEmpty && part.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        guard digitsOnly, parts[0].utf8.count <= 6 else { return nil }
        return Double(text)
    }

    /// Request id and trace context go upstream; the caller's own credentials and other headers never do.
    private func forwardedHeaders(idempotencyHeader: String?) -> [(name: String, value: String)] {
        var headers = [(name: "X-Request-Id", value: responder.requestID)]
        if let idempotencyHeader, let key = request.headers["idempotency-key"], (1...255).contains(key.utf8.count) {
            headers.append((name: idempotencyHeader, value: key))
        }
        if let parent = request.headers["traceparent"], let child = TraceContext.childTraceparent(parent) {
            headers.append((name: "traceparent", value: child))
            if let tracestate = request.headers["tracestate"], tracestate.utf8.count <= 512 {
                headers.append((name: "tracestate", value: tracestate))
            }
        }
        return headers
    }

    /// The planned calls, rendered exactly as `jobgate plan` renders them offline.
    private func dryRun(_ prepared: Prepared) -> JSONValue {
        var answer: JSONObject = ["dryRun": true]
        for (key, value) in PlanRendering.document(prepared.calls, vendorJobID: prepared.vendorJobID,
                                                   mapping: prepared.runtime.mapping, redactor: state.redactor) {
            answer.appendUnchecked(key, value)
        }
        return .object(answer)
    }

    private func respond(_ problem: Problem) {
        responder.respond(problem.response(instance: instance(request), requestID: responder.requestID))
    }

    private func isJSONContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let mediaType = trimmingOWS(value.utf8.prefix { $0 != 0x3B })
        return asciiCaseInsensitiveEquals(mediaType, "application/json")
            || asciiCaseInsensitiveEquals(mediaType, "application/merge-patch+json")
    }
}
