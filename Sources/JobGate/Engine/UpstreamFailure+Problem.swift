import JobGateCore
import JobGateJSON
import JobGateUpstream

/// The status table of the contract for calls that got no usable answer (CONTRACT §4): the transport
/// failures of the upstream client, which the pure core does not know.
extension UpstreamProblems {
    static func problem(for failure: UpstreamFailure, vendor: String, isWrite: Bool) -> Problem {
        let (kind, status, title, detail): (Problem.Kind, Int, String, String) = switch failure {
        case .timeout: (.upstreamTimeout, 504, "Vendor timeout", "\(vendor) did not answer in time.")
        case .bodyTooLarge:
            (.upstreamError, 502, "Vendor answer too large", "\(vendor) sent a response larger than JobGate accepts.")
        case .malformedResponse:
            (.upstreamError, 502, "Malformed vendor answer", "\(vendor) sent a response that is not valid HTTP.")
        case .closedBeforeAnswer:
            (.upstreamError, 502, "Vendor closed the connection",
             "\(vendor) closed the connection before answering; the call was not sent again.")
        case .tlsFailure: (.upstreamError, 502, "TLS failure", "The TLS connection to \(vendor) could not be verified.")
        default:
            (.upstreamError, 502, "Vendor unreachable", "JobGate could not complete the call to \(vendor) (\(failure.kind)).")
        }
        var problem = Problem(kind, status: status, title: title, detail: detail)
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
