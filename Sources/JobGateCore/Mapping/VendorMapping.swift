import JobGateJSON

/// One vendor's mapping file, parsed, interpolated and checked. Immutable; a reload builds a new one.
/// A class, not a struct: the flow reads it on every request, and copying two dozen fields (each retained)
/// per use cost more than the one reference.
public final class VendorMapping: Sendable {
    public let vendor: String
    public let displayName: String
    public let baseURL: String
    public let auth: AuthScheme
    /// Headers sent on every call (tenant ids and the like), values already interpolated.
    public let headers: [(name: String, value: String)]
    public let jobID: JobIDRule
    public let timeoutSeconds: Double?
    /// Every window must have room for a call to go ahead.
    public let rateLimits: [RateLimit]
    public let retry: RetryPolicy
    /// Calls in progress to this vendor at most, across loops; more get 503 (shedding, not queueing).
    public let maxConcurrent: Int
    /// The vendor's idempotency header, if it has one: the caller's `Idempotency-Key` is forwarded in it.
    public let idempotencyKeyHeader: String?
    public let circuitBreaker: CircuitBreakerSettings
    public let fields: [CanonicalField: FieldMapping]
    public let vendorFields: [(name: String, mapping: VendorFieldMapping)]
    public let calls: [CallTemplate]
    public let read: CallTemplate?
    /// Read the job back after the writes (for vendors whose writes answer without a body).
    public let readAfterWrite: Bool
    public let response: ResponseMapping
    public let errors: ErrorMapping
    public let adapter: String?
    public let caFile: String?
    /// How long an idle pooled connection to the vendor is trusted (below its keep-alive timeout).
    public let keepAliveSeconds: Int
    /// HTTP/2 over TLS where the vendor offers it (mapping `"http2": true`); HTTP/1.1 otherwise.
    public let http2: Bool
    /// Environment variables whose emptiness leaves the vendor without credentials (503 until set).
    public let missingConfiguration: [String]
    /// Worked examples that `jobgate check` runs against this mapping.
    public let examples: [MappingExample]
    /// Which credential set this mapping calls with: `defaultAccount` for the top level of the file, else
    /// the name of one of its `accounts`. Safe for logs and metric labels (a name, never a secret).
    public let account: String
    /// The file's named accounts, each this mapping with the account's own auth, headers and base URL.
    /// Empty on an account's mapping: accounts do not nest.
    public let accounts: [String: VendorMapping]

    /// The name the top-level credentials go by in logs, metrics and `Job-Account`.
    public static let defaultAccount = "default"

    init(vendor: String, displayName: String, baseURL: String, auth: AuthScheme,
         headers: [(name: String, value: String)], jobID: JobIDRule, timeoutSeconds: Double?,
         rateLimits: [RateLimit], retry: RetryPolicy, maxConcurrent: Int, idempotencyKeyHeader: String?,
         circuitBreaker: CircuitBreakerSettings, fields: [CanonicalField: FieldMapping],
         vendorFields: [(name: String, mapping: VendorFieldMapping)], calls: [CallTemplate], read: CallTemplate?,
         readAfterWrite: Bool, response: ResponseMapping, errors: ErrorMapping, adapter: String?, caFile: String?,
         keepAliveSeconds: Int, http2: Bool = false, missingConfiguration: [String], examples: [MappingExample],
         account: String = defaultAccount, accounts: [String: VendorMapping] = [:]) {
        self.vendor = vendor
        self.displayName = displayName
        self.baseURL = baseURL
        self.allowPlainHTTP = baseURL.prefix(7).lowercased() == "http://"
        self.auth = auth
        self.headers = headers
        self.jobID = jobID
        self.timeoutSeconds = timeoutSeconds
        self.rateLimits = rateLimits
        self.retry = retry
        self.maxConcurrent = maxConcurrent
        self.idempotencyKeyHeader = idempotencyKeyHeader
        self.circuitBreaker = circuitBreaker
        self.fields = fields
        self.vendorFields = vendorFields
        self.calls = calls
        self.read = read
        self.readAfterWrite = readAfterWrite
        self.response = response
        self.errors = errors
        self.adapter = adapter
        self.caFile = caFile
        self.keepAliveSeconds = keepAliveSeconds
        self.http2 = http2
        self.missingConfiguration = missingConfiguration
        self.examples = examples
        self.account = account
        self.accounts = accounts
        self.jobReading = JobReading(fields: fields, vendorFields: vendorFields, response: response)
        self.fieldTable = CanonicalField.allCases.map { fields[$0] }
        self.callURLs = calls.map { CallURL(baseURL: baseURL, template: $0) }
        self.readURL = read.map { CallURL(baseURL: baseURL, template: $0) }
        let accept = (name: "Accept", value: "application/json")
        self.headersWithoutBody = [accept] + headers
        self.headersWithBody = [accept, (name: "Content-Type", value: "application/json")] + headers
    }

