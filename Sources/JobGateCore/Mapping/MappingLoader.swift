import JobGateJSON

/// A problem found in a mapping file: which file, where in it (a JSON pointer), and what is wrong.
public struct MappingIssue: Sendable, CustomStringConvertible, Equatable {
    public enum Severity: String, Sendable { case error, warning }

    public let file: String
    public let path: String
    public let message: String
    public let severity: Severity

    public init(file: String, path: String, message: String, severity: Severity) {
        self.file = file
        self.path = path
        self.message = message
        self.severity = severity
    }

    public var description: String {
        "\(severity): \(file)\(path.isEmpty ? "" : " at \(path)"): \(message)"
    }
}

/// Why a mapping set was rejected: every error found, not just the first.
public struct MappingIssues: Error, Sendable {
    public let issues: [MappingIssue]

    public init(_ issues: [MappingIssue]) {
        self.issues = issues
    }
}

/// The mapping files of one folder, loaded together: the unit of startup, `check` and SIGHUP reload.
public struct MappingSet: Sendable {
    public let vendors: [String: VendorMapping]
    /// FNV-1a over the files' names and bytes: which configuration is live (never covers secret values).
    public let hash: String
    public let warnings: [MappingIssue]

    public var redactor: Redactor { Redactor(vendors.values.flatMap(\.secrets)) }
}

public enum MappingLoader {
    /// Loads a folder's `*.json` files, given as (file name, bytes) in any order; any error rejects the
    /// whole set. Reading the folder is the caller's I/O.
    public static func load(files: [(name: String, bytes: [UInt8])], environment: [String: String]) -> Result<MappingSet, MappingIssues> {
        let mappingFiles = files.filter { $0.name.hasSuffix(".json") }.sorted { $0.name < $1.name }
        guard !mappingFiles.isEmpty else {
            return .failure(MappingIssues([MappingIssue(file: "", path: "", message: "no mapping files (*.json)", severity: .error)]))
        }
        var issues: [MappingIssue] = []
        var vendors: [String: VendorMapping] = [:]
        var hasher = FNV1a()
        for (file, data) in mappingFiles {
            hasher.add(Array(file.utf8))
            hasher.add(data)
            var reader = MappingReader(file: file, environment: environment)
            if let mapping = reader.read(data, vendorID: String(file.dropLast(5))) {
                vendors[mapping.vendor] = mapping
            }
            issues += reader.issues
        }
        let errors = issues.filter { $0.severity == .error }
        guard errors.isEmpty else { return .failure(MappingIssues(errors)) }
        return .success(MappingSet(vendors: vendors, hash: hasher.hex, warnings: issues))
    }
}

