import XCTest
import JobGatePosix
@testable import JobGateHTTP

private typealias Machine = HTTPConnectionStateMachine
private typealias Deadline = HTTPConnectionStateMachine.Deadline

/// Distinct small values, so every deadline names the timeout it came from.
private let timeouts = Machine.Timeouts(header: .nanoseconds(100), body: .nanoseconds(200), idle: .nanoseconds(300),
                                        write: .nanoseconds(400), linger: .nanoseconds(50))

/// Instants written as nanosecond counts, so a deadline's arithmetic reads at a glance (100 + 300 = 400).
extension MonotonicInstant: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt64) {
        self.init(nanoseconds: value)
    }
}

/// The parser and the machine together, fed as `HTTPConnection` feeds them, with the socket left out:
/// what would be written is recorded instead.
private struct Wire {
    var machine = Machine(timeouts: timeouts, now: 0)
    var parser = HTTPRequestParser()
    var input = ByteBuffer()
    var handed: [HTTPRequest] = []
    var continues = 0
    var errors: [HTTPParseError] = []

    mutating func receive(_ text: String, now: MonotonicInstant = 0) {
        XCTAssertEqual(machine.bytesArrived(), .parse)
        input.append(contentsOf: text.utf8)
        parseWhileAllowed(now: now)
    }

    mutating func parseWhileAllowed(now: MonotonicInstant = 0, unsentOutput: Int = 0) {
        while machine.mayParse(unsentOutput: unsentOutput) {
            do {
                switch try parser.parse(&input) {
                case .needMore:
                    machine.needMoreInput(Machine.ParserProgress(of: parser), now: now)
                    return
                case .sendContinue:
                    continues += 1
                    machine.continueRequested(now: now)
                case .request(let request):
                    handed.append(request)
                    machine.requestParsed(keepAlive: request.keepAlive, version: request.version,
                                          isHead: request.method == "HEAD")
                    machine.handlerReturned()
                }
            } catch {
                errors.append(error)
                XCTAssertEqual(machine.parseFailed(), .closing)
            }
        }
    }

    /// The handler answers later, as the gateway's upstream calls do.
    mutating func respond(now: MonotonicInstant = 0) -> Machine.ResponseFraming {
        let (framing, resumeInput) = machine.responseReady(closesConnection: false, now: now)
        XCTAssertTrue(resumeInput, "an asynchronous response restarts reading")
        parseWhileAllowed(now: now)
        return framing
    }
}

private func handling(_ framing: Machine.ResponseFraming, running: Bool = false) -> Machine.State {
    .open(.handling(framing, handlerIsRunning: running), writeBlocked: nil)
}

private let keepAlive11 = Machine.ResponseFraming(keepAlive: true, version: .http1_1, omitsBody: false)

final class HTTPConnectionStateMachineTests: XCTestCase {
    func testFreshConnectionWaitsForItsFirstHeadUnderTheHeaderTimeout() {
        var machine = Machine(timeouts: timeouts, now: 1_000)
        XCTAssertEqual(machine.deadline, Deadline(reason: .header, instant: 1_100))
        XCTAssertEqual(machine.timerFired(now: 1_099), .none)
        XCTAssertEqual(machine.timerFired(now: 1_100), .close(cancellingRequest: false), "nothing was asked: no 408")
        XCTAssertTrue(machine.isClosed)
    }

