import XCTest
@testable import JobGatePosix

final class TimerQueueTests: XCTestCase {
    private func at(_ nanoseconds: UInt64) -> MonotonicInstant { MonotonicInstant(nanoseconds: nanoseconds) }

    func testTimersFireInDeadlineOrderAndNotBeforeTheirDeadline() {
        var queue = TimerQueue()
        var fired: [Int] = []
        for (name, deadline) in [(3, 30), (1, 10), (2, 20)] as [(Int, UInt64)] {
            _ = queue.add(deadline: at(deadline)) { fired.append(name) }
        }
        XCTAssertEqual(queue.earliestDeadline, at(10))
        XCTAssertNil(queue.popDue(now: at(9)))
        while let action = queue.popDue(now: at(25)) { action() }
        XCTAssertEqual(fired, [1, 2])
        XCTAssertEqual(queue.count, 1)
        XCTAssertEqual(queue.earliestDeadline, at(30))
    }

    /// The regression this type exists for: a timer armed and cancelled per request must not stay behind.
    func testCancelledTimersLeaveAtOnce() {
        var queue = TimerQueue()
        let keep = queue.add(deadline: at(1_000_000)) {}
        for request in 0..<10_000 {
            let timer = queue.add(deadline: at(UInt64(30_000 + request))) {}
            queue.remove(timer)
        }
        XCTAssertEqual(queue.count, 1)
        queue.remove(keep)
        XCTAssertEqual(queue.count, 0)
        XCTAssertNil(queue.earliestDeadline)
    }

    func testAStaleIDDoesNotCancelTheTimerThatReusedItsSlot() {
        var queue = TimerQueue()
        let first = queue.add(deadline: at(1)) {}
        queue.popDue(now: at(1))?()
        var secondFired = false
        let second = queue.add(deadline: at(2)) { secondFired = true }
        XCTAssertNotEqual(first, second)
        queue.remove(first)
        queue.remove(first)
        XCTAssertEqual(queue.count, 1)
        queue.popDue(now: at(2))?()
        XCTAssertTrue(secondFired)
    }

    func testRemovingFromTheMiddleKeepsTheRestInOrder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var queue = TimerQueue()
            var live: [(id: TimerID, deadline: UInt64)] = []
            var fired: [UInt64] = []
            for _ in 0..<200 {
                let deadline = UInt64.random(in: 0..<1_000, using: &generator)
                live.append((queue.add(deadline: at(deadline)) { fired.append(deadline) }, deadline))
            }
            live.shuffle(using: &generator)
            for timer in live.prefix(100) { queue.remove(timer.id) }
            let expected = live.dropFirst(100).map(\.deadline).sorted()
            XCTAssertEqual(queue.count, expected.count)
            while let action = queue.popDue(now: at(.max)) { action() }
            XCTAssertEqual(fired, expected)
        }
    }
}
