import XCTest
import JobGatePosix
import JobGateJSON
import JobGateUpstream
@testable import JobGate
@testable import JobGateCore

/// Every transition of an update's execution, time passed in: no sockets, no clock.
final class UpdateExecutionStateMachineTests: XCTestCase {
    typealias Machine = UpdateExecutionStateMachine
    let second = Interval.seconds(1)
    /// The instant `offset` after an arbitrary start of the monotonic clock.
    func at(_ offset: Interval) -> MonotonicInstant { MonotonicInstant(nanoseconds: 1_000_000_000_000) + offset }
    let token = Secret("token-1")

    /// The machine for `patch` of job 7 at `vendor`: the plan `Planner.update` makes, calls timing out after 10 s.
    func machine(_ vendor: String, _ patch: String, deadline: Interval? = nil) throws -> Machine {
        let mapping = try mapping(vendor)
        let validated = try PatchValidator.validate(try object(patch), mapping: mapping).get()
        let calls = try XCTUnwrap(Planner.update(validated, vendorJobID: "7", mapping: mapping, returnMinimal: false))
        var options = UpstreamOptions()
        options.timeout = .seconds(10)
        return Machine(calls: calls, mapping: mapping, options: options, deadline: deadline.map(at),
                       needsToken: VendorRuntime(mapping: mapping, defaultTimeout: 10).tokens != nil,
                       redactor: Redactor([]))
    }

