import JobGateJSON

struct MappingReader {
    let file: String
    let environment: [String: String]
    private(set) var issues: [MappingIssue] = []
    var missing: [String] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    mutating func report(_ path: String, _ message: String) {
        issues.append(MappingIssue(file: file, path: path, message: message, severity: .error))
    }

    mutating func warning(_ path: String, _ message: String) {
        issues.append(MappingIssue(file: file, path: path, message: message, severity: .warning))
    }

    static let topLevelKeys: Set<String> = [
        "$schema", "vendor", "displayName", "docs", "baseUrl", "auth", "headers", "requiredHeaders", "jobId",
        "timeoutSeconds", "rateLimit", "retry", "circuitBreaker", "maxConcurrent", "idempotencyKeyHeader", "fields", "vendorFields", "calls", "read", "readAfterWrite", "response",
        "errors", "adapter", "caFile", "keepAliveSeconds", "http2", "examples", "accounts",
    ]

    mutating func read(_ bytes: [UInt8], vendorID: String) -> VendorMapping? {
        let root: JSONValue
        do {
            root = try JSON.parse(bytes)
        } catch {
            report("", "not valid JSON: \(error)")
            return nil
        }
        guard let object = root.objectValue else {
            report("", "must be a JSON object")
            return nil
        }
        allowOnly(Self.topLevelKeys, in: object, at: "")
        if let declared = string(object, "vendor", at: ""), declared != vendorID {
            report("/vendor", "'\(declared)' differs from the file name's vendor id '\(vendorID)'")
        }
        if !isIdentifier(vendorID) {
            report("", "the file name must be a vendor id of lower-case letters, digits, '-' or '_'")
        }

        let baseURL = interpolated(object, "baseUrl", at: "/baseUrl", required: true) ?? ""
        if !baseURL.isEmpty {
            checkURL(baseURL, at: "/baseUrl")
        }
        let auth = readAuth(object["auth"], at: "/auth")
        let topLevel = CallerIdentity(baseURL: baseURL, auth: auth, unsetAuth: missing,
                                      headers: readHeaders(object["headers"], at: "/headers"),
                                      headerSources: object["headers"]?.objectValue.map { [$0] } ?? [])
        let requiredHeaders = readRequiredHeaderNames(object["requiredHeaders"], at: "/requiredHeaders")
        missing += unsetRequiredHeaders(requiredHeaders, of: topLevel)
        let accounts = readAccounts(object["accounts"], at: "/accounts", topLevel: topLevel, requiredHeaders: requiredHeaders)

        var jobID = JobIDRule.any
        if let text = string(object, "jobId", at: "") {
            if let rule = JobIDRule(rawValue: text) { jobID = rule } else {
                report("/jobId", "must be one of \(JobIDRule.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        var timeout: Double?
        if let value = object["timeoutSeconds"] {
            if let seconds = value.numberValue?.doubleValue, seconds > 0, seconds <= 300 { timeout = seconds } else {
                report("/timeoutSeconds", "must be a number of seconds in (0, 300]")
            }
        }
        let rateLimits = readRateLimits(object["rateLimit"], at: "/rateLimit")
        let retry = readRetry(object["retry"], at: "/retry")
        let breaker = readCircuitBreaker(object["circuitBreaker"], at: "/circuitBreaker")
        var maxConcurrent = 256
        if let value = object["maxConcurrent"] {
            if let count = value.numberValue?.int64Value, (1...100_000).contains(count) { maxConcurrent = Int(count) } else {
                report("/maxConcurrent", "must be an integer from 1 to 100000")
            }
        }
        let idempotencyHeader = string(object, "idempotencyKeyHeader", at: "")
        if let idempotencyHeader, !isToken(idempotencyHeader) { report("/idempotencyKeyHeader", "not a valid header name") }
        let fields = readFields(object["fields"], at: "/fields")
        let vendorFields = readVendorFields(object["vendorFields"], at: "/vendorFields")
        var calls: [CallTemplate] = []
        if let list = object["calls"]?.arrayValue, !list.isEmpty {
            for (index, call) in list.enumerated() {
                if let template = readCall(call, at: "/calls/\(index)", fields: fields, vendorFields: vendorFields) {
                    calls.append(template)
                }
            }
        } else {
            report("/calls", "must be a non-empty array of calls")
        }
        let read = object["read"].flatMap { readCall($0, at: "/read", fields: fields, vendorFields: vendorFields) }
        let readAfterWrite = object["readAfterWrite"]?.boolValue ?? false
        if readAfterWrite && read == nil { report("/readAfterWrite", "needs a 'read' call") }
        for (index, call) in calls.enumerated() where call.mergesWithRead && read == nil {
            report("/calls/\(index)/mergeWithRead", "needs a 'read' call to merge with")
        }
        let response = readResponse(object["response"], at: "/response")
        let errors = readErrors(object["errors"], at: "/errors")
        let adapter = string(object, "adapter", at: "")
        if let adapter, VendorAdapters.named(adapter) == nil {
            report("/adapter", "no built-in adapter named '\(adapter)' (known: \(VendorAdapters.names.joined(separator: ", ")))")
        }
        let caFile = interpolated(object, "caFile", at: "/caFile", required: false).flatMap { $0.isEmpty ? nil : $0 }
        let keepAliveSeconds = readKeepAliveSeconds(object["keepAliveSeconds"], at: "/keepAliveSeconds")
        let http2 = object["http2"].map { value in
            value.boolValue ?? { report("/http2", "must be true or false"); return false }()
        } ?? false
        let examples = readExamples(object["examples"], at: "/examples")
        guard issues.allSatisfy({ $0.severity != .error }) else { return nil }
        if !missing.isEmpty {
            warning("", "credentials not configured: set \(missing.joined(separator: ", ")) (requests for this vendor get 503)")
        }
        let mapping = VendorMapping(
            vendor: vendorID, displayName: string(object, "displayName", at: "") ?? vendorID, baseURL: baseURL,
            auth: auth, headers: topLevel.headers, jobID: jobID, timeoutSeconds: timeout, rateLimits: rateLimits, retry: retry, maxConcurrent: maxConcurrent, idempotencyKeyHeader: idempotencyHeader, circuitBreaker: breaker,
            fields: fields, vendorFields: vendorFields, calls: calls, read: read, readAfterWrite: readAfterWrite,
            response: response, errors: errors, adapter: adapter, caFile: caFile,
            keepAliveSeconds: keepAliveSeconds, http2: http2, missingConfiguration: missing, examples: examples)
        guard !accounts.isEmpty else { return mapping }
        let named = accounts.map { account in
            (account.name, mapping.replacing(account: account.name, baseURL: account.identity.baseURL, auth: account.identity.auth,
                                             headers: account.identity.headers, missingConfiguration: account.missing))
        }
        return mapping.replacing(account: VendorMapping.defaultAccount, baseURL: baseURL, auth: auth, headers: topLevel.headers,
                                 missingConfiguration: missing, accounts: Dictionary(uniqueKeysWithValues: named))
    }
}
