import JobGateJSON

/// Planned calls as people and tools see them: the one rendering behind `?dryRun=true` and `jobgate plan`,
/// so the offline plan is byte for byte what the gateway's dry run shows.
public enum PlanRendering {
    /// `vendor`, `vendorJobId` and `calls`: each call's name, method, URL, headers, body and idempotency.
    /// Credential headers always read `[redacted]`, and every configured secret is scrubbed from the rest.
    public static func document(_ calls: [PlannedCall], vendorJobID: String, mapping: VendorMapping,
                                redactor: Redactor) -> JSONObject {
        let credentialNames = mapping.auth.credentialHeaderNames
        func describe(_ call: PlannedCall) -> JSONValue {
            var headers = JSONObject()
            for (name, value) in call.headers { headers[name] = .string(redactor.scrub(value)) }
            for name in credentialNames { headers[name] = .string(Secret.redacted) }
            var object = JSONObject()
            object["name"] = .string(call.name)
            object["method"] = .string(call.method)
            object["url"] = .string(redactor.scrub(call.url))
            object["headers"] = .object(headers)
            object["body"] = call.body ?? .null
            object["idempotent"] = .bool(call.idempotent)
            if call.mergesWithRead { object["mergeWithRead"] = true }
            return .object(object)
        }
        var document = JSONObject()
        document["vendor"] = .string(mapping.vendor)
        document["vendorJobId"] = .string(vendorJobID)
        document["calls"] = .array(calls.map(describe))
        return document
    }
}