struct FNV1a {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            state ^= UInt64(byte)
            state = state &* 0x0000_0100_0000_01B3
        }
        state ^= 0xFF
    }

    var hex: String {
        let digits = String(state, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Reads one mapping file, collecting every problem instead of stopping at the first.
struct MappingReader {
    let file: String
    let environment: [String: String]
    private(set) var issues: [MappingIssue] = []
    private var missing: [String] = []

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
        "errors", "adapter", "caFile",
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
        if !vendorID.utf8.allSatisfy({ isASCIIDigit($0) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) || vendorID.isEmpty {
            report("", "the file name must be a vendor id of lower-case letters, digits, '-' or '_'")
        }

        let baseURL = interpolated(object, "baseUrl", at: "/baseUrl", required: true) ?? ""
        if !baseURL.isEmpty {
            checkURL(baseURL, at: "/baseUrl")
        }
        let auth = readAuth(object["auth"], at: "/auth")
        var headers: [(name: String, value: String)] = []
        if let headerObject = objectValue(object["headers"], at: "/headers") {
            for (name, _) in headerObject {
                let value = interpolated(headerObject, name, at: "/headers/\(name)", required: true) ?? ""
                if !isToken(name) { report("/headers/\(name)", "not a valid header name") }
                if value.hasLineBreakOrNUL { report("/headers/\(name)", "header value has a line break") }
                headers.append((name, value))
            }
        }
        for (index, required) in (object["requiredHeaders"]?.arrayValue ?? []).enumerated() {
            guard let name = required.stringValue else {
                report("/requiredHeaders/\(index)", "must be a header name")
                continue
            }
            if headers.first(where: { $0.name == name })?.value.isEmpty ?? true {
                missing += variables(in: object["headers"]?.objectValue?[name]?.stringValue ?? name)
            }
        }

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
        guard issues.allSatisfy({ $0.severity != .error }) else { return nil }
        if !missing.isEmpty {
            warning("", "credentials not configured: set \(missing.joined(separator: ", ")) (requests for this vendor get 503)")
        }
        return VendorMapping(
            vendor: vendorID, displayName: string(object, "displayName", at: "") ?? vendorID, baseURL: baseURL,
            auth: auth, headers: headers, jobID: jobID, timeoutSeconds: timeout, rateLimits: rateLimits, retry: retry, maxConcurrent: maxConcurrent, idempotencyKeyHeader: idempotencyHeader, circuitBreaker: breaker,
            fields: fields, vendorFields: vendorFields, calls: calls, read: read, readAfterWrite: readAfterWrite,
            response: response, errors: errors, adapter: adapter, caFile: caFile, missingConfiguration: missing)
    }

    // MARK: Sections

    private mutating func readAuth(_ value: JSONValue?, at path: String) -> AuthScheme {
        guard let value else { return .none }
        guard let object = objectValue(value, at: path) else { return .none }
        let scheme = string(object, "scheme", at: path) ?? ""
        switch scheme {
        case "none":
            allowOnly(["scheme"], in: object, at: path)
            return .none
        case "headers":
            allowOnly(["scheme", "headers"], in: object, at: path)
            var headers: [(name: String, value: Secret)] = []
            guard let headerObject = objectValue(object["headers"], at: path + "/headers") else { return .none }
            var unset: [String] = []
            for (name, _) in headerObject {
                let secret = credential(headerObject, name, at: "\(path)/headers/\(name)", unset: &unset)
                if !isToken(name) { report("\(path)/headers/\(name)", "not a valid header name") }
                headers.append((name, secret))
            }
            missing += unset
            return .headers(headers)
        case "bearer":
            allowOnly(["scheme", "token", "optional"], in: object, at: path)
            var unset: [String] = []
            let token = credential(object, "token", at: path + "/token", unset: &unset)
            if object["optional"]?.boolValue != true { missing += unset }
            return .bearer(token)
        case "basic":
            allowOnly(["scheme", "username", "password"], in: object, at: path)
            var unset: [String] = []
            let username = credential(object, "username", at: path + "/username", unset: &unset)
            let password = credential(object, "password", at: path + "/password", unset: &unset)
            missing += Array(Set(unset)).sorted()
            return .basic(username: username, password: password)
        case "queryKey":
            allowOnly(["scheme", "name", "value"], in: object, at: path)
            var unset: [String] = []
            let name = string(object, "name", at: path) ?? "key"
            let value = credential(object, "value", at: path + "/value", unset: &unset)
            missing += unset
            warning(path, "queryKey puts the credential in the URL; prefer a header scheme")
            return .queryKey(name: name, value: value)
        case "oauth2ClientCredentials":
            allowOnly(["scheme", "staticToken", "tokenUrl", "clientId", "clientSecret", "header", "prefix"], in: object, at: path)
            var unsetStatic: [String] = [], unsetExchange: [String] = []
            let staticToken = credential(object, "staticToken", at: path + "/staticToken", unset: &unsetStatic, required: false)
            let tokenURL = interpolated(object, "tokenUrl", at: path + "/tokenUrl", required: true) ?? ""
            if !tokenURL.isEmpty { checkURL(tokenURL, at: path + "/tokenUrl") }
            let clientID = credential(object, "clientId", at: path + "/clientId", unset: &unsetExchange)
            let clientSecret = credential(object, "clientSecret", at: path + "/clientSecret", unset: &unsetExchange)
            if staticToken.isEmpty && !unsetExchange.isEmpty { missing += unsetStatic + unsetExchange }
            return .token(TokenSource(
                staticToken: staticToken.isEmpty ? nil : staticToken,
                exchange: .clientCredentials(url: tokenURL, clientID: clientID, clientSecret: clientSecret),
                header: string(object, "header", at: path) ?? "Authorization",
                prefix: object["prefix"]?.stringValue ?? "Bearer "))
        case "tokenExchange":
            allowOnly(["scheme", "staticToken", "url", "body", "tokenPointer", "expiresInPointer", "expiry", "renewUrl", "header", "prefix"],
                      in: object, at: path)
            var unsetStatic: [String] = [], unsetExchange: [String] = []
            let staticToken = credential(object, "staticToken", at: path + "/staticToken", unset: &unsetStatic, required: false)
            let url = interpolated(object, "url", at: path + "/url", required: true) ?? ""
            if !url.isEmpty { checkURL(url, at: path + "/url") }
            var body: [(name: String, value: Secret)] = []
            if let bodyObject = objectValue(object["body"], at: path + "/body") {
                for (name, _) in bodyObject {
                    body.append((name, credential(bodyObject, name, at: "\(path)/body/\(name)", unset: &unsetExchange)))
                }
            }
            let tokenPointer = pointer(object, "tokenPointer", at: path) ?? JSONPointer("/token")!
            let expiresPointer = pointer(object, "expiresInPointer", at: path)
            var lifetime = JSONTokenExchange.Lifetime.expiresIn(expiresPointer)
            switch string(object, "expiry", at: path) {
            case nil, "expiresIn": break
            case "jwt":
                lifetime = .jwtExpiry
                if expiresPointer != nil { report(path + "/expiresInPointer", "does not apply with \"expiry\": \"jwt\"") }
            default: report(path + "/expiry", "must be expiresIn or jwt")
            }
            let renewURL = interpolated(object, "renewUrl", at: path + "/renewUrl", required: false)
            if let renewURL { checkURL(renewURL, at: path + "/renewUrl") }
            if staticToken.isEmpty && !unsetExchange.isEmpty { missing += unsetStatic + unsetExchange }
            return .token(TokenSource(
                staticToken: staticToken.isEmpty ? nil : staticToken,
                exchange: .jsonExchange(JSONTokenExchange(url: url, body: body, tokenPointer: tokenPointer,
                                                          lifetime: lifetime, renewURL: renewURL)),
                header: string(object, "header", at: path) ?? "Authorization",
                prefix: object["prefix"]?.stringValue ?? ""))
        default:
            report(path + "/scheme", "must be one of none, headers, bearer, basic, queryKey, oauth2ClientCredentials, tokenExchange")
            return .none
        }
    }

    /// One window as an object, or several as an array of them.
    private mutating func readRateLimits(_ value: JSONValue?, at path: String) -> [RateLimit] {
        guard let value else { return [] }
        guard let list = value.arrayValue else { return readRateLimit(value, at: path).map { [$0] } ?? [] }
        if list.isEmpty { report(path, "needs at least one window") }
        return list.enumerated().compactMap { index, window in readRateLimit(window, at: "\(path)/\(index)") }
    }

    private mutating func readRateLimit(_ value: JSONValue, at path: String) -> RateLimit? {
        guard let object = objectValue(value, at: path) else { return nil }
        allowOnly(["requests", "perSeconds"], in: object, at: path)
        guard let requests = object["requests"]?.numberValue?.int64Value, requests > 0,
              let seconds = object["perSeconds"]?.numberValue?.doubleValue, seconds > 0 else {
            report(path, "needs positive 'requests' and 'perSeconds'")
            return nil
        }
        return RateLimit(requests: Int(requests), perSeconds: seconds)
    }

    private mutating func readRetry(_ value: JSONValue?, at path: String) -> RetryPolicy {
        var policy = RetryPolicy()
        guard let value, let object = objectValue(value, at: path) else { return policy }
        allowOnly(["attempts", "baseDelayMs", "maxDelayMs"], in: object, at: path)
        if let attempts = object["attempts"] {
            if let count = attempts.numberValue?.int64Value, (1...10).contains(count) { policy.attempts = Int(count) } else {
                report(path + "/attempts", "must be an integer from 1 to 10")
            }
        }
        for (key, apply) in [("baseDelayMs", { (v: Double) in policy.baseDelaySeconds = v }), ("maxDelayMs", { policy.maxDelaySeconds = $0 })] {
            guard let member = object[key] else { continue }
            if let milliseconds = member.numberValue?.doubleValue, milliseconds >= 0, milliseconds <= 60_000 { apply(milliseconds / 1000) } else {
                report("\(path)/\(key)", "must be a number of milliseconds from 0 to 60000")
            }
        }
        return policy
    }

    private mutating func readCircuitBreaker(_ value: JSONValue?, at path: String) -> CircuitBreakerSettings {
        var settings = CircuitBreakerSettings()
        guard let value, let object = objectValue(value, at: path) else { return settings }
        allowOnly(["failures", "openSeconds"], in: object, at: path)
        if let failures = object["failures"] {
            if let count = failures.numberValue?.int64Value, (1...1000).contains(count) { settings.failures = Int(count) } else {
                report(path + "/failures", "must be an integer from 1 to 1000")
            }
        }
        if let seconds = object["openSeconds"] {
            if let value = seconds.numberValue?.doubleValue, value > 0, value <= 3600 { settings.openSeconds = value } else {
                report(path + "/openSeconds", "must be a number of seconds in (0, 3600]")
            }
        }
        return settings
    }

    private mutating func readFields(_ value: JSONValue?, at path: String) -> [CanonicalField: FieldMapping] {
        guard let value else { return [:] }
        guard let object = objectValue(value, at: path) else { return [:] }
        var fields: [CanonicalField: FieldMapping] = [:]
        for (name, member) in object {
            let here = "\(path)/\(name)"
            guard let field = CanonicalField(rawValue: name) else {
                report(here, "not a canonical field (known: \(CanonicalField.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            guard let spec = objectValue(member, at: here) else { continue }
            allowOnly(["to", "from", "format", "keyName", "keyFrom", "valueName", "keyType", "nullable"], in: spec, at: here)
            guard let to = pointer(spec, "to", at: here, required: true) else { continue }
            var format = FieldMapping.Format.plain
            if let text = string(spec, "format", at: here) {
                if let parsed = FieldMapping.Format(rawValue: text) { format = parsed } else {
                    report(here + "/format", "must be one of plain, rfc3339, epoch, epochMillis, keyValueArray")
                }
            }
            let formatFits: Bool = switch (field.kind, format) {
            case (.dateTime, .rfc3339), (.dateTime, .epoch), (.dateTime, .epochMillis), (.dateTime, .plain): true
            case (.stringMap, .keyValueArray), (_, .plain): true
            default: false
            }
            if !formatFits { report(here + "/format", "format '\(format.rawValue)' does not apply to \(name)") }
            let keyType = string(spec, "keyType", at: here) ?? "string"
            if keyType != "string" && keyType != "integer" { report(here + "/keyType", "must be string or integer") }
            let keyName = string(spec, "keyName", at: here) ?? "id"
            var keyFrom: [JSONPointer] = []
            for (index, entry) in (spec["keyFrom"]?.arrayValue ?? []).enumerated() {
                if let text = entry.stringValue, let pointer = JSONPointer(text) { keyFrom.append(pointer) } else {
                    report("\(here)/keyFrom/\(index)", "must be a JSON pointer such as \"/definition/id\"")
                }
            }
            if keyFrom.isEmpty, let own = JSONPointer("/" + keyName.replacing("~", with: "~0").replacing("/", with: "~1")) {
                keyFrom = [own]
            }
            fields[field] = FieldMapping(
                to: to, from: pointer(spec, "from", at: here) ?? to, format: format == .plain && field.kind == .dateTime ? .rfc3339 : format,
                keyName: keyName, keyFrom: keyFrom, valueName: string(spec, "valueName", at: here) ?? "value",
                integerKeys: keyType == "integer", nullable: spec["nullable"]?.boolValue ?? field.isNullable)
        }
        return fields
    }

    private mutating func readVendorFields(_ value: JSONValue?, at path: String) -> [(name: String, mapping: VendorFieldMapping)] {
        guard let value else { return [] }
        guard let object = objectValue(value, at: path) else { return [] }
        var result: [(name: String, mapping: VendorFieldMapping)] = []
        for (name, member) in object {
            let here = "\(path)/\(name)"
            guard let spec = objectValue(member, at: here) else { continue }
            allowOnly(["to", "from", "type", "values", "keys", "nullable"], in: spec, at: here)
            guard let to = pointer(spec, "to", at: here, required: true) else { continue }
            let typeName = string(spec, "type", at: here) ?? "any"
            guard let type = VendorFieldMapping.ValueType(rawValue: typeName) else {
                report(here + "/type", "must be one of \(VendorFieldMapping.ValueType.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            let values = spec["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
            // "keys": a list of member names, or an object naming each member's type.
            var keys = spec["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
            var keyTypes: [String: VendorFieldMapping.ValueType] = [:]
            for (key, typeValue) in spec["keys"]?.objectValue ?? JSONObject() {
                keys.append(key)
                guard let typeName = typeValue.stringValue, let keyType = VendorFieldMapping.ValueType(rawValue: typeName),
                      keyType != .enum, keyType != .object else {
                    report("\(here)/keys/\(key)", "must be one of string, nonEmptyString, integer, boolean, any")
                    continue
                }
                keyTypes[key] = keyType
            }
            if type == .enum && values.isEmpty { report(here + "/values", "an enum needs a non-empty list of string values") }
            result.append((name, VendorFieldMapping(
                to: to, from: pointer(spec, "from", at: here) ?? to, type: type, values: values,
                keys: keys, keyTypes: keyTypes, nullable: spec["nullable"]?.boolValue ?? false)))
        }
        return result
    }

    private mutating func readCall(_ value: JSONValue, at path: String, fields: [CanonicalField: FieldMapping],
                                   vendorFields: [(name: String, mapping: VendorFieldMapping)]) -> CallTemplate? {
        guard let object = objectValue(value, at: path) else { return nil }
        allowOnly(["name", "method", "path", "fields", "body", "idempotent", "mergeWithRead"], in: object, at: path)
        let method = string(object, "method", at: path, required: true) ?? ""
        if !["GET", "PUT", "PATCH", "POST"].contains(method) { report(path + "/method", "must be GET, PUT, PATCH or POST") }
        let callPath = string(object, "path", at: path, required: true) ?? ""
        if !callPath.hasPrefix("/") || !callPath.contains("{id}") { report(path + "/path", "must start with '/' and contain {id}") }
        if callPath.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x23 }) {
            report(path + "/path", "must be ASCII without spaces, control characters or a fragment (percent-encode them)")
        }
        var selected: [PatchField]?
        if let list = object["fields"]?.arrayValue {
            selected = []
            for (index, entry) in list.enumerated() {
                let name = entry.stringValue ?? ""
                if name.hasPrefix("vendorFields."), vendorFields.contains(where: { "vendorFields.\($0.name)" == name }) {
                    selected?.append(.vendor(String(name.dropFirst("vendorFields.".count))))
                } else if let field = CanonicalField(rawValue: name), fields[field] != nil {
                    selected?.append(.canonical(field))
                } else {
                    report("\(path)/fields/\(index)", "'\(name)' is not a field this mapping defines")
                }
            }
        }
        var body = method == "GET" ? CallTemplate.BodyShape.none : .object
        if let text = string(object, "body", at: path) {
            if let shape = CallTemplate.BodyShape(rawValue: text) { body = shape } else {
                report(path + "/body", "must be object, value or none")
            }
        }
        if body == .value && selected?.count != 1 { report(path + "/body", "'value' needs exactly one field in 'fields'") }
        return CallTemplate(name: string(object, "name", at: path) ?? method.lowercased(), method: method, path: callPath,
                            fields: selected, body: body, idempotent: object["idempotent"]?.boolValue ?? (method == "GET" || method == "PUT"),
                            mergesWithRead: object["mergeWithRead"]?.boolValue ?? false)
    }

    private mutating func readResponse(_ value: JSONValue?, at path: String) -> ResponseMapping {
        let object = value.flatMap { objectValue($0, at: path) } ?? JSONObject()
        allowOnly(["job", "id", "createdAt", "updatedAt"], in: object, at: path)
        func stamp(_ key: String) -> (pointer: JSONPointer, format: FieldMapping.Format)? {
            guard let spec = object[key]?.objectValue, let from = spec["from"]?.stringValue, let pointer = JSONPointer(from) else {
                if object[key] != nil { report("\(path)/\(key)", "needs 'from' (a JSON pointer) and optional 'format'") }
                return nil
            }
            let format = spec["format"]?.stringValue.flatMap(FieldMapping.Format.init(rawValue:)) ?? .rfc3339
            return (pointer, format)
        }
        return ResponseMapping(job: pointer(object, "job", at: path) ?? JSONPointer("")!, id: pointer(object, "id", at: path),
                               createdAt: stamp("createdAt"), updatedAt: stamp("updatedAt"))
    }

    private mutating func readErrors(_ value: JSONValue?, at path: String) -> ErrorMapping {
        let object = value.flatMap { objectValue($0, at: path) } ?? JSONObject()
        allowOnly(["style", "fieldErrors", "message", "code", "defaultRetryAfterSeconds"], in: object, at: path)
        var style = ErrorMapping.Style.problemDetails
        if let text = string(object, "style", at: path) {
            if let parsed = ErrorMapping.Style(rawValue: text) { style = parsed } else {
                report(path + "/style", "must be problemDetails, message or rpcStatus")
            }
        }
        var defaultRetryAfter: Int?
        if let value = object["defaultRetryAfterSeconds"] {
            if let seconds = value.numberValue?.int64Value, (1...3600).contains(seconds) { defaultRetryAfter = Int(seconds) } else {
                report(path + "/defaultRetryAfterSeconds", "must be an integer number of seconds from 1 to 3600")
            }
        }
        return ErrorMapping(style: style, fieldErrors: pointer(object, "fieldErrors", at: path),
                            message: pointer(object, "message", at: path), code: pointer(object, "code", at: path),
                            defaultRetryAfterSeconds: defaultRetryAfter)
    }

    // MARK: Primitives

    private mutating func allowOnly(_ keys: Set<String>, in object: JSONObject, at path: String) {
        for key in object.keys where !keys.contains(key) {
            report("\(path)/\(key)", "unknown key (allowed: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    private mutating func objectValue(_ value: JSONValue?, at path: String) -> JSONObject? {
        guard let value else { return nil }
        guard let object = value.objectValue else {
            report(path, "must be an object")
            return nil
        }
        return object
    }

    private mutating func string(_ object: JSONObject, _ key: String, at path: String, required: Bool = false) -> String? {
        guard let value = object[key] else {
            if required { report("\(path)/\(key)", "is required") }
            return nil
        }
        guard let text = value.stringValue else {
            report("\(path)/\(key)", "must be a string")
            return nil
        }
        return text
    }

    private mutating func pointer(_ object: JSONObject, _ key: String, at path: String, required: Bool = false) -> JSONPointer? {
        guard let text = string(object, key, at: path, required: required) else { return nil }
        guard let pointer = JSONPointer(text) else {
            report("\(path)/\(key)", "must be a JSON pointer such as \"/name\"")
            return nil
        }
        return pointer
    }

    /// A string with `${VAR}` resolved; an unset variable without default is an error naming it.
    private mutating func interpolated(_ object: JSONObject, _ key: String, at path: String, required: Bool) -> String? {
        guard let value = object[key] else {
            if required { report(path, "is required") }
            return nil
        }
        guard let raw = value.stringValue else {
            report(path, "must be a string")
            return nil
        }
        do {
            return try Interpolation.resolve(raw, environment: environment)
        } catch let unset as Interpolation.Unset {
            report(path, "environment variable \(unset.variable) is not set and has no default")
        } catch {
            report(path, "malformed ${...} reference")
        }
        return nil
    }

    /// A credential: interpolated, wrapped as a secret; empty values are collected in `unset`.
    private mutating func credential(_ object: JSONObject, _ key: String, at path: String, unset: inout [String],
                                     required: Bool = true) -> Secret {
        let value = interpolated(object, key, at: path, required: required) ?? ""
        if value.hasLineBreakOrNUL { report(path, "credential has a line break") }
        if value.isEmpty { unset += variables(in: object[key]?.stringValue ?? key) }
        return Secret(value)
    }

    private func variables(in raw: String) -> [String] {
        let names = Interpolation.references(in: raw)
        return names.isEmpty ? [raw] : names
    }

    private mutating func checkURL(_ url: String, at path: String) {
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            return report(path, "must be an http:// or https:// URL")
        }
        let rest = url.drop { $0 != ":" }.dropFirst(3)
        if rest.isEmpty || rest.hasPrefix("/") { report(path, "has no host") }
        if url.contains(where: { $0 == " " || $0 == "\n" || $0 == "\r" }) || url.contains("?") || url.contains("#") {
            report(path, "must not contain spaces, a query or a fragment")
        }
    }

    private func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
