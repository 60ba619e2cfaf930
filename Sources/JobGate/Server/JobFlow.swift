import JobGateHTTP
import JobGateJSON
import JobGateUpstream
import JobGateCore
import JobGatePosix

/// `GET` and `PATCH /jobs/{id}`: parse → route → validate → plan → execute → normalize (CONTRACT.md §3).
/// A read is run as an update whose plan is the vendor's read call alone: the same gates, the same execution
/// (retries, token, breaker, limits) and the same normalizer, so a GET answers exactly the Job a PATCH does.
/// Everything before `execute` is pure and answers with a problem at the first failure.
struct JobFlow {
    let state: GatewayState
    let client: UpstreamClient
    let request: HTTPRequest
    let responder: HTTPResponder
    let metrics: Metrics
    /// What the access log and metrics learn about this request as it goes.
    let record: RequestRecord

    static let acceptPatch = "application/json, application/merge-patch+json"

    /// Reading is GET; every other method this flow is given is an update.
    private var isRead: Bool { request.method == "GET" }

    consuming func run(rawID: Substring) {
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

    /// The `Allow` of a 405 on `/jobs/{id}`: PATCH alone for a vendor without a read call, else GET too
    /// (also when the id names no vendor: the route serves both).
    static func allowedMethods(rawID: Substring, request: HTTPRequest, state: GatewayState) -> String {
        let reference = try? JobReference.parse(rawID: rawID, vendorHeader: request.headers["job-vendor"],
                                                known: state.mappings.vendors).get()
        guard let mapping = reference.flatMap({ state.mappings.vendors[$0.vendor] }) else { return "GET, PATCH" }
        return UpdatePlanning.allowedMethods(mapping)
    }

    struct Prepared {
        let runtime: VendorRuntime
        let vendorJobID: String
        /// An update's patch (the job it sets answers when the read-back fails); nil for a read.
        let patch: ValidatedPatch?
        let calls: [PlannedCall]
        let preferMinimal: Bool
        let isDryRun: Bool
        /// `?raw=true`: the Job carries the vendor's answers.
        let wantsRaw: Bool
        let deadline: MonotonicInstant?
    }

    /// The gates before any vendor call, in the order their problems take precedence.
    private func prepare(rawID: Substring) -> Result<Prepared, Problem> {
        Result { () throws(Problem) -> Prepared in
            try authorize()
            let patch = isRead ? nil : try patchBody()
            let (runtime, vendorJobID) = try route(rawID)
            let mapping = runtime.mapping
            // A GET's `Prefer: return=minimal` is ignored: the job is the whole point of reading it.
            let preferences = Preferences(request.headers.values("prefer"))
            let preferMinimal = !isRead && preferences.returnMinimal
            let validated = try patch.map { patch throws(Problem) in try UpdatePlanning.validate(patch, mapping: mapping) }
            let deadline = try callerDeadline()
            let calls = if let validated {
                try UpdatePlanning.plan(validated, vendorJobID: vendorJobID, mapping: mapping, returnMinimal: preferMinimal)
            } else {
                try UpdatePlanning.read(vendorJobID: vendorJobID, mapping: mapping)
            }
            let isDryRun = try flag("dryRun") || preferences.dryRun
            return Prepared(runtime: runtime, vendorJobID: vendorJobID, patch: validated, calls: calls,
                            preferMinimal: preferMinimal, isDryRun: isDryRun, wantsRaw: try flag("raw"), deadline: deadline)
        }
    }

    private func authorize() throws(Problem) {
        guard !state.inboundTokens.isEnabled || state.inboundTokens.accepts(request.headers["authorization"]) else {
            throw Problem(.unauthorized, status: 401, title: "Unauthorized", detail: "A valid bearer token is required.",
                          headers: [(name: "WWW-Authenticate", value: "Bearer realm=\"jobgate\"")])
        }
    }

    private func patchBody() throws(Problem) -> JSONObject {
        guard request.headers.firstValueBytes("content-type")?.withUnsafeBytes(Self.isJSONMediaType) == true else {
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

    /// The runtime of the vendor's account (`Job-Account`), for a configured account and a well-formed id;
    /// the vendor and account go into the record. An unknown account is refused here, before
    /// any call: nothing ever falls back to another account's credentials.
    private func route(_ rawID: Substring) throws(Problem) -> (VendorRuntime, String) {
        let reference = try JobReference.parse(rawID: rawID, vendorHeader: request.headers["job-vendor"],
                                               known: state.mappings.vendors).get()
        guard let runtimes = state.runtimes[reference.vendor] else {
            throw .badRequest("Unknown vendor '\(reference.vendor)'.")
        }
        record.vendor = reference.vendor
        let runtime = try runtimes.runtime(account: request.headers["job-account"]?.trimmingASCIIWhitespace())
        let mapping = runtime.mapping
        record.account = mapping.account
        record.metricLabels = runtime.metricLabels
        // Before configuration: a vendor without a read call will not gain one when its credentials are set.
        if isRead { try UpdatePlanning.checkReadable(mapping) }
        guard mapping.isConfigured else {
            let whose = mapping.account == VendorMapping.defaultAccount ? "Vendor '\(mapping.vendor)'"
                : "Account '\(mapping.account)' of vendor '\(mapping.vendor)'"
            var problem = Problem(.unavailable, status: 503, title: "Vendor not configured",
                                  detail: "\(whose) has no credentials configured (set \(mapping.missingConfiguration.joined(separator: ", "))).",
                                  headers: [(name: "Retry-After", value: "60")])
            problem.extensions["vendor"] = .string(mapping.vendor)
            throw problem
        }
        try UpdatePlanning.checkJobID(reference.vendorJobID, mapping: mapping)
        return (runtime, reference.vendorJobID)
    }

    /// The caller's `Request-Timeout` as a monotonic deadline, counted from when the request arrived.
    private func callerDeadline() throws(Problem) -> MonotonicInstant? {
        guard let text = request.headers["request-timeout"] else { return nil }
        guard let seconds = Self.decimalSeconds(text.trimmingASCIIWhitespace()), seconds > 0, seconds <= 3600 else {
            throw .badRequest("Request-Timeout must be a number of seconds in (0, 3600].")
        }
        return responder.receivedAt + .seconds(seconds)
    }

    /// A boolean query flag (`dryRun`, `raw`), strictly: a mistyped `dryRun=ture` or `dryRun=1` must not
    /// turn a dry run into a real write.
    private func flag(_ name: String) throws(Problem) -> Bool {
        guard let value = request.query.flatMap({ QueryString($0)[name] }) else { return false }
        guard value == "true" || value == "false" else { throw .badRequest("\(name) must be 'true' or 'false'.") }
        return value == "true"
    }

    /// Plain decimal seconds ("2", "0.5"): Double(_:) alone would also take "0x10", "1e1" and "inf".
    static func decimalSeconds(_ text: String) -> Double? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digitsOnly = parts.allSatisfy { part in !part.isEmpty && part.utf8.allSatisfy { (0x30...0x39).contains($0) } }
        guard digitsOnly, parts[0].utf8.count <= 6 else { return nil }
        return Double(text)
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

    func respond(_ problem: Problem) {
        responder.respond(problem.response(instance: instance(request), requestID: responder.requestID))
    }

    private static func isJSONMediaType(_ contentType: UnsafeRawBufferPointer) -> Bool {
        let mediaType = trimmingOWS(contentType[..<(contentType.firstIndex(of: 0x3B) ?? contentType.count)])
        return asciiCaseInsensitiveEquals(mediaType, "application/json")
            || asciiCaseInsensitiveEquals(mediaType, "application/merge-patch+json")
    }
}
