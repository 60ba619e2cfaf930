import XCTest
@testable import JobGate
@testable import JobGateCore

/// Every transition of the breaker, time passed in: no sockets, no clock.
final class CircuitBreakerTests: XCTestCase {
    typealias Machine = CircuitBreakerStateMachine
    let second: UInt64 = 1_000_000_000

    func machine() -> Machine {
        Machine(CircuitBreakerSettings(failures: 2, openSeconds: 1), leaseSeconds: 5)
    }

    func admitted(_ machine: inout Machine, now: UInt64, file: StaticString = #filePath, line: UInt = #line) -> Machine.Ticket? {
        guard case .admitted(let ticket) = machine.admit(now: now) else {
            XCTFail("refused", file: file, line: line)
            return nil
        }
        return ticket
    }

    func testClosedCountsConsecutiveFailuresThenOpens() throws {
        var breaker = machine()
        XCTAssertEqual(breaker.admit(now: 0), .admitted(Machine.Ticket(probe: nil)))
        breaker.record(.failure, now: 0)
        XCTAssertEqual(breaker.state, .closed(failures: 1))
        breaker.record(.success, now: 0)
        XCTAssertEqual(breaker.state, .closed(failures: 0), "consecutive failures only")
        breaker.record(.failure, now: 0)
        breaker.record(.failure, now: 10)
        XCTAssertEqual(breaker.state, .open(until: 10 + second))
        XCTAssertEqual(breaker.admit(now: 10 + second / 2), .refused(retryAfterSeconds: 1))
        XCTAssertTrue(breaker.isOpen)
    }

    func testProbeSuccessClosesAndFailureReopens() throws {
        var breaker = machine()
        breaker.record(.failure, now: 0)
        breaker.record(.failure, now: 0)
        let probe = try XCTUnwrap(admitted(&breaker, now: second))
        XCTAssertNotNil(probe.probe)
        XCTAssertEqual(breaker.admit(now: second + 1), .refused(retryAfterSeconds: 5), "one probe at a time")
        breaker.record(.failure, now: 2 * second)
        XCTAssertEqual(breaker.state, .open(until: 3 * second))
        let next = try XCTUnwrap(admitted(&breaker, now: 3 * second))
        XCTAssertNotEqual(next, probe)
        breaker.record(.success, now: 3 * second)
        XCTAssertEqual(breaker.state, .closed(failures: 0))
        breaker.release(next, now: 3 * second)
        XCTAssertEqual(breaker.state, .closed(failures: 0), "releasing after a verdict changes nothing")
    }

    func testAProbeThatNeverCallsReleasesItsLease() throws {
        // Refused by the rate limiter, cancelled by its caller, no token: no verdict, but the next may probe.
        var breaker = machine()
        breaker.record(.failure, now: 0)
        breaker.record(.failure, now: 0)
        let probe = try XCTUnwrap(admitted(&breaker, now: second))
        breaker.release(probe, now: second + 7)
        XCTAssertEqual(breaker.state, .open(until: second + 7))
        XCTAssertNotNil(admitted(&breaker, now: second + 7)?.probe)
    }

    func testAProbeLeaseExpiresOnItsOwn() throws {
        var breaker = machine()
        breaker.record(.failure, now: 0)
        breaker.record(.failure, now: 0)
        let lost = try XCTUnwrap(admitted(&breaker, now: second))
        XCTAssertEqual(breaker.admit(now: 6 * second - 1), .refused(retryAfterSeconds: 1))
        let next = try XCTUnwrap(admitted(&breaker, now: 6 * second))
        XCTAssertNotEqual(next, lost)
        breaker.release(lost, now: 6 * second)
        XCTAssertEqual(breaker.state, .halfOpen(probe: try XCTUnwrap(next.probe), leaseEnds: 11 * second),
                       "a stale ticket does not end the new probe's lease")
    }

    func testOrdinaryTicketsDoNotTouchTheProbe() throws {
        var breaker = machine()
        let ordinary = try XCTUnwrap(admitted(&breaker, now: 0))
        breaker.record(.failure, now: 0)
        breaker.record(.failure, now: 0)
        let probe = try XCTUnwrap(admitted(&breaker, now: second))
        breaker.release(ordinary, now: second)
        XCTAssertEqual(breaker.state, .halfOpen(probe: try XCTUnwrap(probe.probe), leaseEnds: 6 * second))
    }
}
