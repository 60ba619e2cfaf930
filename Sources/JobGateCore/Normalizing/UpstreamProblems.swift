import JobGateJSON

/// The status table of CONTRACT.md §4 for upstream outcomes, in one place.
public enum UpstreamProblems {
    /// Retry-After values we pass on are clamped: a vendor must not park our callers for hours.
    public static let retryAfterRange = 1...3600

    public static func problem(for summary: UpstreamErrorSummary, vendor: String) -> Problem {
        let upstreamSaid = summary.message.map { ": \($0)" } ?? "."
        var problem: Problem
        switch summary.status {
        case 400, 422:
            problem = Problem(.validation, status: 422, title: "Rejected by the vendor",
                              detail: "\(vendor) rejected the update\(upstreamSaid)")
            if !summary.fieldErrors.isEmpty { problem.extensions["errors"] = summary.fieldErrors.json }
        case 401:
            problem = Problem(.upstreamAuth, status: 502, title: "Vendor refused the gateway's credentials",
                              detail: "\(vendor) refused the credentials JobGate is configured with.")
        case 403:
            problem = Problem(.forbidden, status: 403, title: "Forbidden by the vendor", detail: "\(vendor) forbids this update\(upstreamSaid)")
        case 404:
            problem = Problem(.notFound, status: 404, title: "Job not found", detail: "\(vendor) has no such job\(upstreamSaid)")
        case 409:
            problem = Problem(.conflict, status: 409, title: "Conflict", detail: "\(vendor) reported a conflict\(upstreamSaid)")
        case 429:
            problem = Problem(.rateLimited, status: 429, title: "Vendor rate limit reached",
                              detail: "\(vendor) asked us to slow down.")
            problem.headers.append((name: "Retry-After", value: String(clamp(summary.retryAfterSeconds ?? 1))))
        case 503 where summary.retryAfterSeconds != nil:
            problem = Problem(.unavailable, status: 503, title: "Vendor unavailable",
                              detail: "\(vendor) is temporarily unavailable.")
            problem.headers.append((name: "Retry-After", value: String(clamp(summary.retryAfterSeconds ?? 1))))
        default:
            problem = Problem(.upstreamError, status: 502, title: "Vendor error",
                              detail: "\(vendor) answered \(summary.status)\(upstreamSaid)")
        }
        problem.extensions["vendor"] = .string(vendor)
        problem.extensions["upstreamStatus"] = .number(JSONNumber(Int64(summary.status)))
        var upstream = JSONObject()
        upstream["vendor"] = .string(vendor)
        upstream["status"] = .number(JSONNumber(Int64(summary.status)))
        if let code = summary.code { upstream["code"] = .string(code) }
        if let requestID = summary.requestID { upstream["requestId"] = .string(requestID) }
        if !summary.excerpt.isEmpty { upstream["excerpt"] = .string(summary.excerpt) }
        problem.extensions["upstream"] = .object(upstream)
        return problem
    }

    public static func malformedBody(vendor: String) -> Problem {
        var problem = Problem(.upstreamError, status: 502, title: "Malformed vendor answer",
                              detail: "\(vendor) answered success, but not with the job JSON expected.")
        problem.extensions["vendor"] = .string(vendor)
        return problem
    }

    public static func clamp(_ seconds: Int) -> Int {
        min(max(seconds, retryAfterRange.lowerBound), retryAfterRange.upperBound)
    }
}