    /// This mapping calling with another credential set; fields, calls, limits and examples are shared.
    func replacing(account: String, baseURL: String, auth: AuthScheme, headers: [(name: String, value: String)],
                   missingConfiguration: [String], accounts: [String: VendorMapping] = [:]) -> VendorMapping {
        VendorMapping(vendor: vendor, displayName: displayName, baseURL: baseURL, auth: auth, headers: headers, jobID: jobID,
                      timeoutSeconds: timeoutSeconds, rateLimits: rateLimits, retry: retry, maxConcurrent: maxConcurrent,
                      idempotencyKeyHeader: idempotencyKeyHeader, circuitBreaker: circuitBreaker, fields: fields,
                      vendorFields: vendorFields, calls: calls, read: read, readAfterWrite: readAfterWrite,
                      response: response, errors: errors, adapter: adapter, caFile: caFile, keepAliveSeconds: keepAliveSeconds, http2: http2,
                      missingConfiguration: missingConfiguration, examples: examples, account: account, accounts: accounts)
    }

    /// Plain http only for a base URL configured as http (local simulators); decided once, read per call.
    public let allowPlainHTTP: Bool
    /// What the normalizer reads from a vendor's job, worked out once rather than per answer.
    let jobReading: JobReading
    public var isConfigured: Bool { missingConfiguration.isEmpty }

    /// `fields` by `CanonicalField.position`: planning and validation look fields up several times per
    /// request, and an index costs nothing where hashing the key does.
    private let fieldTable: [FieldMapping?]

    public func field(_ canonical: CanonicalField) -> FieldMapping? {
        fieldTable[canonical.position]
    }

    /// The URL of each of `calls`, in their order, and of `read`, joined with the base URL once.
    let callURLs: [CallURL]
    let readURL: CallURL?
    /// What every call sends besides credentials, shared by the calls planned: `Accept`, `Content-Type`
    /// when there is a body, then `headers`.
    let headersWithoutBody: [(name: String, value: String)]
    let headersWithBody: [(name: String, value: String)]

    public func vendorField(_ name: String) -> VendorFieldMapping? {
        vendorFields.first { $0.name == name }?.mapping
    }

    /// Whether the vendor has a call to read a job (`GET /jobs/{id}`, empty patches, read-backs).
    public var isReadable: Bool { read != nil }

    /// Every credential in this mapping and its accounts, for the redactor.
    public var secrets: [Secret] { auth.secrets + accounts.values.flatMap(\.secrets) }
}

public enum JobIDRule: String, Sendable, CaseIterable {
    case any, integer, positiveInteger, uuid

    /// Nil when `id` is acceptable, else why not.
    public func violation(_ id: String) -> String? {
        switch self {
        case .any:
            return nil
        case .integer:
            return !id.isEmpty && id.count <= 18 && id.utf8.allSatisfy(isASCIIDigit) ? nil : "must be an integer"
        case .positiveInteger:
            guard !id.isEmpty, id.count <= 18, id.utf8.allSatisfy(isASCIIDigit), let value = Int64(id), value >= 1 else {
                return "must be a positive integer"
            }
            return nil
        case .uuid:
            return CanonicalValidation.isUUID(id) ? nil : "must be a UUID"
        }
    }
}

func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

public enum AuthScheme: Sendable {
    case none
    case headers([(name: String, value: Secret)])
    case bearer(Secret)
    case basic(username: Secret, password: Secret)
    case queryKey(name: String, value: Secret)
    /// A token fetched and refreshed by the gateway; `staticToken`, when set, is used instead.
    case token(TokenSource)

    var secrets: [Secret] {
        switch self {
        case .none: []
        case .headers(let headers): headers.map(\.value)
        case .bearer(let token): [token]
        case .basic(let username, let password): [username, password]
        case .queryKey(_, let value): [value]
        case .token(let source): source.secrets
        }
    }

    /// Names of the headers carrying credentials, for redaction in dry runs.
    public var credentialHeaderNames: [String] {
        switch self {
        case .none, .queryKey: []
        case .headers(let headers): headers.map(\.name)
        case .bearer, .basic: ["Authorization"]
        case .token(let source): [source.header]
        }
    }
}

public struct TokenSource: Sendable {
    public enum Exchange: Sendable {
        /// OAuth2 client credentials: form body, `{access_token, expires_in}`.
        case clientCredentials(url: String, clientID: Secret, clientSecret: Secret)
        /// A JSON body posted to `url` (a key exchange, a login); the token is read by JSON pointer.
        case jsonExchange(JSONTokenExchange)
    }

    public let staticToken: Secret?
    public let exchange: Exchange?
    public let header: String
    public let prefix: String

    var secrets: [Secret] {
        var all = staticToken.map { [$0] } ?? []
        switch exchange {
        case .clientCredentials(_, let id, let secret): all += [id, secret]
        case .jsonExchange(let exchange): all += exchange.body.map(\.value)
        case nil: break
        }
        return all
    }
}

public struct JSONTokenExchange: Sendable {
    public enum Lifetime: Sendable, Equatable {
        /// Seconds from a member of the answer (a number, or a string such as ByteNite's "3600").
        case expiresIn(JSONPointer?)
        /// The `exp` claim of the token itself, a JWT (Shop Planr's login answers only `{token}`).
        case jwtExpiry
    }

