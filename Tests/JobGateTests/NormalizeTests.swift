import XCTest
import JobGateJSON
import JobGateUpstream
@testable import JobGate
@testable import JobGateCore

/// Pure translation back: vendor answers → canonical Job or problem.
final class NormalizeTests: XCTestCase {
    /// The job from the tree; where the normalizer can also write it straight from the body's members, that
    /// must be the same bytes.
    func normalize(_ vendor: String, _ body: String, id: String) throws -> String {
        let mapping = try mapping(vendor)
        let tree = text(Normalizer.job(from: try json(body), vendorJobID: id, mapping: mapping))
        if let object = try JSON.parseObjectMembers(Array(body.utf8)),
           let direct = Normalizer.jobBytes(from: object, vendorJobID: id, mapping: mapping) {
            XCTAssertEqual(String(decoding: direct, as: UTF8.self), tree, "written straight from the members")
        }
        return tree
    }

    func testJobWrittenStraightFromTheMembersWhereNothingNeedsConverting() throws {
        func direct(_ vendor: String, _ body: String) throws -> String? {
            let object = try XCTUnwrap(JSON.parseObjectMembers(Array(body.utf8)))
            return Normalizer.jobBytes(from: object, vendorJobID: "1", mapping: try mapping(vendor)).map { String(decoding: $0, as: UTF8.self) }
        }
        let body = #"{"id": 241, "name":"Docs \u00e9\/", "due":"2026-05-05T10:56:44.985Z","status":"active","stats":{ "numProjects": [1, 2] }}"#
        XCTAssertEqual(try direct("lilt", body), try normalize("lilt", body, id: "1"))
        XCTAssertEqual(try direct("lilt", body), #"{"id":"lilt:241","vendor":"lilt","vendorJobId":"241","name":"Docs é/","dueAt":"2026-05-05T10:56:44.985Z","vendorData":{"status":"active","stats":{"numProjects":[1,2]}}}"#)
        // An enum number to be answered as text, a timestamp to be made RFC 3339, a job under a member, formats
        // converted (BigChange's custom fields): the tree's way.
        XCTAssertNil(try direct("lilt", #"{"id":241,"isProcessing":0}"#))
        XCTAssertNil(try direct("bigchange", #"{"id":1,"createdAt":1700000000}"#))
        XCTAssertNil(try direct("bytenite", #"{"job":{"id":"7c1f"}}"#))
        XCTAssertNil(try direct("bigchange", #"{"id":1}"#))
    }

    func testDeckEpochTimestampsAndJobCode() throws {
        let job = try normalize("deck", #"{"name":"Invoices","job_code":"invoice-extractor","input_schema":{},"output_schema":{},"prompts":null,"created_at":1700000000,"updated_at":1700000123456}"#, id: "invoice-extractor")
        XCTAssertEqual(job, #"{"id":"deck:invoice-extractor","vendor":"deck","vendorJobId":"invoice-extractor","name":"Invoices","createdAt":"2023-11-14T22:13:20Z","updatedAt":"2023-11-14T22:15:23.456Z","vendorData":{"code":"invoice-extractor","input_schema":{},"output_schema":{},"prompts":null}}"#)
    }

    func testTimestampsOutsideRFC3339YearsAreDropped() throws {
        // Found by Fuzz/run (mapping, normalizer): a numeric timestamp past the year 9999 became a five-digit or
        // garbage year, and one beyond Int64 (or "1e400" and "nan" as text) trapped the whole gateway.
        for stamp in ["300000000000000000", "-99999999999999", "1e300", #""1e400""#, #""nan""#, #""-inf""#] {
            let job = try normalize("bigchange", #"{"id":1,"createdAt":\#(stamp),"updatedAt":"2026-01-02T00:00:00Z"}"#, id: "1")
            XCTAssertEqual(job, #"{"id":"bigchange:1","vendor":"bigchange","vendorJobId":"1","updatedAt":"2026-01-02T00:00:00Z","vendorData":{}}"#, stamp)
        }
        let edge = try normalize("deck", #"{"created_at":253402300799999,"updated_at":-62135596800}"#, id: "x")
        XCTAssertTrue(edge.contains(#""createdAt":"9999-12-31T23:59:59.999Z","updatedAt":"0001-01-01T00:00:00Z""#), edge)
    }

    func testBigChangeCustomFieldsBecomeAnObject() throws {
        let job = try normalize("bigchange", #"{"id":1001,"description":"Boiler","reference":null,"plannedDuration":90,"personId":null,"orderNumber":"PO-1","customFields":[{"definitionId":7,"value":"blue"}],"status":"scheduled","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-02T00:00:00Z"}"#, id: "1001")
        XCTAssertEqual(job, #"{"id":"bigchange:1001","vendor":"bigchange","vendorJobId":"1001","description":"Boiler","plannedDurationMinutes":90,"reference":null,"orderNumber":"PO-1","contactPersonId":null,"customFields":{"7":"blue"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-02T00:00:00Z","vendorData":{"status":"scheduled"}}"#)
    }

    func testLiltEnumComesBackInTheFormItWasSent() throws {
        let job = try normalize("lilt", #"{"id":241,"name":"Docs","due":"2026-05-05T10:56:44.985Z","isProcessing":0,"status":"active","stats":{"numProjects":1}}"#, id: "241")
        XCTAssertEqual(job, #"{"id":"lilt:241","vendor":"lilt","vendorJobId":"241","name":"Docs","dueAt":"2026-05-05T10:56:44.985Z","vendorData":{"isProcessing":"0","status":"active","stats":{"numProjects":1}}}"#)
    }

    func testByteNiteJobIsUnderJob() throws {
        let job = try normalize("bytenite", #"{"job":{"id":"7c1f","name":"render","config":{"taskTimeout":"30"},"state":"JOB_STATE_NEW","createdAt":"2026-01-01T00:00:00Z"},"templateInfo":{"id":"t"}}"#, id: "7c1f")
        XCTAssertEqual(job, #"{"id":"bytenite:7c1f","vendor":"bytenite","vendorJobId":"7c1f","name":"render","createdAt":"2026-01-01T00:00:00Z","vendorData":{"configs":{"taskTimeout":"30"},"state":"JOB_STATE_NEW"}}"#)
        XCTAssertNil(Normalizer.job(from: try json(#"{"unexpected":true}"#), vendorJobID: "x", mapping: try mapping("bytenite")))
    }

    func summary(_ vendor: String, status: Int, _ body: String, headers: [(name: String, value: String)] = []) throws -> UpstreamErrorSummary {
        let response = UpstreamResponse(status: status, headers: headers, body: Array(body.utf8))
        return Normalizer.summarize(response, mapping: try mapping(vendor), redactor: try loadMappings().redactor, now: 1_800_000_000)
    }

    func problem(_ vendor: String, status: Int, _ body: String, headers: [(name: String, value: String)] = []) throws -> Problem {
        UpstreamProblems.problem(for: try summary(vendor, status: status, body, headers: headers), vendor: vendor)
    }

    func testBigChangeValidationErrorsMapToCanonicalNames() throws {
        let problem = try problem("bigchange", status: 422, #"{"type":"x","title":"Invalid","status":422,"errors":{"plannedDuration":["must be positive"],"personId":["locked"]},"traceId":"trace-9"}"#)
        XCTAssertEqual(problem.status, 422)
        XCTAssertEqual(text(problem.extensions["errors"]), #"{"plannedDurationMinutes":["must be positive"],"contactPersonId":["locked"]}"#)
        XCTAssertEqual(problem.extensions["upstream"]?.objectValue?["requestId"], "trace-9")
    }

    func testShopPlanrMessagesMapByFieldNotWording() throws {
        for message in ["goalQuantity must be greater than zero", "goalQuantity must be greater than 0"] {
            let problem = try problem("shopplanr", status: 400, #"{"error":true,"statusCode":400,"message":"\#(message)"}"#)
            XCTAssertEqual(problem.status, 422)
            XCTAssertEqual(problem.extensions["errors"]?.objectValue?.keys, ["goalQuantity"])
        }
    }

    func testStatusTable() throws {
        XCTAssertEqual(try problem("lilt", status: 401, "Unauthorized").status, 502)
        XCTAssertEqual(try problem("lilt", status: 401, "Unauthorized").kind, .upstreamAuth)
        XCTAssertEqual(try problem("deck", status: 403, #"{"title":"Attempted to update a shared job definition"}"#).status, 403)
        XCTAssertEqual(try problem("deck", status: 404, "{}").status, 404)
        XCTAssertEqual(try problem("deck", status: 409, "{}").status, 409)
        XCTAssertEqual(try problem("deck", status: 500, "boom").status, 502)
        XCTAssertEqual(try problem("deck", status: 302, "").status, 502)
        let limited = try problem("lilt", status: 429, #"{"message":"quota"}"#, headers: [(name: "Retry-After", value: "99999")])
        XCTAssertEqual(limited.status, 429)
        XCTAssertTrue(limited.headers.contains { $0 == (name: "Retry-After", value: "3600") }, "clamped")
        let unavailable = try problem("lilt", status: 503, "{}", headers: [(name: "Retry-After", value: "5")])
        XCTAssertEqual(unavailable.status, 503)
        XCTAssertEqual(try problem("lilt", status: 503, "{}").status, 502)
    }

    func testByteNiteRPCStatusCode() throws {
        let summary = try summary("bytenite", status: 400, #"{"code":9,"message":"job is not in JOB_STATE_NEW","details":[]}"#)
        XCTAssertEqual(summary.code, "9")
        XCTAssertEqual(summary.message, "job is not in JOB_STATE_NEW")
    }

    func testExcerptsAreBoundedAndRedacted() throws {
        let body = #"{"message":"bad key lilt-key-canary"}"# + String(repeating: "x", count: 5000)
        let summary = try summary("lilt", status: 500, body)
        XCTAssertLessThanOrEqual(summary.excerpt.count, Normalizer.excerptLimit + 1)
        XCTAssertFalse(summary.excerpt.contains("lilt-key-canary"))
        XCTAssertTrue(summary.excerpt.contains(Secret.redacted))
    }

    func testSecretsEchoedInRequestIDsAndFieldNamesAreRedacted() throws {
        // Found by Fuzz/run normalizer: request ids (header or body) and upstream field names reached the problem
        // unscrubbed, so a vendor echoing our credential there handed it to the caller.
        let echoes = [
            try problem("lilt", status: 500, "{}", headers: [(name: "X-Request-Id", value: "id lilt-key-canary")]),
            try problem("bigchange", status: 422, #"{"traceId":"t lilt-key-canary"}"#),
            try problem("bigchange", status: 422, #"{"errors":{"lilt-key-canary":["bad"]}}"#),
        ]
        for problem in echoes {
            let body = String(decoding: problem.response(instance: "/jobs/x", requestID: "r").body, as: UTF8.self)
            XCTAssertFalse(body.contains("lilt-key-canary"), body)
            XCTAssertTrue(body.contains(Secret.redacted), body)
        }
    }

    func testSecretFollowedByACombiningMarkIsStillRedacted() throws {
        // Found with Fuzz/run normalizer's redaction invariant: secrets were matched Character by Character, and
        // "lilt-key-canary\u{301}" ends in the Character "ý", so the key went out byte for byte.
        let redactor = try loadMappings().redactor
        XCTAssertEqual(redactor.scrub("key lilt-key-canary\u{301}!"), "key [redacted]\u{301}!")
        XCTAssertEqual(redactor.scrub("e\u{301}lilt-key-canary"), "e\u{301}[redacted]")
        let summary = try summary("lilt", status: 500, "{\"message\":\"lilt-key-canary\u{301}\"}")
        for text in [summary.message ?? "", summary.excerpt] {
            XCTAssertNil(Array(text.utf8).firstRange(of: Array("lilt-key-canary".utf8)), text)
        }
    }

    func testSecretsAcrossTheCutLeaveNothingBehind() throws {
        // Found with Fuzz/run normalizer's redaction invariant: messages and excerpts were cut to their limits
        // before they were scrubbed, so a secret straddling the cut survived as its first characters.
        let message = String(repeating: "x", count: 290) + " lilt-key-canary"
        let summary = try summary("lilt", status: 500, #"{"message":"\#(message)"}"#)
        XCTAssertFalse(summary.message?.contains("lilt") ?? true, summary.message ?? "nil")
        XCTAssertFalse(summary.excerpt.contains("lilt"), summary.excerpt)
        let excerpt = try self.summary("lilt", status: 500, String(repeating: "y", count: 505) + " lilt-key-canary").excerpt
        XCTAssertEqual(excerpt, String(repeating: "y", count: 505) + " [redac…")
    }

    /// The body `raw` shows for one vendor answer.
    func rawBody(_ body: [UInt8], redactor: Redactor) throws -> JSONValue {
        let raw = RawAnswers.json([RawAnswer(call: "update", method: "PATCH", status: 200, body: body)], redactor: redactor)
        return try XCTUnwrap(raw.arrayValue?.first?.objectValue?["body"])
    }

    func testSecretWhoseFirstCharactersAnEscapeTookIsStillRedacted() throws {
        // Found by Fuzz/run normalizer in CI: "deck-secret-canary" begins with hex digits, so in "\u0deck-secret-canary"
        // the escape \u0dec decodes its first three characters to "෬" and the parsed message kept the rest of the
        // secret, the key's last fifteen characters. Bytes where a secret begins just after a backslash are scrubbed
        // before they are parsed.
        let body = #"{"title":"Attempted to update \u0deck-secret-canary"}"#
        let summary = try summary("deck", status: 403, body)
        for text in [summary.message ?? "", summary.excerpt] {
            XCTAssertFalse(text.contains("secret-canary"), text)
        }
        XCTAssertTrue(summary.excerpt.contains(Secret.redacted), summary.excerpt)
        let raw = try rawBody(Array(body.utf8), redactor: try loadMappings().redactor)
        let rawText = String(decoding: JSON.serialize(raw), as: UTF8.self)
        XCTAssertFalse(rawText.contains("secret-canary"), rawText)
    }

    func testAShorterSecretInsideALongerOneWrittenWithEscapesLeavesItWhole() throws {
        // Found by test_read_and_accounts.py once every body was scrubbed as bytes before parsing: Shop Planr's
        // user name "sandbox" was replaced inside LILT's key written with escaped dashes, and the key's tail went
        // out as "[redacted]-lilt-key-2b8f". Bytes are scrubbed first only where an escape could hide a secret.
        let redactor = Redactor([Secret("sandbox"), Secret("sandbox-lilt-key-2b8f")])
        let body = Array(#"{"escaped":"sandbox\u002dlilt\u002dkey\u002d2b8f","plain":"by sandbox"}"#.utf8)
        XCTAssertEqual(try rawBody(body, redactor: redactor), try json(#"{"escaped":"[redacted]","plain":"by [redacted]"}"#))
        let summary = Normalizer.summarize(UpstreamResponse(status: 500, body: body), mapping: try mapping("lilt"),
                                           redactor: redactor, now: 1_800_000_000)
        XCTAssertEqual(summary.excerpt, #"{"escaped":"[redacted]","plain":"by [redacted]"}"#)
    }

    func testRawAnswerCutAcrossASecretLeavesNothingBehind() throws {
        let cut = String(repeating: "y", count: RawAnswers.maxBodyBytes - 5) + " deck-secret-canary"
        let body = try rawBody(Array(cut.utf8), redactor: try loadMappings().redactor).stringValue ?? ""
        XCTAssertEqual(body.utf8.count, RawAnswers.maxBodyBytes)
        XCTAssertTrue(body.hasSuffix("y [red"), String(body.suffix(20)))
    }

    func testRetryAfterHTTPDate() {
        let now = 784_111_777.0 // Sun, 06 Nov 1994 08:49:37 GMT
        XCTAssertEqual(Normalizer.retryAfterSeconds("120", now: now), 120)
        XCTAssertEqual(Normalizer.retryAfterSeconds("Sun, 06 Nov 1994 08:50:07 GMT", now: now), 30)
        XCTAssertEqual(Normalizer.retryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now: now + 5), 0, "a past date means now")
        XCTAssertNil(Normalizer.retryAfterSeconds("soon", now: now))
    }

    func testTimeoutAfterSendingAWriteHasUnknownOutcome() {
        let problem = UpstreamProblems.problem(for: .timeout(requestSent: true), vendor: "lilt", isWrite: true)
        XCTAssertEqual(problem.status, 504)
        XCTAssertEqual(problem.extensions["outcome"], "unknown")
        XCTAssertNil(UpstreamProblems.problem(for: .timeout(requestSent: false), vendor: "lilt", isWrite: true).extensions["outcome"])
        XCTAssertEqual(UpstreamProblems.problem(for: .connectionRefused, vendor: "lilt", isWrite: true).status, 502)
    }
}
