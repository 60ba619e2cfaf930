import JobGateCore
import JobGateJSON
import JobGateUpstream

/// The status table of the contract for calls that got no usable answer (CONTRACT §4): the transport
/// failures of the upstream client, which the pure core does not know.
extension UpstreamProblems {
    static func problem(for failure: UpstreamFailure, vendor: String, isWrite: Bool) -> Problem {
        var problem: Problem
        switch failure {
        case .timeout:
            problem = Problem(.upstreamTimeout, status: 504, title: "Vendor timeout",
                              detail: "\(vendor) did not answer in time.")
        case .bodyTooLarge:
            problem = Problem(.upstreamError, status: 502, title: "Vendor answer too large",
                              detail: "\(vendor) sent a response larger than JobGate accepts.")
        case .malformedResponse:
            problem = Problem(.upstreamError, status: 502, title: "Malformed vendor answer",
                              detail: "\(vendor) sent a response that is not valid HTTP.")
        case .closedBeforeAnswer:
            problem = Problem(.upstreamError, status: 502, title: "Vendor closed the connection",
                              detail: "\(vendor) closed the connection before answering; the call was not sent again.")
        case .tlsFailure:
            problem = Problem(.upstreamError, status: 502, title: "TLS failure",
                              detail: "The TLS connection to \(vendor) could not be verified.")
        default:
            problem = Problem(.upstreamError, status: 502, title: "Vendor unreachable",
                              detail: "JobGate could not complete the call to \(vendor) (\(failure.kind)).")
        }
        problem.extensions["vendor"] = .string(vendor)
        var upstream = JSONObject()
        upstream["vendor"] = .string(vendor)
        upstream["error"] = .string(failure.kind)
        problem.extensions["upstream"] = .object(upstream)
        if failure.requestMayHaveLanded && isWrite {
            problem.extensions["outcome"] = "unknown"
            problem.detail += " The update may or may not have been applied."
        }
        return problem
    }

}
