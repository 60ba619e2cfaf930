import JobGateHTTP
import Synchronization
import JobGateCore
import JobGatePosix

/// Stops calling a vendor that keeps failing: after `failures` consecutive failed calls the circuit opens for
/// `openSeconds` (callers get 503 with Retry-After), then one probe request decides whether it closes again.
///
/// The probe holds a lease, not a flag: an admitted request may never reach its vendor (the rate limiter or
/// the concurrency cap refuses it, its token fetch fails, its deadline passes, its caller hangs up). Each of
/// those ends the lease, and so does the lease's own timeout, so a lost probe can never leave the circuit
/// half-open for ever.
struct CircuitBreakerStateMachine {
    enum State: Equatable {
        case closed(failures: Int)
        case open(until: UInt64)
        /// One request, the probe, may call the vendor; its lease ends with its verdict or at `leaseEnds`.
        case halfOpen(probe: UInt64, leaseEnds: UInt64)
    }

    /// What an admitted request carries, so that what it reports later is matched to its own admission.
    struct Ticket: Equatable {
        /// Set for the half-open probe.
        let probe: UInt64?
    }

    enum Admission: Equatable {
        case admitted(Ticket)
        case refused(retryAfterSeconds: Int)
    }

    enum Verdict {
        case success
        case failure
    }

    private(set) var state = State.closed(failures: 0)
    private let failureThreshold: Int
    private let openNanoseconds: UInt64
    private let leaseNanoseconds: UInt64
    private var probes: UInt64 = 0

    /// `leaseSeconds`: how long a probe may take before another request may probe instead (the vendor's
    /// whole-call timeout, plus a margin).
    init(_ settings: CircuitBreakerSettings, leaseSeconds: Double) {
        failureThreshold = settings.failures
        openNanoseconds = UInt64(settings.openSeconds * 1e9)
        leaseNanoseconds = UInt64(max(leaseSeconds, 0.001) * 1e9)
    }

    mutating func admit(now: UInt64) -> Admission {
        switch state {
        case .closed:
            return .admitted(Ticket(probe: nil))
        case .open(let until) where until > now:
            return .refused(retryAfterSeconds: Self.seconds(until - now))
        case .halfOpen(_, let leaseEnds) where leaseEnds > now:
            return .refused(retryAfterSeconds: Self.seconds(leaseEnds - now))
        case .open, .halfOpen:
            // Open long enough, or the last probe's lease ran out: this request probes.
            probes += 1
            state = .halfOpen(probe: probes, leaseEnds: now &+ leaseNanoseconds)
            return .admitted(Ticket(probe: probes))
        }
    }

    /// A call's outcome: any success closes the circuit; failures count towards opening it, and a failed
    /// probe opens it again at once.
    mutating func record(_ verdict: Verdict, now: UInt64) {
        switch (verdict, state) {
        case (.success, _):
            state = .closed(failures: 0)
        case (.failure, .closed(let failures)) where failures + 1 < failureThreshold:
            state = .closed(failures: failures + 1)
        case (.failure, _):
            state = .open(until: now &+ openNanoseconds)
        }
    }

    /// The request of `ticket` is done, whatever became of it. A probe that is still half-open gave no
    /// verdict (refused, cancelled, no token, deadline): the next request may probe at once.
    mutating func release(_ ticket: Ticket, now: UInt64) {
        guard let probe = ticket.probe, case .halfOpen(let current, _) = state, current == probe else { return }
        state = .open(until: now)
    }

    var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    private static func seconds(_ nanoseconds: UInt64) -> Int {
        max(1, Int((Double(nanoseconds) / 1e9).rounded(.up)))
    }
}

/// The state machine, shared by every event loop.
final class CircuitBreaker: Sendable {
    private let machine: Mutex<CircuitBreakerStateMachine>

    init(_ settings: CircuitBreakerSettings, leaseSeconds: Double) {
        machine = Mutex(CircuitBreakerStateMachine(settings, leaseSeconds: leaseSeconds))
    }

    func admit() -> CircuitBreakerStateMachine.Admission {
        let now = monotonicNanoseconds()
        return machine.withLock { $0.admit(now: now) }
    }

    func record(_ verdict: CircuitBreakerStateMachine.Verdict) {
        let now = monotonicNanoseconds()
        machine.withLock { $0.record(verdict, now: now) }
    }

    func release(_ ticket: CircuitBreakerStateMachine.Ticket) {
        let now = monotonicNanoseconds()
        machine.withLock { $0.release(ticket, now: now) }
    }

    var isOpen: Bool { machine.withLock { $0.isOpen } }
}