    func testHeaderTimeoutStartsAtTheFirstByteAndIsAnswered408() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ", now: 40)
        XCTAssertEqual(wire.machine.state, .open(.readingHead(Deadline(reason: .header, instant: 140)), writeBlocked: nil))
        wire.receive("still", now: 90)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .header, instant: 140), "later bytes do not extend it")
        XCTAssertEqual(wire.machine.timerFired(now: 140), .answerTimeout)
        XCTAssertEqual(wire.machine.state, .open(.closingAfterOutput, writeBlocked: nil))
        XCTAssertFalse(wire.machine.wantsToRead(bufferedInput: 0, unsentOutput: 100))
        XCTAssertEqual(wire.machine.outputFlushed(now: 150), .shutdownWriteAndLinger)
        XCTAssertEqual(wire.machine.state, .lingering(Deadline(reason: .linger, instant: 200)))
    }

    func testBodyTimeoutStartsWhenTheHeadEnds() {
        var wire = Wire()
        wire.receive("PATCH /j HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{", now: 5)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .body, instant: 205))
        XCTAssertEqual(wire.machine.timerFired(now: 205), .answerTimeout)
    }

    func testContinueStartsTheBodyTimeout() {
        var wire = Wire()
        wire.receive("PATCH /j HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", now: 7)
        XCTAssertEqual(wire.continues, 1)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .body, instant: 207))
        wire.receive("{}", now: 20)
        XCTAssertEqual(wire.handed.map(\.target), ["/j"])
    }

    func testPipelinedRequestsAreHandedOverOneAtATimeInOrder() {
        var wire = Wire()
        wire.receive("GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n"
                     + "GET /three HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(wire.handed.map(\.target), ["/one"], "the rest waits in the input buffer")
        XCTAssertEqual(wire.machine.state, handling(keepAlive11))
        XCTAssertNil(wire.machine.deadline, "a request in flight has no deadline")
        XCTAssertTrue(wire.machine.wantsToRead(bufferedInput: 100, unsentOutput: 0), "reads on to notice a leaving client")
        XCTAssertEqual(wire.respond(), keepAlive11)
        XCTAssertEqual(wire.handed.map(\.target), ["/one", "/two"])
        XCTAssertEqual(wire.respond(), keepAlive11)
        XCTAssertEqual(wire.respond(), keepAlive11)
        XCTAssertEqual(wire.handed.map(\.target), ["/one", "/two", "/three"])
        XCTAssertEqual(wire.machine.state, .open(.awaitingRequest(Deadline(reason: .idle, instant: 300)), writeBlocked: nil))
    }

    func testSynchronousResponseIsWrittenByTheDispatchingLoop() {
        var machine = Machine(timeouts: timeouts, now: 0)
        machine.requestParsed(keepAlive: true, version: .http1_1, isHead: false)
        XCTAssertEqual(machine.state, handling(keepAlive11, running: true))
        let (_, resumeInput) = machine.responseReady(closesConnection: false, now: 3)
        XCTAssertFalse(resumeInput, "the loop that called the handler goes on with the next request")
        machine.handlerReturned()
        XCTAssertTrue(machine.mayParse(unsentOutput: 10))
    }

    func testConnectionCloseIsAnsweredThenLingers() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: a\r\n\r\n")
        let framing = wire.respond(now: 10)
        XCTAssertFalse(framing.keepAlive)
        XCTAssertEqual(wire.handed.count, 1, "nothing after Connection: close is read")
        XCTAssertEqual(wire.machine.bytesArrived(), .discard)
        XCTAssertEqual(wire.machine.outputFlushed(now: 20), .shutdownWriteAndLinger)
        XCTAssertTrue(wire.machine.wantsToRead(bufferedInput: 0, unsentOutput: 0), "lingering reads and drops")
        XCTAssertEqual(wire.machine.bytesArrived(), .discard)
        XCTAssertEqual(wire.machine.peerHalfClosedWhileNotReading(), .none)
        XCTAssertEqual(wire.machine.peerFinishedSendingInput(), .close(cancellingRequest: false))
    }

    func testLingerEndsAtItsDeadline() {
        var machine = Machine(timeouts: timeouts, now: 0)
        machine.requestParsed(keepAlive: false, version: .http1_1, isHead: false)
        _ = machine.responseReady(closesConnection: false, now: 0)
        XCTAssertEqual(machine.outputFlushed(now: 100), .shutdownWriteAndLinger)
        XCTAssertEqual(machine.timerFired(now: 149), .none)
        XCTAssertEqual(machine.timerFired(now: 150), .close(cancellingRequest: false))
    }

    func testHTTP10ClosesUnlessItAsksForKeepAlive() {
        var plain = Wire()
        plain.receive("GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(plain.respond(), Machine.ResponseFraming(keepAlive: false, version: .http1_0, omitsBody: false))
        var kept = Wire()
        kept.receive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(kept.respond(), Machine.ResponseFraming(keepAlive: true, version: .http1_0, omitsBody: false))
    }

    func testHeadOmitsTheBody() {
        var wire = Wire()
        wire.receive("HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(wire.respond(), Machine.ResponseFraming(keepAlive: true, version: .http1_1, omitsBody: true))
    }

    func testVerbatimResponseClosesTheConnection() {
        var machine = Machine(timeouts: timeouts, now: 0)
        machine.requestParsed(keepAlive: true, version: .http1_1, isHead: false)
        machine.handlerReturned()
        XCTAssertFalse(machine.responseReady(closesConnection: true, now: 0).framing.keepAlive)
        XCTAssertEqual(machine.state, .open(.closingAfterOutput, writeBlocked: nil))
    }

    func testParseErrorIsAnsweredThenLingers() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(wire.errors.count, 1)
        XCTAssertTrue(wire.handed.isEmpty)
        XCTAssertFalse(wire.machine.mayParse(unsentOutput: 0), "framing after an error cannot be trusted")
        XCTAssertEqual(wire.machine.outputFlushed(now: 0), .shutdownWriteAndLinger)
    }

    func testHalfCloseWhileHandlingCancelsTheRequest() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(wire.machine.peerFinishedSendingInput(), .close(cancellingRequest: true))
        XCTAssertTrue(wire.machine.isClosed)
    }

    func testHalfCloseWhileReadsArePausedClosesAndCancels() {
        var machine = Machine(timeouts: timeouts, now: 0)
        machine.requestParsed(keepAlive: true, version: .http1_1, isHead: false)
        XCTAssertEqual(machine.peerHalfClosedWhileNotReading(), .close(cancellingRequest: true))
        XCTAssertEqual(machine.peerReset(), .none, "closing happens once")
    }

    func testHalfCloseBetweenRequestsAnswersWhatIsBufferedThenCloses() {
        var wire = Wire()
        wire.receive("GET /last HTTP/1.1\r\nHost: a\r\n\r\nGET /cut")
        XCTAssertEqual(wire.respond(), keepAlive11)
        XCTAssertEqual(wire.machine.peerFinishedSendingInput(), .parseRemaining)
        wire.parseWhileAllowed()
        XCTAssertEqual(wire.machine.state, .open(.closingAfterOutput, writeBlocked: nil), "the cut request never completes")
        XCTAssertEqual(wire.machine.outputFlushed(now: 0), .shutdownWriteAndLinger)
    }

    func testPeerResetWhileIdleClosesWithoutCancelling() {
        var machine = Machine(timeouts: timeouts, now: 0)
        XCTAssertEqual(machine.peerReset(), .close(cancellingRequest: false))
    }

    func testIdleKeepAliveTimeoutRunsFromTheLastWrite() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = wire.respond(now: 10)
        XCTAssertEqual(wire.machine.outputFlushed(now: 25), .none)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .idle, instant: 325))
        XCTAssertEqual(wire.machine.timerFired(now: 325), .close(cancellingRequest: false))
    }

    func testBlockedOutputIsBoundByTheWriteTimeoutRestartedByProgress() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = wire.respond(now: 0)
        wire.machine.outputBlocked(afterProgress: false, now: 10)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .write, instant: 410))
        wire.machine.outputBlocked(afterProgress: false, now: 50)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .write, instant: 410), "no progress, no extension")
        wire.machine.outputBlocked(afterProgress: true, now: 60)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .write, instant: 460))
        wire.receive("GET /next HTTP/1.1\r\nHost: a\r\nX: ", now: 70)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .write, instant: 460), "the unread response comes first")
        XCTAssertEqual(wire.machine.timerFired(now: 460), .close(cancellingRequest: false), "no 408 behind an unread answer")
    }

    /// A connection whose first response is written at 0 and blocks at once: the client is not reading.
    private func wireWithBlockedResponse() -> Wire {
        var wire = Wire()
        wire.receive("GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = wire.respond(now: 0)
        wire.machine.outputBlocked(afterProgress: false, now: 0)
        return wire
    }

    func testHeadDeadlineAppliesAgainOnceBlockedOutputIsWritten() {
        var wire = wireWithBlockedResponse()
        wire.receive("GET /next HTTP/1.1\r\n", now: 20)
        XCTAssertEqual(wire.machine.outputFlushed(now: 30), .none)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .header, instant: 120))
    }

    func testBlockedOutputHasNoDeadlineWhileARequestIsHandledAndRestartsAfter() {
        var wire = wireWithBlockedResponse()
        wire.receive("GET /b HTTP/1.1\r\nHost: a\r\n\r\n", now: 10)
        XCTAssertEqual(wire.handed.count, 2)
        XCTAssertNil(wire.machine.deadline)
        XCTAssertEqual(wire.machine.timerFired(now: 10_000), .none)
        _ = wire.respond(now: 900)
        XCTAssertEqual(wire.machine.deadline, Deadline(reason: .write, instant: 1_300))
    }

    func testWriteBackpressureStopsReadingAndParsing() {
        var wire = Wire()
        wire.receive("GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        let backedUp = Machine.outputHighWater
        _ = wire.machine.responseReady(closesConnection: false, now: 0)
        XCTAssertFalse(wire.machine.wantsToRead(bufferedInput: 0, unsentOutput: backedUp))
        XCTAssertFalse(wire.machine.mayParse(unsentOutput: backedUp))
        XCTAssertTrue(wire.machine.wantsToRead(bufferedInput: 0, unsentOutput: backedUp - 1))
        XCTAssertTrue(wire.machine.mayParse(unsentOutput: backedUp - 1))
        XCTAssertFalse(wire.machine.wantsToRead(bufferedInput: Machine.readAheadLimit, unsentOutput: 0),
                       "pipelined input is bounded too")
    }

    func testDrainWhileIdleClosesAtOnce() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = wire.respond()
        _ = wire.machine.outputFlushed(now: 0)
        XCTAssertEqual(wire.machine.drainRequested(), .close)
        XCTAssertTrue(wire.machine.isClosed)
    }

    func testDrainWhileHandlingAnswersWithConnectionCloseThenLingers() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(wire.machine.drainRequested(), .none)
        XCTAssertFalse(wire.respond().keepAlive)
        XCTAssertEqual(wire.handed.count, 1, "no new request starts during a drain")
        XCTAssertEqual(wire.machine.outputFlushed(now: 0), .shutdownWriteAndLinger)
    }

    func testDrainWhileReadingARequestFinishesItWithoutKeepAlive() {
        var wire = Wire()
        wire.receive("PATCH /j HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{")
        XCTAssertEqual(wire.machine.drainRequested(), .none)
        wire.receive("}")
        XCTAssertEqual(wire.handed.count, 1)
        XCTAssertFalse(wire.respond().keepAlive)
    }

    func testDrainWhileAResponseIsBlockedClosesAfterIt() {
        var wire = Wire()
        wire.receive("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = wire.respond()
        wire.machine.outputBlocked(afterProgress: false, now: 0)
        XCTAssertEqual(wire.machine.drainRequested(), .none)
        XCTAssertEqual(wire.machine.outputFlushed(now: 0), .shutdownWriteAndLinger)
    }

    func testBlankLinesBeforeARequestKeepTheConnectionIdle() {
        var wire = Wire()
        wire.receive("\r")
        XCTAssertEqual(wire.machine.deadline?.reason, .header)
        wire.receive("\n")
        XCTAssertEqual(wire.machine.state, .open(.awaitingRequest(Deadline(reason: .header, instant: 100)), writeBlocked: nil))
    }
}
