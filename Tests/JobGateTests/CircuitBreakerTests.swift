import XCTest
import JobGatePosix
@testable import JobGate
@testable import JobGateCore

/// Every transition of the breaker, time passed in: no sockets, no clock.
final class CircuitBreakerTests: XCTestCase {
    typealias Machine = CircuitBreakerStateMachine
    let second: UInt64 = 1_000_000_000

    /// The instant `nanoseconds` after the (arbitrary) start of the monotonic clock.
    func at(_ nanoseconds: UInt64) -> MonotonicInstant { MonotonicInstant(nanoseconds: nanoseconds) }

    func machine() -> Machine {
        Machine(CircuitBreakerSettings(failures: 2, openSeconds: 1), lease: .seconds(5))
    }

    func admitted(_ machine: inout Machine, now: MonotonicInstant, file: StaticString = #filePath, line: UInt = #line) -> Machine.Ticket? {
        guard case .admitted(let ticket) = machine.admit(now: now) else {
            XCTFail("refused", file: file, line: line)
            return nil
        }
        return ticket
    }

    func testClosedCountsConsecutiveFailuresThenOpens() throws {
        var breaker = machine()
        XCTAssertEqual(breaker.admit(now: at(0)), .admitted(Machine.Ticket(probe: nil)))
        breaker.record(.failure, now: at(0))
        XCTAssertEqual(breaker.state, .closed(failures: 1))
        breaker.record(.success, now: at(0))
        XCTAssertEqual(breaker.state, .closed(failures: 0), "consecutive failures only")
        breaker.record(.failure, now: at(0))
        breaker.record(.failure, now: at(10))
        XCTAssertEqual(breaker.state, .open(until: at(10 + second)))
        XCTAssertEqual(breaker.admit(now: at(10 + second / 2)), .refused(retryAfterSeconds: 1))
        XCTAssertTrue(breaker.isOpen)
    }

    func testProbeSuccessClosesAndFailureReopens() throws {
        var breaker = machine()
        breaker.record(.failure, now: at(0))
        breaker.record(.failure, now: at(0))
        let probe = try XCTUnwrap(admitted(&breaker, now: at(second)))
        XCTAssertNotNil(probe.probe)
        XCTAssertEqual(breaker.admit(now: at(second + 1)), .refused(retryAfterSeconds: 5), "one probe at a time")
        breaker.record(.failure, now: at(2 * second))
        XCTAssertEqual(breaker.state, .open(until: at(3 * second)))
        let next = try XCTUnwrap(admitted(&breaker, now: at(3 * second)))
        XCTAssertNotEqual(next, probe)
        breaker.record(.success, now: at(3 * second))
        XCTAssertEqual(breaker.state, .closed(failures: 0))
        breaker.release(next, now: at(3 * second))
        XCTAssertEqual(breaker.state, .closed(failures: 0), "releasing after a verdict changes nothing")
    }

    func testAProbeThatNeverCallsReleasesItsLease() throws {
        // Refused by the rate limiter, cancelled by its caller, no token: no verdict, but the next may probe.
        var breaker = machine()
        breaker.record(.failure, now: at(0))
        breaker.record(.failure, now: at(0))
        let probe = try XCTUnwrap(admitted(&breaker, now: at(second)))
        breaker.release(probe, now: at(second + 7))
        XCTAssertEqual(breaker.state, .open(until: at(second + 7)))
        XCTAssertNotNil(admitted(&breaker, now: at(second + 7))?.probe)
    }

    func testAProbeLeaseExpiresOnItsOwn() throws {
        var breaker = machine()
        breaker.record(.failure, now: at(0))
        breaker.record(.failure, now: at(0))
        let lost = try XCTUnwrap(admitted(&breaker, now: at(second)))
        XCTAssertEqual(breaker.admit(now: at(6 * second - 1)), .refused(retryAfterSeconds: 1))
        let next = try XCTUnwrap(admitted(&breaker, now: at(6 * second)))
        XCTAssertNotEqual(next, lost)
        breaker.release(lost, now: at(6 * second))
        XCTAssertEqual(breaker.state, .halfOpen(probe: try XCTUnwrap(next.probe), leaseEnds: at(11 * second)),
                       "a stale ticket does not end the new probe's lease")
    }

    func testOrdinaryTicketsDoNotTouchTheProbe() throws {
        var breaker = machine()
        let ordinary = try XCTUnwrap(admitted(&breaker, now: at(0)))
        breaker.record(.failure, now: at(0))
        breaker.record(.failure, now: at(0))
        let probe = try XCTUnwrap(admitted(&breaker, now: at(second)))
        breaker.release(ordinary, now: at(second))
        XCTAssertEqual(breaker.state, .halfOpen(probe: try XCTUnwrap(probe.probe), leaseEnds: at(6 * second)))
    }
}