    func response(_ status: Int, _ body: String = "", headers: [(name: String, value: String)] = []) -> UpstreamResponse {
        UpstreamResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    // MARK: Tokens

    func testTokenThenCall() throws {
        var execution = try machine("shopplanr", #"{"name":"Bracket"}"#)
        XCTAssertTrue(execution.start(now: at(.zero)).fetchesToken(refused: nil))
        XCTAssertEqual(execution.state, .awaitingToken(step: 0, attempt: 0))
        let call = try XCTUnwrap(execution.tokenDelivered(token, now: at(second)).sentCall)
        XCTAssertEqual(call.token, token)
        XCTAssertEqual(call.options.timeout, .seconds(10))
        XCTAssertTrue(call.options.idempotent, "a PUT may be repeated by the client")
        XCTAssertEqual(text(try json(String(decoding: call.body, as: UTF8.self))), #"{"name":"Bracket"}"#)
        XCTAssertEqual(execution.state, .calling(step: 0, attempt: 0, token: token, sentAt: at(second)))

        let (report, next) = try XCTUnwrap(execution.answered(response(200, #"{"id":7,"name":"Bracket"}"#), now: at(second * 3)).recorded)
        XCTAssertEqual(report.verdict, .success)
        XCTAssertEqual(report.duration, .seconds(2))
        XCTAssertNil(report.failureKind)
        let outcome = try XCTUnwrap(next.outcome)
        XCTAssertEqual(text(try XCTUnwrap(outcome.body)), #"{"id":7,"name":"Bracket"}"#)
        XCTAssertEqual(outcome.steps.map(\.name), ["update"])
        XCTAssertEqual(outcome.steps.map(\.applied), [true])
        XCTAssertNil(outcome.readBackFailure)
        XCTAssertEqual(execution.state, .finished)
    }

    func testTokenFailureEndsTheUpdateWithItsProblem() throws {
        var execution = try machine("shopplanr", #"{"name":"Bracket"}"#)
        _ = execution.start(now: at(.zero))
        let refusal = Problem(.rateLimited, status: 429, title: "Vendor rate limit reached", detail: "slow down")
        XCTAssertEqual(try XCTUnwrap(execution.tokenFailed(refusal).outcome?.problem?.detail), "slow down")
        XCTAssertEqual(execution.state, .finished)
    }

    func testA401FetchesOneNewTokenThenTriesAgain() throws {
        var execution = try machine("shopplanr", #"{"name":"Bracket"}"#)
        _ = execution.start(now: at(.zero))
        _ = execution.tokenDelivered(token, now: at(.zero))
        let (report, next) = try XCTUnwrap(execution.answered(response(401), now: at(second)).recorded)
        XCTAssertEqual(report.verdict, .success, "a 401 is our credentials, not the vendor failing")
        XCTAssertTrue(next.fetchesToken(refused: token), "the refused token is forgotten before fetching")
        XCTAssertEqual(execution.state, .awaitingToken(step: 0, attempt: 0))

        let renewed = Secret("token-2")
        XCTAssertEqual(try XCTUnwrap(execution.tokenDelivered(renewed, now: at(second)).sentCall?.token), renewed)
        let problem = try XCTUnwrap(execution.answered(response(401), now: at(second * 2)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 502, "no second re-fetch: the configured credentials are wrong")
        XCTAssertEqual(problem.kind, .upstreamAuth)
        XCTAssertEqual(problem.extensions["attempts"]?.arrayValue?.count, 2)
    }

    func testA401WithoutATokenExchangeIsFinal() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        let problem = try XCTUnwrap(execution.answered(response(401), now: at(second)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.kind, .upstreamAuth)
    }

    // MARK: Retries

    func testRetryAfterA503WaitsWhatTheVendorAsksWithinTheCallsTimeout() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        // An HTTP-date two seconds after the answer came.
        let retryAfter = response(503, headers: [(name: "Retry-After", value: "Wed, 02 Dec 2026 15:00:02 GMT")])
        let (report, next) = try XCTUnwrap(execution.answered(retryAfter, now: at(second)).recorded)
        XCTAssertEqual(report.verdict, .failure)
        XCTAssertEqual(next.backoffSeconds, 2)
        XCTAssertEqual(execution.state, .backingOff(step: 0, attempt: 1))

        let retry = try XCTUnwrap(execution.backoffElapsed(now: at(second * 3)).sentCall)
        XCTAssertEqual(retry.options.timeout, .seconds(7), "a retry gets what is left of the call's timeout")
        XCTAssertEqual(execution.state, .calling(step: 0, attempt: 1, token: nil, sentAt: at(second * 3)))
        let outcome = try XCTUnwrap(execution.answered(response(200, #"{"id":7}"#), now: at(second * 4)).recorded?.next.outcome)
        XCTAssertEqual(text(try XCTUnwrap(outcome.body)), #"{"id":7}"#)
        XCTAssertEqual(outcome.steps.count, 1)
    }

    func testRetryAfterBeyondTheCallsTimeoutIsPassedOnAtOnce() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        // 3 s used + 7 s asked = the whole 10 s timeout: waiting would answer the caller too late.
        let retryAfter = response(503, headers: [(name: "Retry-After", value: "7")])
        let problem = try XCTUnwrap(execution.answered(retryAfter, now: at(second * 3)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 503)
        XCTAssertEqual(problem.headers.first { $0.name == "Retry-After" }?.value, "7")
        XCTAssertNil(problem.extensions["attempts"], "tried once")
    }

    func testARetryMustLeaveTheCallAQuarterOfItsTimeout() throws {
        // 1 s used + 6 s asked leaves 3 s, more than a quarter of 10 s: retried. 1 s + 7 s leaves 2 s: waiting
        // that long only to time out would turn an honest 503 into a 504.
        var fits = try machine("lilt", #"{"name":"Docs"}"#)
        _ = fits.start(now: at(.zero))
        let six = response(503, headers: [(name: "Retry-After", value: "6")])
        XCTAssertEqual(try XCTUnwrap(fits.answered(six, now: at(second)).recorded).next.backoffSeconds, 6)
        var tooLate = try machine("lilt", #"{"name":"Docs"}"#)
        _ = tooLate.start(now: at(.zero))
        let seven = response(503, headers: [(name: "Retry-After", value: "7")])
        XCTAssertEqual(try XCTUnwrap(tooLate.answered(seven, now: at(second)).recorded?.next.outcome?.problem).status, 503)
    }

    func testA429WithoutRetryAfterGetsTheDocumentedWait() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        let problem = try XCTUnwrap(execution.answered(response(429), now: at(second)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 429)
        XCTAssertEqual(problem.headers.first { $0.name == "Retry-After" }?.value, "60", "LILT's documented wait")
    }

    func testRetriesStopWhenAttemptsAreUsedUp() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        var now = at(.zero)
        var action = execution.start(now: now)
        for attempt in 1...2 {
            _ = try XCTUnwrap(action.sentCall)
            now = now + second / 10
            let seconds = try XCTUnwrap(execution.answered(response(502), now: now).recorded?.next.backoffSeconds)
            let step = 0.1 * Double(1 << (attempt - 1))
            XCTAssertTrue((step / 2...step).contains(seconds), "backoff \(seconds) with jitter of a \(step) s step")
            now = now + .seconds(seconds)
            action = execution.backoffElapsed(now: now)
        }
        _ = try XCTUnwrap(action.sentCall)
        let problem = try XCTUnwrap(execution.answered(response(502), now: now + second / 10).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 502)
        XCTAssertEqual(problem.extensions["attempts"]?.arrayValue?.count, 3)
    }

    func testNoRetryForACallThatIsNotIdempotent() throws {
        var execution = try machine("bigchange", #"{"plannedDurationMinutes":90}"#)
        _ = execution.start(now: at(.zero))
        let write = try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall)
        XCTAssertFalse(write.options.idempotent, "a PATCH is never sent twice")
        let answer = response(503, headers: [(name: "Retry-After", value: "1")])
        let problem = try XCTUnwrap(execution.answered(answer, now: at(second)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 503)
        XCTAssertEqual(problem.extensions["applied"], .array([]))
        XCTAssertEqual(problem.extensions["failed"], .string("update"))
    }

    func testNoRetryForAWriteThatMayHaveLanded() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        let (report, next) = try XCTUnwrap(execution.callFailed(.timeout(requestSent: true), now: at(second * 10)).recorded)
        XCTAssertEqual(report.verdict, .failure)
        XCTAssertEqual(report.failureKind, "timeout")
        let problem = try XCTUnwrap(next.outcome?.problem)
        XCTAssertEqual(problem.status, 504)
        XCTAssertEqual(problem.extensions["outcome"], .string("unknown"))
    }

    func testAWriteThatNeverLeftAndAReadThatWasSentAreRetried() throws {
        for (patch, failure) in [(#"{"name":"Docs"}"#, UpstreamFailure.connectionReset(requestSent: false)),
                                 ("{}", .timeout(requestSent: true))] {
            var execution = try machine("lilt", patch)
            _ = execution.start(now: at(.zero))
            XCTAssertNotNil(execution.callFailed(failure, now: at(second)).recorded?.next.backoffSeconds, "\(patch), \(failure)")
        }
    }

    // MARK: The caller's deadline

    func testTheDeadlineCutsTheCallsTimeout() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#, deadline: second * 5)
        XCTAssertEqual(try XCTUnwrap(execution.start(now: at(second)).sentCall?.options.timeout), .seconds(4))
    }

    func testADeadlinePassedBeforeTheCallSendsNothing() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#, deadline: second * 5)
        let problem = try XCTUnwrap(execution.start(now: at(second * 5)).outcome?.problem)
        XCTAssertEqual(problem.status, 504)
        XCTAssertEqual(problem.title, "Request-Timeout reached")
        XCTAssertEqual(execution.state, .finished)
    }

    func testADeadlinePassedWhileTheTokenCameSendsNothing() throws {
        var execution = try machine("shopplanr", #"{"name":"Bracket"}"#, deadline: second * 2)
        _ = execution.start(now: at(.zero))
        XCTAssertEqual(try XCTUnwrap(execution.tokenDelivered(token, now: at(second * 2)).outcome?.problem?.status), 504)
    }

    func testNoRetryWhoseWaitOutlivesTheDeadline() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#, deadline: second * 3)
        _ = execution.start(now: at(.zero))
        let retryAfter = response(503, headers: [(name: "Retry-After", value: "2")])
        let problem = try XCTUnwrap(execution.answered(retryAfter, now: at(second * 3 / 2)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 503)
    }

    // MARK: Cancellation

    func testCancelledBeforeStartOrAfterTheAnswerDoesNothing() throws {
        var unstarted = try machine("lilt", #"{"name":"Docs"}"#)
        XCTAssertTrue(unstarted.cancelled().isNone)
        XCTAssertEqual(unstarted.state, .finished, "nothing comes later")
        var answered = try machine("lilt", #"{"name":"Docs"}"#)
        _ = answered.start(now: at(.zero))
        _ = try XCTUnwrap(answered.answered(response(200, "{}"), now: at(second)).recorded?.next.outcome)
        XCTAssertTrue(answered.cancelled().isNone)
    }

    func testCancelledWhileAwaitingTheTokenDropsItWhenItComes() throws {
        var execution = try machine("shopplanr", #"{"name":"Bracket"}"#)
        _ = execution.start(now: at(.zero))
        XCTAssertTrue(execution.cancelled().isNone)
        XCTAssertTrue(execution.tokenDelivered(token, now: at(second)).isNone)
        XCTAssertTrue(execution.tokenFailed(Problem(.unavailable, status: 503, title: "", detail: "")).isNone)
        XCTAssertEqual(execution.state, .finished)
    }

    func testCancelledDuringACallAbandonsItWithoutAVerdict() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        guard case .cancelCall = execution.cancelled() else { return XCTFail("the call in progress is not stopped") }
        // A call the client could not start still answers later; nothing is reported for it.
        XCTAssertTrue(execution.callFailed(.protocolNotAllowed, now: at(second)).isNone)
        XCTAssertTrue(execution.answered(response(200, "{}"), now: at(second)).isNone)
    }

    func testCancelledWhileBackingOffDropsTheTimer() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        _ = execution.answered(response(503), now: at(second))
        XCTAssertEqual(execution.state, .backingOff(step: 0, attempt: 1))
        XCTAssertTrue(execution.cancelled().isNone)
        XCTAssertTrue(execution.backoffElapsed(now: at(second * 2)).isNone)
    }

    // MARK: Several calls

    func testWriteThenReadBackFetchesATokenForEachCall() throws {
        var execution = try machine("bigchange", #"{"plannedDurationMinutes":90}"#)
        _ = execution.start(now: at(.zero))
        XCTAssertEqual(try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall?.step), 0)
        let afterWrite = try XCTUnwrap(execution.answered(response(204), now: at(second)).recorded?.next)
        XCTAssertTrue(afterWrite.fetchesToken(refused: nil))
        XCTAssertEqual(execution.state, .awaitingToken(step: 1, attempt: 0))
        let read = try XCTUnwrap(execution.tokenDelivered(token, now: at(second)).sentCall)
        XCTAssertEqual(read.step, 1)
        XCTAssertTrue(read.body.isEmpty)
        let outcome = try XCTUnwrap(execution.answered(response(200, #"{"id":7}"#), now: at(second * 2)).recorded?.next.outcome)
        XCTAssertEqual(text(try XCTUnwrap(outcome.body)), #"{"id":7}"#)
        XCTAssertEqual(outcome.steps.map(\.name), ["update", "read"])
        XCTAssertEqual(outcome.steps.map(\.applied), [true, false])
        XCTAssertEqual(outcome.steps.map(\.status), [204, 200])
    }

    func testPartsAreMergedWithTheMergeBaseRead() throws {
        var execution = try machine("bytenite", #"{"name":"Render","vendorFields":{"params":{"app":"blender"}}}"#)
        _ = execution.start(now: at(.zero))
        XCTAssertEqual(try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall?.step), 0, "the job is read first")
        let current = #"{"job":{"name":"Old","params":{"preset":"fast","app":"gimp"}}}"#
        _ = try XCTUnwrap(execution.answered(response(200, current), now: at(second)).recorded)
        XCTAssertEqual(try XCTUnwrap(execution.tokenDelivered(token, now: at(second)).sentCall?.step), 1)
        _ = try XCTUnwrap(execution.answered(response(200, "{}"), now: at(second)).recorded)
        let params = try XCTUnwrap(execution.tokenDelivered(token, now: at(second)).sentCall)
        XCTAssertEqual(params.step, 2)
        let sentParams = try json(String(decoding: params.body, as: UTF8.self))
        XCTAssertEqual(sentParams.objectValue?["preset"], .string("fast"), "members the patch leaves out keep their value")
        XCTAssertEqual(sentParams.objectValue?["app"], .string("blender"))
        let outcome = try XCTUnwrap(execution.answered(response(200, #"{"ok":true}"#), now: at(second)).recorded?.next.outcome)
        XCTAssertEqual(outcome.steps.map(\.name), ["read", "jobname", "params"])
        XCTAssertEqual(outcome.steps.map(\.applied), [false, true, true])
    }

    func testAFailurePartWaySaysWhatWasApplied() throws {
        var execution = try machine("bytenite", #"{"name":"Render","vendorFields":{"params":{"app":"blender"}}}"#)
        _ = execution.start(now: at(.zero))
        for answer in [#"{"job":{"name":"Old","params":{}}}"#, "{}"] {
            _ = try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall)
            _ = try XCTUnwrap(execution.answered(response(200, answer), now: at(second)).recorded)
        }
        _ = try XCTUnwrap(execution.tokenDelivered(token, now: at(second)).sentCall)
        let refusal = response(400, #"{"code":3,"message":"bad app"}"#)
        let problem = try XCTUnwrap(execution.answered(refusal, now: at(second * 2)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 422)
        XCTAssertEqual(problem.extensions["applied"], .array([.string("jobname")]))
        XCTAssertEqual(problem.extensions["failed"], .string("params"))
        XCTAssertEqual(problem.extensions["steps"]?.arrayValue?.count, 3)
        XCTAssertTrue(problem.detail.hasSuffix("Some calls were applied before the failure: see 'applied'."))
    }

    func testAFailedMergeBaseReadWritesNothing() throws {
        var execution = try machine("bytenite", #"{"vendorFields":{"params":{"app":"blender"}}}"#)
        _ = execution.start(now: at(.zero))
        _ = try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall)
        let problem = try XCTUnwrap(execution.answered(response(404), now: at(second)).recorded?.next.outcome?.problem)
        XCTAssertEqual(problem.status, 404)
        XCTAssertEqual(problem.extensions["applied"], .array([]))
        XCTAssertEqual(problem.extensions["failed"], .string("read"))
    }

    func testAMergeBaseReadWithoutTheJobWritesNothing() throws {
        var execution = try machine("bytenite", #"{"vendorFields":{"params":{"app":"blender"}}}"#)
        _ = execution.start(now: at(.zero))
        _ = try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall)
        let outcome = try XCTUnwrap(execution.answered(response(200), now: at(second)).recorded?.next.outcome)
        XCTAssertEqual(try XCTUnwrap(outcome.problem?.status), 502)
        XCTAssertEqual(outcome.steps.map(\.applied), [false])
    }

    func testAFailedReadBackAfterALandedWriteIsASuccess() throws {
        var execution = try machine("bigchange", #"{"plannedDurationMinutes":90}"#)
        _ = execution.start(now: at(.zero))
        _ = try XCTUnwrap(execution.tokenDelivered(token, now: at(.zero)).sentCall)
        _ = try XCTUnwrap(execution.answered(response(204), now: at(second)).recorded)
        _ = try XCTUnwrap(execution.tokenDelivered(token, now: at(second)).sentCall)
        let forbidden = response(403, #"{"title":"Forbidden","detail":"needs jobs:read"}"#)
        let outcome = try XCTUnwrap(execution.answered(forbidden, now: at(second * 2)).recorded?.next.outcome)
        XCTAssertNil(try XCTUnwrap(outcome.body), "the write answered no job")
        XCTAssertEqual(outcome.readBackFailure?.status, 403)
        XCTAssertEqual(outcome.steps.map(\.applied), [true, false])
    }

    func testAMalformedBodyIsABadGateway() throws {
        var execution = try machine("lilt", #"{"name":"Docs"}"#)
        _ = execution.start(now: at(.zero))
        let outcome = try XCTUnwrap(execution.answered(response(200, "{\"id\":"), now: at(second)).recorded?.next.outcome)
        let problem = try XCTUnwrap(outcome.problem)
        XCTAssertEqual(problem.status, 502)
        XCTAssertEqual(problem.title, "Malformed vendor answer")
        XCTAssertEqual(outcome.steps.map(\.status), [200])
    }

    func testVerdictsBlameTheVendorOnlyForItsOwnFailures() throws {
        for (result, verdict): (Result<UpstreamResponse, UpstreamFailure>, CircuitBreakerStateMachine.Verdict) in [
            (.success(response(500)), .failure), (.success(response(404)), .success),
            (.failure(.connectionRefused), .failure), (.failure(.timeout(requestSent: true)), .failure),
        ] {
            var execution = try machine("deck", #"{"name":"N","vendorFields":{"code":"c","input_schema":{},"output_schema":{},"prompts":null}}"#)
            _ = execution.start(now: at(.zero))
            let action = switch result {
            case .success(let answer): execution.answered(answer, now: at(second))
            case .failure(let failure): execution.callFailed(failure, now: at(second))
            }
            XCTAssertEqual(try XCTUnwrap(action.recorded?.report.verdict), verdict, "\(result)")
        }
    }
}
