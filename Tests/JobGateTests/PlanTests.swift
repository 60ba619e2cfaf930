import XCTest
import JobGateJSON
@testable import JobGate
@testable import JobGateCore

/// Pure translation: canonical patch → the vendor's calls, one test class per concern, no sockets.
final class PlanTests: XCTestCase {
    func testANameMustHaveMoreThanWhitespace() {
        for (text, isEmpty) in [("", true), ("   ", true), ("\u{3000}\u{00A0}\t", true), ("a", false), (" a", false),
                                ("\u{00A0}a", false), ("\u{E9}", false), ("JOB-2024-001", false)] {
            var errors = FieldErrors()
            CanonicalValidation.check(.name, .string(text), into: &errors)
            XCTAssertEqual(!errors.isEmpty, isEmpty, "\(text.debugDescription)")
        }
    }

    func testDeckFullReplacement() throws {
        let calls = try plan("deck", #"{"name":"Invoices","vendorFields":{"code":"invoice-extractor","input_schema":{"type":"object"},"output_schema":{},"prompts":null}}"#, id: "invoice-extractor")
        XCTAssertEqual(calls.count, 1)
        XCTAssertEqual(calls[0].method, "PATCH")
        XCTAssertEqual(calls[0].url, "http://127.0.0.1:9101/api/v1/jobs/invoice-extractor")
        XCTAssertEqual(text(calls[0].body), #"{"name":"Invoices","code":"invoice-extractor","input_schema":{"type":"object"},"output_schema":{},"prompts":null}"#)
        XCTAssertFalse(calls[0].headers.contains { $0.name.lowercased().hasPrefix("x-deck") }, "credentials are added at send time only")
    }

    func testDeckPartialPatchNamesEachMissingField() throws {
        let result = try errors("deck", #"{"name":"x","vendorFields":{"code":"c"}}"#)
        XCTAssertTrue(result.contains("vendorFields.input_schema"), result)
        XCTAssertTrue(result.contains("vendorFields.output_schema"), result)
        XCTAssertFalse(result.contains("\"name\""), result)
        XCTAssertTrue(try errors("deck", #"{"description":"x"}"#).contains("not supported"))
    }

    func testBigChangeFieldsNullsAndCustomFields() throws {
        let calls = try plan("bigchange", #"{"plannedDurationMinutes":90,"reference":null,"contactPersonId":"3f0e1a2b-4c5d-6e7f-8091-a2b3c4d5e6f7","customFields":{"7":"blue","8":null}}"#, id: "1001")
        XCTAssertEqual(calls.map(\.method), ["PATCH"])
        XCTAssertEqual(calls[0].url, "http://127.0.0.1:9102/v1/jobs/1001")
        XCTAssertEqual(text(calls[0].body), #"{"plannedDuration":90,"reference":null,"personId":"3f0e1a2b-4c5d-6e7f-8091-a2b3c4d5e6f7","customFields":[{"definitionId":7,"value":"blue"},{"definitionId":8,"value":null}]}"#)
        XCTAssertTrue(calls[0].headers.contains { $0 == (name: "Customer-Id", value: "42") })
        XCTAssertFalse(calls[0].idempotent, "a blind PATCH is never marked safe to repeat")
        let read = try XCTUnwrap(Planner.read(vendorJobID: "1001", mapping: mapping("bigchange")))
        XCTAssertEqual(read.method, "GET")
        XCTAssertNil(read.body)
    }

    func testBigChangeRejections() throws {
        XCTAssertTrue(try errors("bigchange", #"{"customFields":{"seven":"x"}}"#).contains("positive integer"))
        XCTAssertTrue(try errors("bigchange", #"{"plannedDurationMinutes":-1}"#).contains("plannedDurationMinutes"))
        XCTAssertTrue(try errors("bigchange", #"{"plannedDurationMinutes":1.5}"#).contains("plannedDurationMinutes"))
        XCTAssertTrue(try errors("bigchange", #"{"plannedDurationMinutes":9007199254740993}"#).contains("plannedDurationMinutes"))
        XCTAssertTrue(try errors("bigchange", #"{"contactPersonId":"not-a-uuid"}"#).contains("UUID"))
        XCTAssertTrue(try errors("bigchange", #"{"description":null}"#).contains("cannot be null"))
        XCTAssertTrue(try errors("bigchange", #"{"name":"x"}"#).contains("not supported by vendor 'bigchange'"))
        XCTAssertTrue(try errors("bigchange", #"{"vendorFields":{"x":1}}"#).contains("vendorFields"))
    }

    func testShopPlanrPut() throws {
        let calls = try plan("shopplanr", #"{"goalQuantity":75,"name":"JOB-2024-001-REV2"}"#, id: "job_V1StGXR8Z5jd")
        XCTAssertEqual(calls.map(\.method), ["PUT"])
        XCTAssertEqual(calls[0].url, "http://127.0.0.1:9103/api/jobs/job_V1StGXR8Z5jd")
        XCTAssertEqual(text(calls[0].body), #"{"goalQuantity":75,"name":"JOB-2024-001-REV2"}"#)
        XCTAssertTrue(calls[0].idempotent)
        XCTAssertTrue(try errors("shopplanr", #"{"goalQuantity":0}"#).contains("goalQuantity"))
        XCTAssertTrue(try errors("shopplanr", #"{"name":"  "}"#).contains("empty"))
    }

    func testLiltEnumStringsAndDates() throws {
        let calls = try plan("lilt", #"{"dueAt":"2026-05-05T10:56:44.985Z","vendorFields":{"isProcessing":"-2","processingErrorMsg":"Auth failed"}}"#, id: "241")
        XCTAssertEqual(calls.map(\.method), ["PUT"])
        XCTAssertEqual(calls[0].url, "http://127.0.0.1:9104/v2/jobs/241")
        XCTAssertEqual(text(calls[0].body), #"{"due":"2026-05-05T10:56:44.985Z","isProcessing":"-2","processingErrorMsg":"Auth failed"}"#)
        XCTAssertTrue(try errors("lilt", #"{"vendorFields":{"isProcessing":1}}"#).contains("vendorFields.isProcessing"))
        XCTAssertTrue(try errors("lilt", #"{"dueAt":"tomorrow"}"#).contains("RFC 3339"))
        XCTAssertTrue(try errors("lilt", #"{"dueAt":"2026-02-30T00:00:00Z"}"#).contains("RFC 3339"))
    }

    func testByteNiteFanOutInFixedOrderOnlyForPresentParts() throws {
        let calls = try plan("bytenite", #"{"vendorFields":{"dataSource":{"dataSourceDescriptor":"url"},"configs":{"taskTimeout":30}},"name":"render"}"#, id: "7c1f7a9e-1b2c-4d5e-8f90-123456789abc")
        XCTAssertEqual(calls.map(\.name), ["jobname", "configs", "datasource"])
        XCTAssertEqual(calls[0].url, "http://127.0.0.1:9105/v1/customer/jobs/7c1f7a9e-1b2c-4d5e-8f90-123456789abc/jobname")
        XCTAssertEqual(text(calls[0].body), #""render""#, "the jobname body is a JSON string")
        XCTAssertEqual(text(calls[1].body), #"{"taskTimeout":30}"#)
        XCTAssertEqual(text(calls[2].body), #"{"dataSource":{"dataSourceDescriptor":"url"}}"#)
        XCTAssertTrue(try errors("bytenite", #"{"vendorFields":{"configs":{"bogus":1}}}"#).contains("bogus"))
    }

    func testIDsAreAlwaysEncodedIntoTheURL() throws {
        let calls = try plan("shopplanr", #"{"name":"x"}"#, id: "../admin?x=1 #")
        XCTAssertEqual(calls[0].url, "http://127.0.0.1:9103/api/jobs/..%2Fadmin%3Fx%3D1%20%23")
    }

    func testUnknownAndReadOnlyMembers() throws {
        let result = try errors("lilt", #"{"id":"x","bogus":1,"name":"ok"}"#)
        XCTAssertTrue(result.contains(#""id":["is read-only"]"#), result)
        XCTAssertTrue(result.contains(#""bogus":["unknown field"]"#), result)
    }
}