    public let url: String
    public let body: [(name: String, value: Secret)]
    public let tokenPointer: JSONPointer
    public let lifetime: Lifetime
    /// Posted with the current, still valid token to get a new one before it expires; when renewal fails,
    /// the gateway exchanges the credentials again.
    public let renewURL: String?
}

/// Retries apply only to calls marked idempotent, and never to a write that may have reached the vendor.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included (1 = no retry).
    public var attempts = 3
    public var baseDelaySeconds = 0.1
    public var maxDelaySeconds = 2.0

    /// Exponential backoff with jitter (50-100% of the step), capped.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let step = min(maxDelaySeconds, baseDelaySeconds * Double(1 << min(attempt, 16)))
        return .seconds(step * Double.random(in: 0.5...1.0))
    }
}

public struct CircuitBreakerSettings: Sendable {
    public var failures = 5
    public var openSeconds = 30.0
}

/// One window of a vendor's rate limit; a mapping may state several (Shop Planr: per 15 s, minute, hour).
public struct RateLimit: Sendable {
    public let requests: Int
    public let perSeconds: Double
}

/// Where a canonical field lives upstream and how its value is represented there. A class: every update reads
/// its fields' mappings, and a reference is one count where a copy of this many pointers and strings is seven.
public final class FieldMapping: Sendable {
    public enum Format: String, Sendable {
        case plain, rfc3339, epoch, epochMillis, keyValueArray
    }

    public let to: JSONPointer
    public let from: JSONPointer
    public let format: Format
    /// For keyValueArray: the member names of each element and whether keys are integers upstream.
    public let keyName: String
    /// Where an answer's element holds its key, first match wins: answers may nest it (BigChange's GET
    /// has been seen with `definition.id` where its update takes `definitionId`).
    public let keyFrom: [JSONPointer]
    public let valueName: String
    public let integerKeys: Bool
    /// A vendor may refuse to unset a field the contract allows to be null.
    public let nullable: Bool

    init(to: JSONPointer, from: JSONPointer, format: Format, keyName: String, keyFrom: [JSONPointer], valueName: String,
         integerKeys: Bool, nullable: Bool) {
        self.to = to
        self.from = from
        self.format = format
        self.keyName = keyName
        self.keyFrom = keyFrom
        self.valueName = valueName
        self.integerKeys = integerKeys
        self.nullable = nullable
    }
}

public struct VendorFieldMapping: Sendable {
    public enum ValueType: String, Sendable, CaseIterable {
        case string, nonEmptyString, integer, boolean, `enum`, object, any
    }

    public let to: JSONPointer
    public let from: JSONPointer
    public let type: ValueType
    public let values: [String]
    public let keys: [String]
    /// For objects: the type of each member that has one declared.
    public let keyTypes: [String: ValueType]
    public let nullable: Bool
}

public struct CallTemplate: Sendable {
    init(name: String, method: String, path: String, fields: [PatchField]?, body: BodyShape, idempotent: Bool,
         mergesWithRead: Bool) {
        self.name = name
        self.method = method
        self.path = path
        self.fields = fields
        self.body = body
        self.idempotent = idempotent
        self.mergesWithRead = mergesWithRead
        var parts: [String] = []
        var rest = Substring(path)
        while let range = rest.firstRange(of: "{id}") {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        pathSplit = parts
    }

    public enum BodyShape: String, Sendable {
        /// An object built from the fields' `to` pointers.
        case object
        /// The single field's value itself (a JSON string, object, ...).
        case value
        case none
    }

    public let name: String
    public let method: String
    /// Relative to the base URL; `{id}` is replaced by the percent-encoded vendor job id.
    public let path: String
    /// `path` split at each `{id}`, so planning is a join instead of a search.
    public var pathParts: [String] { pathSplit }
    let pathSplit: [String]
    /// The patch fields this call carries; nil means all fields (and the call is always made).
    public let fields: [PatchField]?
    public let body: BodyShape
    public let idempotent: Bool
    /// The vendor replaces what this call sends whole (ByteNite's protobuf parts, no field mask): send each
    /// field merged into its current value, read once before any write.
    public let mergesWithRead: Bool
}

public struct ResponseMapping: Sendable {
    /// Where the job object sits in a response body ("" for the root).
    public let job: JSONPointer
    public let id: JSONPointer?
    public let createdAt: (pointer: JSONPointer, format: FieldMapping.Format)?
    public let updatedAt: (pointer: JSONPointer, format: FieldMapping.Format)?
}

public struct ErrorMapping: Sendable {
    public enum Style: String, Sendable {
        case problemDetails, message, rpcStatus
    }

    public let style: Style
    public let fieldErrors: JSONPointer?
    public let message: JSONPointer?
    public let code: JSONPointer?
    /// The wait the vendor documents for a 429 that carries no Retry-After (LILT: 60 s).
    public let defaultRetryAfterSeconds: Int?
}
