import JobGateJSON
import JobGateCore
import JobGatePosix

/// `GET /vendors`: what each configured vendor accepts, and whether it can be called now. No secrets: only
/// the names of missing variables.
enum VendorCatalog {
    static func describe(_ state: GatewayState) -> JSONValue {
        var vendors: [JSONValue] = []
        for (name, runtimes) in state.runtimes.sorted(by: { $0.key < $1.key }) {
            let runtime = runtimes.main
            let mapping = runtime.mapping
            var entry: JSONObject = [
                "id": .string(name), "displayName": .string(mapping.displayName),
                "baseUrl": .string(state.redactor.scrub(mapping.baseURL)), "configured": .bool(mapping.isConfigured),
                "jobId": .string(mapping.jobID.rawValue),
                "fields": .array(CanonicalField.allCases.filter { mapping.fields[$0] != nil }.map { .string($0.rawValue) }),
                "vendorFields": .array(mapping.vendorFields.map { field in
                    var object: JSONObject = ["name": .string(field.name), "type": .string(field.mapping.type.rawValue)]
                    if !field.mapping.values.isEmpty { object["values"] = .array(field.mapping.values.map { .string($0) }) }
                    if !field.mapping.keys.isEmpty { object["keys"] = .array(field.mapping.keys.map { .string($0) }) }
                    return .object(object)
                }),
                "readable": .bool(mapping.isReadable),
                "calls": .array(mapping.calls.map { .string("\($0.method) \($0.path)") }),
                "timeoutSeconds": .number(JSONNumber(literal: String(mapping.timeoutSeconds ?? state.settings.upstreamTimeoutSeconds)) ?? JSONNumber(10)),
                "retry": ["attempts": .number(JSONNumber(Int64(mapping.retry.attempts)))],
                "maxConcurrent": .number(JSONNumber(Int64(mapping.maxConcurrent))),
                "circuitOpen": .bool(runtime.breaker.isOpen),
            ]
            if !mapping.isConfigured { entry["missing"] = .array(mapping.missingConfiguration.map { .string($0) }) }
            if !mapping.rateLimits.isEmpty {
                entry["rateLimit"] = .array(mapping.rateLimits.map { limit in
                    ["requests": .number(JSONNumber(Int64(limit.requests))),
                     "perSeconds": .number(JSONNumber(literal: String(limit.perSeconds)) ?? JSONNumber(60))]
                })
            }
            if !runtimes.named.isEmpty {
                entry["accounts"] = .array(runtimes.all.map { account(of: $0, state) })
            }
            vendors.append(.object(entry))
        }
        return ["mappingHash": .string(state.mappings.hash), "vendors": .array(vendors)]
    }

    /// One credential set of a vendor: its name (`default` for the top level), whether its credentials are
    /// set (and which variables are not), where it calls, and its own breaker.
    private static func account(of runtime: VendorRuntime, _ state: GatewayState) -> JSONValue {
        let mapping = runtime.mapping
        var entry: JSONObject = [
            "name": .string(mapping.account), "configured": .bool(mapping.isConfigured),
            "baseUrl": .string(state.redactor.scrub(mapping.baseURL)), "circuitOpen": .bool(runtime.breaker.isOpen),
        ]
        if !mapping.isConfigured { entry["missing"] = .array(mapping.missingConfiguration.map { .string($0) }) }
        return .object(entry)
    }
}
