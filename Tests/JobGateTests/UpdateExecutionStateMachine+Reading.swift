import JobGateJSON
import JobGatePosix
import JobGateUpstream
@testable import JobGate
@testable import JobGateCore

extension UpdateExecutionStateMachine {
    /// The vendor answers at `now`, when the wall clock says 2026-12-02 15:00:00 GMT.
    mutating func answered(_ response: UpstreamResponse, now: MonotonicInstant) -> CallEnding {
        callAnswered(response, now: now, epochSeconds: 1_796_223_600)
    }
}

/// What each action carries, nil for any other action: tests read them with optional chaining.
extension UpdateExecutionStateMachine.Action {
    var sentCall: (step: Int, token: Secret?, body: [UInt8], options: UpstreamOptions)? {
        guard case .sendCall(let step, let token, let body, let options) = self else { return nil }
        return (step, token, body, options)
    }

    var outcome: UpdateExecutionStateMachine.Outcome? {
        guard case .finish(let outcome) = self else { return nil }
        return outcome
    }

    func fetchesToken(refused: Secret?) -> Bool {
        guard case .fetchToken(let forgotten) = self else { return false }
        return forgotten == refused
    }

    var backoffSeconds: Double? {
        guard case .scheduleBackoff(let wait) = self else { return nil }
        return wait.inSeconds
    }

    var isNone: Bool {
        guard case .none = self else { return false }
        return true
    }
}

extension UpdateExecutionStateMachine.CallEnding {
    /// The attempt reported and what follows, nil when the ending reported none.
    var recorded: (report: UpdateExecutionStateMachine.AttemptReport, next: UpdateExecutionStateMachine.Action)? {
        report.map { ($0, next) }
    }

    /// Nothing reported, nothing to do.
    var isNone: Bool { report == nil && next.isNone }
}

extension UpdateExecutionStateMachine.Outcome {
    var problem: Problem? {
        guard case .failure(let problem) = result else { return nil }
        return problem
    }

    /// The body of a success (itself nil when the last call answered none).
    var body: JSONValue?? {
        guard case .success(let body) = result else { return nil }
        return .some(body?.json)
    }
}
