import JobGateHTTP
import JobGateJSON
import JobGateCore

/// The one step of a job request that calls the vendor, behind the account's breaker, rate limit and
/// concurrency cap, and the answer built from what the vendor said.
extension JobFlow {
    consuming func execute(_ prepared: consuming Prepared) {
        let runtime = prepared.runtime
        let ticket: CircuitBreakerStateMachine.Ticket
        switch runtime.breaker.admit() {
        case .admitted(let admitted):
            ticket = admitted
        case .refused(let retryAfter):
            return respond(refusal(.unavailable, 503, "Vendor circuit open", retryAfter: retryAfter, runtime: runtime,
                                   detail: "Calls to \(runtime.name) are paused after repeated failures."))
        }
        // Every way out of an admitted request releases its ticket (a half-open probe's lease with it).
        let breaker = runtime.breaker
        if let retryAfter = runtime.rateLimiter?.acquire() {
            breaker.release(ticket)
            metrics.rateLimited(runtime.metricLabels)
            return respond(refusal(.rateLimited, 429, "Rate limit reached", retryAfter: retryAfter, runtime: runtime,
                                   detail: "The configured rate limit for \(runtime.name) is reached."))
        }
        guard runtime.enter() else {
            breaker.release(ticket)
            return respond(refusal(.unavailable, 503, "Too many calls in progress", retryAfter: 1, runtime: runtime,
                                   detail: "The concurrency limit for \(runtime.name) is reached."))
        }
        let extraHeaders = forwardedHeaders(idempotencyHeader: runtime.mapping.idempotencyKeyHeader)
        // The flow and its preparation move into the update whole (a copy would count a reference to each of
        // their dozen members); what the execution needs is read from there.
        let update = AdmittedUpdate(flow: self, prepared: prepared, ticket: ticket)
        let execution = UpdateExecution(
            runtime: runtime, client: update.flow.client, calls: update.prepared.calls, extraHeaders: extraHeaders,
            options: runtime.options(defaultTimeout: update.flow.state.settings.upstreamTimeoutSeconds),
            deadline: update.prepared.deadline, redactor: update.flow.state.redactor, metrics: update.flow.metrics
        ) { [update] outcome in update.finished(outcome) }
        update.execution = execution
        update.flow.responder.onCancel = { [update] in update.cancelled() }
        execution.start()
    }

    /// An update past the breaker, the rate limit and the concurrency cap, until it answers or its caller
    /// leaves; either way what it holds is released once. One object serves both ends (the execution's
    /// completion and the responder's cancel), so neither closure carries a context of its own.
    private final class AdmittedUpdate {
        let flow: JobFlow
        let prepared: Prepared
        let ticket: CircuitBreakerStateMachine.Ticket
        /// Held until the update ends, then let go: the execution holds this object through its completion.
        var execution: UpdateExecution?

        init(flow: JobFlow, prepared: Prepared, ticket: CircuitBreakerStateMachine.Ticket) {
            self.flow = flow
            self.prepared = prepared
            self.ticket = ticket
        }

        func finished(_ outcome: UpdateExecution.Outcome) {
            execution = nil
            release()
            flow.record.upstreamSteps = outcome.steps
            flow.responder.respond(flow.answer(outcome, prepared))
        }

        func cancelled() {
            execution?.cancel()
            execution = nil
            release()
        }

        private func release() {
            prepared.runtime.leave()
            prepared.runtime.breaker.release(ticket)
        }
    }

    /// The Job (with `readBack` when reading it back failed after landed writes, with `raw` when asked for),
    /// 204 for a minimal update, or the problem.
    fileprivate func answer(_ outcome: UpdateExecution.Outcome, _ prepared: Prepared) -> HTTPResponse {
        let mapping = prepared.runtime.mapping
        let vendorJobID = prepared.vendorJobID
        let job: JSONValue
        switch outcome.result {
        case .failure(let problem):
            return problem.response(instance: instance(request), requestID: responder.requestID)
        case .success where prepared.preferMinimal:
            return HTTPResponse(status: 204, headers: [(name: "Preference-Applied", value: "return=minimal")])
        case .success(let body):
            // The usual answer: the job written straight from the vendor's members, when nothing asks for more.
            if outcome.readBackFailure == nil, !prepared.wantsRaw, case .members(let object)? = body,
               let bytes = Normalizer.jobBytes(from: object, vendorJobID: vendorJobID, mapping: mapping),
               !prepared.runtime.echoRedactor.occurs(in: bytes) {
                return Gateway.json(200, bytes: bytes)
            }
            let read = body.flatMap { Normalizer.job(from: $0.json, vendorJobID: vendorJobID, mapping: mapping) }
            if let readBackFailure = outcome.readBackFailure, let patch = prepared.patch {
                let known = read ?? Normalizer.job(from: patch, vendorJobID: vendorJobID, mapping: mapping)
                job = Normalizer.withReadBackFailure(known, readBackFailure)
            } else if let read {
                job = read
            } else {
                return UpstreamProblems.malformedBody(vendor: mapping.vendor)
                    .response(instance: instance(request), requestID: responder.requestID)
            }
        }
        guard prepared.wantsRaw else {
            // Scrubbed value by value (a secret of digits must not break a number), and only when the cheap
            // byte search found one of the credentials this vendor was sent.
            let bytes = JSON.serialize(job)
            guard prepared.runtime.echoRedactor.occurs(in: bytes) else { return Gateway.json(200, bytes: bytes) }
            return Gateway.json(200, RawAnswers.scrubbed(job, prepared.runtime.echoRedactor))
        }
        let redactor = state.redactor.adding(outcome.tokensUsed)
        return Gateway.json(200, RawAnswers.adding(to: job, outcome.steps.compactMap(\.rawAnswer), redactor: redactor))
    }

    private func refusal(_ kind: Problem.Kind, _ status: Int, _ title: String, retryAfter: Int, runtime: VendorRuntime,
                         detail: String) -> Problem {
        var problem = Problem(kind, status: status, title: title, detail: detail,
                              headers: [(name: "Retry-After", value: String(retryAfter))])
        problem.extensions["vendor"] = .string(runtime.mapping.vendor)
        return problem
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

}
