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

    private func prepare(rawID: Substring) -> Result<Prepared, Problem> {
        let headers = request.headers
        if state.inboundTokens.isEnabled && !state.inboundTokens.accepts(headers["authorization"]) {
            return .failure(Problem(.unauthorized, status: 401, title: "Unauthorized",
                                    detail: "A valid bearer token is required.",
                                    headers: [(name: "WWW-Authenticate", value: "Bearer realm=\"jobgate\"")]))
        }
        guard isJSONContentType(headers["content-type"]) else {
            return .failure(Problem(.unsupportedMediaType, status: 415, title: "Unsupported media type",
                                    detail: "Send the patch as application/json or application/merge-patch+json.",
                                    headers: [(name: "Accept-Patch", value: Self.acceptPatch)]))
        }
        let body: JSONValue
        do {
            body = try JSON.parse(request.body)
        } catch {
            return .failure(.badRequest("The body is not valid JSON: \(error)."))
        }
        guard let patch = body.objectValue else {
            return .failure(.badRequest("The body must be a JSON object (a merge patch of a Job)."))
        }
        let reference: JobReference
        switch JobReference.parse(rawID: rawID, vendorHeader: headers["job-vendor"], known: state.mappings.vendors) {
        case .failure(let problem): return .failure(problem)
        case .success(let parsed): reference = parsed
        }
        guard let runtime = state.runtimes[reference.vendor] else {
            return .failure(.badRequest("Unknown vendor '\(reference.vendor)'."))
        }
        record.vendor = reference.vendor
        let mapping = runtime.mapping
        guard mapping.isConfigured else {
            var problem = Problem(.unavailable, status: 503, title: "Vendor not configured",
                                  detail: "Vendor '\(mapping.vendor)' has no credentials configured (set \(mapping.missingConfiguration.joined(separator: ", "))).",
                                  headers: [(name: "Retry-After", value: "60")])
            problem.extensions["vendor"] = .string(mapping.vendor)
            return .failure(problem)
        }
        if let violation = mapping.jobID.violation(reference.vendorJobID) {
            return .failure(.badRequest("Job id '\(reference.vendorJobID.prefix(64))' for \(mapping.vendor) \(violation)."))
        }
        let validated: ValidatedPatch
        switch PatchValidator.validate(patch, mapping: mapping) {
        case .failure(let errors):
            var problem = Problem(.validation, status: 422, title: "Invalid patch",
                                  detail: "The patch cannot be applied to a \(mapping.vendor) job; see 'errors'.")
            problem.extensions["vendor"] = .string(mapping.vendor)
            problem.extensions["errors"] = errors.json
            return .failure(problem)
        case .success(let patch):
            validated = patch
        }
        var deadline: UInt64?
        if let text = headers["request-timeout"] {
            guard let seconds = Self.decimalSeconds(text.trimmingASCIIWhitespace()), seconds > 0, seconds <= 3600 else {
                return .failure(.badRequest("Request-Timeout must be a number of seconds in (0, 3600]."))
            }
            deadline = responder.receivedAt &+ UInt64(seconds * 1e9)
        }
        let preferences = Preferences(headers.values("prefer"))
        guard let calls = Planner.update(validated, vendorJobID: reference.vendorJobID, mapping: mapping,
                                         returnMinimal: preferences.returnMinimal) else {
            var problem = Problem(.validation, status: 422, title: "Nothing to update",
                                  detail: "The patch sets no field, and \(mapping.vendor) has no read call to answer with the current job.")
            problem.extensions["vendor"] = .string(mapping.vendor)
            return .failure(problem)
        }
        // Strict: a mistyped flag (`dryRun=ture`, `dryRun=1`) must not turn a dry run into a real write.
        var dryRunQuery = false
        if let value = request.query.flatMap({ QueryString($0)["dryRun"] }) {
            guard value == "true" || value == "false" else {
                return .failure(.badRequest("dryRun must be 'true' or 'false'."))
            }
            dryRunQuery = value == "true"
        }
        return .success(Prepared(runtime: runtime, vendorJobID: reference.vendorJobID, patch: validated, calls: calls,
                                 preferMinimal: preferences.returnMinimal,
                                 isDryRun: dryRunQuery || preferences.dryRun, deadline: deadline))
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
                    return responder.respond(Gateway.json(200, Self.withReadBackFailure(
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

    /// The job of an update whose writes landed, with `readBack`: the problem that kept the gateway from
    /// reading it back, so the caller knows the update happened and why the job is incomplete.
    static func withReadBackFailure(_ job: JSONValue, _ problem: Problem) -> JSONValue {
        guard var object = job.objectValue else { return job }
        object["readBack"] = problem.json()
        return .object(object)
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

    private func dryRun(_ prepared: Prepared) -> JSONValue {
        let mapping = prepared.runtime.mapping
        let credentialNames = mapping.auth.credentialHeaderNames
        func describe(_ call: PlannedCall) -> JSONValue {
            var headers = JSONObject()
            for (name, value) in call.headers { headers[name] = .string(state.redactor.scrub(value)) }
            for name in credentialNames { headers[name] = .string(Secret.redacted) }
            var object = JSONObject()
            object["name"] = .string(call.name)
            object["method"] = .string(call.method)
            object["url"] = .string(state.redactor.scrub(call.url))
            object["headers"] = .object(headers)
            object["body"] = call.body ?? .null
            object["idempotent"] = .bool(call.idempotent)
            if call.mergesWithRead { object["mergeWithRead"] = true }
            return .object(object)
        }
        var result = JSONObject()
        result["dryRun"] = true
        result["vendor"] = .string(mapping.vendor)
        result["vendorJobId"] = .string(prepared.vendorJobID)
        result["calls"] = .array(prepared.calls.map(describe))
        return .object(result)
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

/// `Prefer` (RFC 7240) preferences JobGate honours.
struct Preferences {
    var returnMinimal = false
    var dryRun = false

    init(_ values: [String]) {
        for value in values {
            for preference in value.split(separator: ",") {
                let token = preference.split(separator: ";").first.map { $0.trimmingASCIIWhitespace().lowercased() } ?? ""
                if token == "return=minimal" { returnMinimal = true }
                if token == "dry-run" { dryRun = true }
            }
        }
    }
}

/// A query string's parameters (first occurrence wins), percent-decoded.
struct QueryString {
    private var values: [String: String] = [:]

    init(_ query: Substring) {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = percentDecoded(parts[0]) else { continue }
            let value = parts.count > 1 ? percentDecoded(parts[1]) : ""
            if values[key] == nil { values[key] = value }
        }
    }

    subscript(key: String) -> String? { values[key] }
}

/// Strict percent-decoding: a malformed escape or bytes that are not UTF-8 give nil. "+" is a space only in
/// query strings.
func percentDecoded(_ text: Substring, plusIsSpace: Bool = true) -> String? {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let byte = iterator.next() {
        if byte == 0x25 {
            guard let high = iterator.next().flatMap(CanonicalValidation.hexDigit),
                  let low = iterator.next().flatMap(CanonicalValidation.hexDigit) else { return nil }
            bytes.append(high << 4 | low)
        } else {
            bytes.append(byte == 0x2B && plusIsSpace ? 0x20 : byte)
        }
    }
    return String(validating: bytes, as: UTF8.self)
}

/// Which vendor and which of its jobs a request targets.
struct JobReference: Equatable {
    let vendor: String
    let vendorJobID: String

    static let maxIDBytes = 256

    /// `{vendor}:{vendorJobId}` (the colon may be percent-encoded), or a bare id with `Job-Vendor`.
    static func parse(rawID: Substring, vendorHeader: String?, known: [String: VendorMapping]) -> Result<JobReference, Problem> {
        // The parser admits only visible ASCII in a target, so an id without "%" is its own decoding.
        let plain = !rawID.utf8.contains(0x25)
        guard rawID.utf8.count <= maxIDBytes * 3,
              let decoded = plain ? String(rawID) : percentDecoded(rawID, plusIsSpace: false) else {
            return .failure(.badRequest("The job id is not a valid percent-encoded path segment."))
        }
        guard !decoded.isEmpty, decoded.utf8.count <= maxIDBytes else {
            return .failure(.badRequest("The job id must be 1 to \(maxIDBytes) bytes."))
        }
        guard !decoded.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0x2F || $0 == 0x5C }) else {
            return .failure(.badRequest("The job id contains a control character or a slash."))
        }
        let colon = decoded.utf8.firstIndex(of: 0x3A)
        let prefix = colon.map { String(decoded[..<$0]) }
        let header = vendorHeader?.trimmingASCIIWhitespace()
        let vendor: String
        let vendorJobID: String
        if let header, !header.isEmpty {
            if let prefix, let colon, prefix == header {
                vendorJobID = String(decoded[decoded.utf8.index(after: colon)...])
            } else if let prefix, known[prefix] != nil {
                return .failure(.badRequest("Job-Vendor '\(header.prefix(64))' disagrees with the id's vendor '\(prefix)'."))
            } else {
                vendorJobID = decoded
            }
            vendor = header
        } else {
            guard let prefix, let colon else {
                return .failure(.badRequest("The id must be '{vendor}:{vendorJobId}', or send the Job-Vendor header."))
            }
            vendor = prefix
            vendorJobID = String(decoded[decoded.utf8.index(after: colon)...])
        }
        guard known[vendor] != nil else {
            return .failure(.badRequest("Unknown vendor '\(vendor.prefix(64))' (known: \(known.keys.sorted().joined(separator: ", ")))."))
        }
        guard !vendorJobID.isEmpty, vendorJobID != ".", vendorJobID != ".." else {
            return .failure(.badRequest("The vendor job id is empty or a dot segment."))
        }
        return .success(JobReference(vendor: vendor, vendorJobID: vendorJobID))
    }
}

/// W3C trace context: the upstream hop gets the caller's trace id and a span id of its own.
enum TraceContext {
    static func childTraceparent(_ value: String) -> String? {
        let parts = value.trimmingASCIIWhitespace().split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { CanonicalValidation.hexDigit($0) != nil && !(0x41...0x46).contains($0) } }),
              parts[1] != Substring(String(repeating: "0", count: 32)), parts[2] != Substring(String(repeating: "0", count: 16))
        else { return nil }
        var generator = SystemRandomNumberGenerator()
        var span: UInt64 = 0
        while span == 0 { span = generator.next() }
        return "00-\(parts[1])-\(String(span, radix: 16).leftPadded(to: 16))-\(parts[3])"
    }
}
