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
        case open(until: MonotonicInstant)
        /// One request, the probe, may call the vendor; its lease ends with its verdict or at `leaseEnds`.
        case halfOpen(probe: UInt64, leaseEnds: MonotonicInstant)
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
    private let openFor: Interval
    private let lease: Interval
    private var probes: UInt64 = 0

    /// `lease`: how long a probe may take before another request may probe instead (the vendor's
    /// whole-call timeout, plus a margin).
    init(_ settings: CircuitBreakerSettings, lease: Interval) {
        failureThreshold = settings.failures
        openFor = .seconds(settings.openSeconds)
        self.lease = max(lease, .milliseconds(1))
    }

    mutating func admit(now: MonotonicInstant) -> Admission {
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
            state = .halfOpen(probe: probes, leaseEnds: now + lease)
            return .admitted(Ticket(probe: probes))
        }
    }

    /// A call's outcome: any success closes the circuit; failures count towards opening it, and a failed
    /// probe opens it again at once.
    mutating func record(_ verdict: Verdict, now: MonotonicInstant) {
        switch (verdict, state) {
        case (.success, _):
            state = .closed(failures: 0)
        case (.failure, .closed(let failures)) where failures + 1 < failureThreshold:
            state = .closed(failures: failures + 1)
        case (.failure, _):
            state = .open(until: now + openFor)
        }
    }

    /// The request of `ticket` is done, whatever became of it. A probe that is still half-open gave no
    /// verdict (refused, cancelled, no token, deadline): the next request may probe at once.
    mutating func release(_ ticket: Ticket, now: MonotonicInstant) {
        guard let probe = ticket.probe, case .halfOpen(let current, _) = state, current == probe else { return }
        state = .open(until: now)
    }

    var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    /// Whole seconds for Retry-After, rounded up: never "0", which would invite an immediate retry.
    private static func seconds(_ duration: Interval) -> Int {
        max(1, Int(duration.inSeconds.rounded(.up)))
    }
}

/// The state machine, shared by every event loop.
final class CircuitBreaker: Sendable {
    private let machine: Mutex<CircuitBreakerStateMachine>

    init(_ settings: CircuitBreakerSettings, lease: Interval) {
        machine = Mutex(CircuitBreakerStateMachine(settings, lease: lease))
    }

    func admit() -> CircuitBreakerStateMachine.Admission {
        let now = MonotonicInstant.now
        return machine.withLock { $0.admit(now: now) }
    }

    func record(_ verdict: CircuitBreakerStateMachine.Verdict) {
        let now = MonotonicInstant.now
        machine.withLock { $0.record(verdict, now: now) }
    }

    func release(_ ticket: CircuitBreakerStateMachine.Ticket) {
        // Only a probe's ticket holds anything; every other request's release is a no-op, lock-free.
        guard ticket.probe != nil else { return }
        let now = MonotonicInstant.now
        machine.withLock { $0.release(ticket, now: now) }
    }

    var isOpen: Bool { machine.withLock { $0.isOpen } }
}
