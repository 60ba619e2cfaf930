import XCTest
import JobGateHTTP
import JobGatePosix
import JobGateJSON
import JobGateUpstream
@testable import JobGate
@testable import JobGateCore

/// What the vendors' own artefacts taught us (issue 13), as pure translation: no data lost on replacement,
/// honest answers, tokens that are renewed before they expire.
final class ReplacementTests: XCTestCase {
    func update(_ vendor: String, _ patch: String, id: String, minimal: Bool = false) throws -> [PlannedCall]? {
        let mapping = try mapping(vendor)
        guard case .success(let validated) = PatchValidator.validate(try object(patch), mapping: mapping) else {
            XCTFail("patch rejected")
            return nil
        }
        return Planner.update(validated, vendorJobID: id, mapping: mapping, returnMinimal: minimal)
    }

    func testDeckPatchWithoutPromptsIsRefusedNamingIt() throws {
        let result = try errors("deck", #"{"name":"x","vendorFields":{"code":"c","input_schema":{},"output_schema":{}}}"#)
        XCTAssertEqual(try JSON.parse(Array(result.utf8)).objectValue?.keys, ["vendorFields.prompts"])
        XCTAssertEqual(try errors("deck", #"{"name":"x","vendorFields":{"code":"c","input_schema":{},"output_schema":{},"prompts":null}}"#), "accepted")
    }

    func testByteNiteReadsOnceThenSendsEachPartWhole() throws {
        let calls = try XCTUnwrap(update("bytenite", #"{"name":"n","vendorFields":{"configs":{"isTestJob":true},"dataSource":{"dataSourceDescriptor":"url"}}}"#, id: "j-1"))
        XCTAssertEqual(calls.map(\.name), ["read", "jobname", "configs", "datasource"])
        XCTAssertEqual(calls.map(\.purpose), [.mergeBase, .write, .write, .write])
        XCTAssertEqual(calls.map(\.mergesWithRead), [false, false, true, true])

        let current = try json(#"{"name":"old","config":{"taskTimeout":"600","jobTimeout":3600,"isTestJob":false},"dataSource":{"dataSourceDescriptor":"bucket","params":{"@type":"x","bucket":"b"}},"dataDestination":{"dataSourceDescriptor":"bucket","params":{"@type":"y"}}}"#)
        let mapping = try mapping("bytenite")
        XCTAssertEqual(text(Planner.merged(calls[2], currentJob: current, mapping: mapping)),
                       #"{"taskTimeout":600,"jobTimeout":3600,"isTestJob":true}"#, "int64 read as a string goes back as a number")
        // The datasource body is one message: the part the patch leaves out is sent as it is, not dropped.
        XCTAssertEqual(text(Planner.merged(calls[3], currentJob: current, mapping: mapping)),
                       #"{"dataSource":{"dataSourceDescriptor":"url","params":{"@type":"x","bucket":"b"}},"dataDestination":{"dataSourceDescriptor":"bucket","params":{"@type":"y"}}}"#)
        XCTAssertEqual(text(Planner.merged(calls[1], currentJob: current, mapping: mapping)), #""n""#, "jobname is not merged")
        XCTAssertTrue(try errors("bytenite", #"{"vendorFields":{"configs":{"taskTimeout":"soon"}}}"#).contains("'taskTimeout' must be an integer"))
    }

    func testByteNiteNameAloneNeedsNoRead() throws {
        XCTAssertEqual(try XCTUnwrap(update("bytenite", #"{"name":"n"}"#, id: "j-1")).map(\.name), ["jobname"])
    }

    func testMergePatchFollowsRFC7396() throws {
        XCTAssertEqual(text(JSONMergePatch.apply(try json(#"{"a":{"b":null,"c":2},"d":[1]}"#), to: try json(#"{"a":{"b":1,"e":3},"d":[0,0],"f":4}"#))),
                       #"{"a":{"e":3,"c":2},"d":[1],"f":4}"#)
        XCTAssertEqual(text(JSONMergePatch.apply(try json(#"{"a":1}"#), to: .string("x"))), #"{"a":1}"#)
        XCTAssertEqual(text(JSONMergePatch.apply(.number(JSONNumber(5)), to: try json(#"{"a":1}"#))), "5")
    }

    func testEmptyPatchWritesNothingAndReadsTheJob() throws {
        let shop = try XCTUnwrap(update("shopplanr", "{}", id: "job_1"))
        XCTAssertEqual(shop.map(\.method), ["GET"])
        XCTAssertEqual(shop.map(\.purpose), [.read])
        XCTAssertEqual(try XCTUnwrap(update("bigchange", "{}", id: "7", minimal: true)).map(\.purpose), [.read])
        XCTAssertEqual(try XCTUnwrap(update("bytenite", "{}", id: "j")).map(\.purpose), [.read])
    }

    func testBigChangeReadsBackUnlessMinimal() throws {
        XCTAssertEqual(try XCTUnwrap(update("bigchange", #"{"reference":"r"}"#, id: "7")).map(\.purpose), [.write, .readBack])
        XCTAssertEqual(try XCTUnwrap(update("bigchange", #"{"reference":"r"}"#, id: "7", minimal: true)).map(\.purpose), [.write])
    }

    func testZeroFractionIsAnIntegerSentPlain() throws {
        for literal in ["14.0", "1.4e1", "140e-1", "14"] {
            let calls = try plan("shopplanr", #"{"goalQuantity":\#(literal)}"#, id: "job_1")
            XCTAssertEqual(text(calls.first?.body), #"{"goalQuantity":14}"#, literal)
        }
        for literal in ["14.5", "1e30", "9007199254740993.0", "0.0"] {
            XCTAssertTrue(try errors("shopplanr", #"{"goalQuantity":\#(literal)}"#).contains("goalQuantity"), literal)
        }
    }

    func testExactSafeInteger() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("-0.0", 0), ("14.000", 14), ("1e1", 10), ("1E+2", 100), ("-2.50e1", -25), ("1.5", nil),
            ("1e-1", nil), ("9007199254740992", 9_007_199_254_740_992), ("9007199254740993", nil), ("1e21", nil),
            ("90071992547409921e-1", nil), ("0.00001e5", 1),
        ]
        for (literal, expected) in cases {
            XCTAssertEqual(JSONNumber(literal: literal)?.exactSafeInteger, expected, literal)
        }
    }
}

final class HonestAnswerTests: XCTestCase {
    func summary(_ vendor: String, status: Int, _ body: String, headers: [(name: String, value: String)] = []) throws -> UpstreamErrorSummary {
        let response = UpstreamResponse(status: status, headers: headers, body: Array(body.utf8))
        return Normalizer.summarize(response, mapping: try mapping(vendor), redactor: try loadMappings().redactor, now: 1_800_000_000)
    }

    func testLiltRateLimitWithoutRetryAfterWaitsTheDocumentedMinute() throws {
        let problem = UpstreamProblems.problem(for: try summary("lilt", status: 429, #"{"message":"Too many requests"}"#), vendor: "lilt")
        XCTAssertEqual(problem.status, 429)
        XCTAssertTrue(problem.headers.contains { $0 == (name: "Retry-After", value: "60") })
        let told = UpstreamProblems.problem(for: try summary("lilt", status: 429, "{}", headers: [(name: "Retry-After", value: "7")]), vendor: "lilt")
        XCTAssertTrue(told.headers.contains { $0 == (name: "Retry-After", value: "7") }, "the vendor's own header wins")
    }

    func testShopPlanrErrorExcerptIsCompactAndHasNoInternalAddress() throws {
        let nitro = """
        {
          "error": true,
          "url": "http://10.0.3.7:3000/api/jobs/job_1",
          "statusCode": 400,
          "statusMessage": "Bad Request",
          "message": "goalQuantity: Too small: expected number to be >0"
        }
        """
        let summary = try summary("shopplanr", status: 400, nitro)
        XCTAssertEqual(summary.excerpt, #"{"error":true,"statusCode":400,"statusMessage":"Bad Request","message":"goalQuantity: Too small: expected number to be >0"}"#)
        let problem = UpstreamProblems.problem(for: summary, vendor: "shopplanr")
        XCTAssertEqual(problem.status, 422)
        XCTAssertEqual(problem.extensions["errors"]?.objectValue?.keys, ["goalQuantity"])
    }

    func testEchoedCredentialsAreFoundWithoutCopyingAndScrubbedValueByValue() throws {
        let redactor = Redactor([Secret("2468"), Secret("key-canary")])
        XCTAssertFalse(redactor.occurs(in: Array(#"{"goalQuantity":75,"name":"Docs"}"#.utf8)))
        XCTAssertTrue(redactor.occurs(in: Array(#"{"note":"sent key-canary"}"#.utf8)))
        let job = try json(#"{"goalQuantity":2468,"note":"pin 2468","key-canary":1}"#)
        // A secret of digits inside a number: the number becomes the redaction string, never broken JSON.
        XCTAssertEqual(text(RawAnswers.scrubbed(job, redactor)), #"{"goalQuantity":"[redacted]","note":"pin [redacted]","[redacted]":1}"#)
    }

    func testBigChangeCustomFieldsAreReadFromNestedDefinitions() throws {
        let body = #"{"id":1001,"customFields":[{"definition":{"id":7,"caption":"Colour"},"value":"blue"},{"definitionId":8,"value":null},{"value":"no key"}]}"#
        let job = try XCTUnwrap(Normalizer.job(from: try json(body), vendorJobID: "1001", mapping: try mapping("bigchange")))
        XCTAssertEqual(text(job.objectValue?["customFields"]), #"{"7":"blue","8":null}"#)
    }

    func testJobAsFarAsKnownFromThePatch() throws {
        let mapping = try mapping("bigchange")
        guard case .success(let patch) = PatchValidator.validate(try object(#"{"reference":"R-9","plannedDurationMinutes":30.0}"#), mapping: mapping) else {
            return XCTFail("patch rejected")
        }
        let known = Normalizer.job(from: patch, vendorJobID: "1001", mapping: mapping)
        var failure = Problem(.forbidden, status: 403, title: "Forbidden by the vendor", detail: "bigchange forbids this read.")
        failure.extensions["upstreamStatus"] = 403
        let answer = Normalizer.withReadBackFailure(known, failure)
        XCTAssertEqual(text(answer), #"{"id":"bigchange:1001","vendor":"bigchange","vendorJobId":"1001","reference":"R-9","plannedDurationMinutes":30,"vendorData":{},"readBack":{"type":"https://jobgate.dev/problems/forbidden","title":"Forbidden by the vendor","status":403,"detail":"bigchange forbids this read.","upstreamStatus":403}}"#)
    }
}

final class TokenTests: XCTestCase {
    func jwt(_ claims: String) -> String {
        Base64.encode(Array(#"{"alg":"ES256","typ":"JWT"}"#.utf8), urlSafe: true) + "."
            + Base64.encode(Array(claims.utf8), urlSafe: true) + ".c2lnbmF0dXJl"
    }

    func testJWTExpiryIsReadFromThePayload() {
        XCTAssertEqual(JWT.expiry(of: jwt(#"{"sub":"user_1","exp":1800000000,"iat":1799913600}"#)), 1_800_000_000)
        XCTAssertNil(JWT.expiry(of: "not-a-jwt"))
        XCTAssertNil(JWT.expiry(of: jwt(#"{"sub":"x"}"#)))
        XCTAssertNil(JWT.expiry(of: "a.!!!.c"))
    }

    func testStaticTokenWarningsForExpiredAndExpiringTokens() {
        let now = 1_800_000_000.0
        XCTAssertTrue(JWT.expiryWarning(for: jwt(#"{"exp":1799999000}"#), now: now)?.contains("expired") == true)
        XCTAssertTrue(JWT.expiryWarning(for: jwt(#"{"exp":1800003600}"#), now: now)?.contains("within a day") == true)
        XCTAssertNil(JWT.expiryWarning(for: jwt(#"{"exp":1800172800}"#), now: now))
        XCTAssertNil(JWT.expiryWarning(for: "opaque-token", now: now))
    }

    func testLoginAnswerLifetimeComesFromTheJWT() throws {
        let source = try XCTUnwrap({ () -> TokenSource? in
            if case .token(let source) = try mapping("shopplanr").auth { return source }
            return nil
        }())
        let exchange = try XCTUnwrap(source.exchange)
        let now = 1_800_000_000.0
        let login = UpstreamResponse(status: 200, headers: [], body: Array(#"{"token":"\#(jwt(#"{"exp":1800086400}"#))"}"#.utf8))
        let answer = try TokenAnswer.read(.success(login), exchange: exchange, vendor: "shopplanr", now: now).get()
        XCTAssertEqual(answer.lifetimeSeconds, 86_400)
        XCTAssertEqual(answer.renewAfterSeconds, 86_100, "five minutes before a day-long token expires")
        let short = UpstreamResponse(status: 200, headers: [], body: Array(#"{"token":"\#(jwt(#"{"exp":1800000005}"#))"}"#.utf8))
        XCTAssertEqual(try TokenAnswer.read(.success(short), exchange: exchange, vendor: "shopplanr", now: now).get().renewAfterSeconds, 4)

        let expired = UpstreamResponse(status: 200, headers: [], body: Array(#"{"token":"\#(jwt(#"{"exp":1700000000}"#))"}"#.utf8))
        XCTAssertThrowsError(try TokenAnswer.read(.success(expired), exchange: exchange, vendor: "shopplanr", now: now).get())
        let refused = UpstreamResponse(status: 401, headers: [], body: Array(#"{"message":"Unauthorized"}"#.utf8))
        XCTAssertThrowsError(try TokenAnswer.read(.success(refused), exchange: exchange, vendor: "shopplanr", now: now).get()) { error in
            XCTAssertEqual((error as? TokenAnswer.Failure)?.problem.status, 502)
            XCTAssertNil((error as? TokenAnswer.Failure)?.retryAfterSeconds)
        }
        let limited = UpstreamResponse(status: 429, headers: [(name: "Retry-After", value: "12")], body: [])
        XCTAssertThrowsError(try TokenAnswer.read(.success(limited), exchange: exchange, vendor: "shopplanr", now: now).get()) { error in
            XCTAssertEqual((error as? TokenAnswer.Failure)?.problem.status, 429)
            XCTAssertEqual((error as? TokenAnswer.Failure)?.retryAfterSeconds, 12)
        }
    }

    func testRateLimitWindowsShareOneBudget() throws {
        let limits = try mapping("shopplanr").rateLimits
        XCTAssertEqual(limits.map(\.requests), [500, 1000, 25_000])
        let start = MonotonicInstant(nanoseconds: 1_000_000_000_000)
        let limiter = try XCTUnwrap(RateLimiter([RateLimit(requests: 3, perSeconds: 1), RateLimit(requests: 4, perSeconds: 60)], now: start))
        XCTAssertEqual((0..<3).map { _ in limiter.acquire(now: start) }, [nil, nil, nil])
        XCTAssertEqual(limiter.acquire(now: start), 1, "the one-second window is empty")
        XCTAssertNil(limiter.acquire(now: start + .seconds(1)), "refilled after a second; the minute window still has one")
        XCTAssertEqual(limiter.acquire(now: start + .seconds(2)), 13, "the minute window (4/min, one per 15 s) has 2 s of refill left over")
        XCTAssertEqual(limiter.acquire(now: start + .seconds(1)), 13, "an instant read a moment earlier on another loop: time does not run back")
        XCTAssertNil(RateLimiter([]))
        XCTAssertEqual(Base64.decode(Base64.encode(Array("any carnal pleas".utf8), urlSafe: true).utf8).map { String(decoding: $0, as: UTF8.self) }, "any carnal pleas")
        XCTAssertEqual(Base64.encode(Array("ab".utf8)), "YWI=")
        XCTAssertNil(Base64.decode("a".utf8))
    }
}
