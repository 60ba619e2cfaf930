import XCTest
import JobGateJSON
@testable import JobGateCore

/// Accounts in mapping files, the read plan of `GET /jobs/{id}`, and `raw`: pure pieces, no sockets.
final class AccountAndReadTests: XCTestCase {
    private static let file = #"""
    {"baseUrl": "https://main.test/v1",
     "auth": {"scheme": "bearer", "token": "${MAIN_TOKEN}"},
     "headers": {"Customer-Id": "${MAIN_CUSTOMER:-}", "X-Source": "jobgate"},
     "requiredHeaders": ["Customer-Id"],
     "calls": [{"name": "update", "method": "PATCH", "path": "/jobs/{id}"}],
     "read": {"name": "read", "method": "GET", "path": "/jobs/{id}"},
     "fields": {"description": {"to": "/description"}},
     "accounts": {
       "north": {"auth": {"scheme": "bearer", "token": "${NORTH_TOKEN:-}"}, "headers": {"customer-id": "${NORTH_CUSTOMER:-}"},
                 "baseUrl": "https://north.test/v1"},
       "same-auth": {"headers": {"X-Extra": "1"}}
     }}
    """#

    private func read(_ text: String = file, environment: [String: String]) -> (VendorMapping?, [MappingIssue]) {
        var reader = MappingReader(file: "acme.json", environment: environment)
        let mapping = reader.read(Array(text.utf8), vendorID: "acme")
        return (mapping, reader.issues)
    }

    private let configured = ["MAIN_TOKEN": "main-token-1", "MAIN_CUSTOMER": "42", "NORTH_TOKEN": "north-token-2", "NORTH_CUSTOMER": "77"]

    func testAnAccountReplacesAuthAndBaseURLAndMergesHeadersByName() throws {
        let (loaded, issues) = read(environment: configured)
        let mapping = try XCTUnwrap(loaded, "\(issues)")
        XCTAssertEqual(mapping.account, "default")
        let north = try XCTUnwrap(mapping.accounts["north"])
        XCTAssertEqual(north.account, "north")
        XCTAssertEqual(north.baseURL, "https://north.test/v1")
        guard case .bearer(let token) = north.auth else { return XCTFail("\(north.auth)") }
        XCTAssertEqual(token.exposedValue, "north-token-2")
        // The account's customer-id replaces Customer-Id (names compare without case); X-Source is kept.
        XCTAssertEqual(north.headers.map(\.name), ["X-Source", "customer-id"])
        XCTAssertEqual(north.headers.map(\.value), ["jobgate", "77"])
        let sameAuth = try XCTUnwrap(mapping.accounts["same-auth"])
        XCTAssertEqual(sameAuth.baseURL, "https://main.test/v1")
        XCTAssertEqual(sameAuth.headers.map(\.name), ["Customer-Id", "X-Source", "X-Extra"])
        XCTAssertTrue(north.accounts.isEmpty, "accounts do not nest")
        XCTAssertEqual(Set(mapping.secrets.map(\.exposedValue)), ["main-token-1", "north-token-2"], "the redactor learns every account's secrets")
    }

    func testAnAccountWithUnsetCredentialsNamesItsOwnVariables() throws {
        let (loaded, issues) = read(environment: ["MAIN_TOKEN": "main-token-1", "MAIN_CUSTOMER": "42"])
        let mapping = try XCTUnwrap(loaded, "\(issues)")
        XCTAssertTrue(mapping.isConfigured)
        let north = try XCTUnwrap(mapping.accounts["north"])
        XCTAssertEqual(north.missingConfiguration, ["NORTH_TOKEN", "NORTH_CUSTOMER"])
        XCTAssertEqual(issues.filter { $0.severity == .warning }.map(\.path), ["/accounts/north"])
        XCTAssertTrue(try XCTUnwrap(mapping.accounts["same-auth"]).isConfigured)
    }

    func testAccountNamesAndMembersAreChecked() {
        let text = Self.file.replacingOccurrences(of: #""same-auth": {"headers": {"X-Extra": "1"}}"#,
                                                  with: #""default": {}, "Bad Name": {}, "x": {"timeoutSeconds": 3}"#)
        let (mapping, issues) = read(text, environment: configured)
        XCTAssertNil(mapping)
        XCTAssertEqual(Set(issues.filter { $0.severity == .error }.map(\.path)),
                       ["/accounts/default", "/accounts/Bad Name", "/accounts/x/timeoutSeconds"])
    }

    func testSelectionNeverFallsBackToAnotherAccount() throws {
        let mapping = try XCTUnwrap(read(environment: configured).0)
        XCTAssertTrue(try AccountSelection.mapping(for: nil, of: mapping).get() === mapping)
        XCTAssertTrue(try AccountSelection.mapping(for: "default", of: mapping).get() === mapping)
        XCTAssertEqual(try AccountSelection.mapping(for: "north", of: mapping).get().account, "north")
        guard case .failure(let problem) = AccountSelection.mapping(for: "south", of: mapping) else { return XCTFail("south resolved") }
        XCTAssertEqual(problem.status, 400)
        XCTAssertEqual(problem.title, "Unknown account")
        XCTAssertTrue(problem.detail.contains("accounts: north, same-auth"), problem.detail)
    }

    func testAnAccountsPlanCallsItsOwnBaseURLWithItsHeaders() throws {
        let mapping = try XCTUnwrap(read(environment: configured).0)
        let north = try AccountSelection.mapping(for: "north", of: mapping).get()
        let planned = try UpdatePlanning.calls(for: ["description": "x"], vendorJobID: "5", mapping: north, returnMinimal: false)
        XCTAssertEqual(planned.calls.map(\.url), ["https://north.test/v1/jobs/5"])
        XCTAssertTrue(planned.calls[0].headers.contains { $0 == (name: "customer-id", value: "77") })
        XCTAssertFalse(planned.calls[0].headers.contains { $0.value == "42" })
    }

    func testTheReadPlanIsTheVendorsReadCallAlone() throws {
        let calls = try UpdatePlanning.read(vendorJobID: "241", mapping: mapping("lilt"))
        XCTAssertEqual(calls.map(\.method), ["GET"])
        XCTAssertEqual(calls.map(\.purpose), [.read])
        XCTAssertTrue(calls[0].idempotent, "a read is retried like any idempotent call")
        XCTAssertEqual(UpdatePlanning.allowedMethods(try mapping("lilt")), "GET, PATCH")
        XCTAssertThrowsError(try UpdatePlanning.read(vendorJobID: "abc", mapping: mapping("lilt"))) { error in
            XCTAssertEqual((error as? Problem)?.status, 400)
        }
    }

    func testAVendorWithoutAReadCallAnswers405AllowingOnlyPatch() throws {
        XCTAssertThrowsError(try UpdatePlanning.read(vendorJobID: "x", mapping: mapping("deck"))) { error in
            let problem = error as? Problem
            XCTAssertEqual(problem?.status, 405)
            XCTAssertEqual(problem?.headers.first { $0.name == "Allow" }?.value, "PATCH")
        }
    }

    func testRawAnswersAreParsedRedactedAndBounded() throws {
        let redactor = Redactor([Secret("key-123/456")])
        let escaped = Array(#"{"echo":"key-123\/456","key-123/456":1,"list":[{"n":"a key-123/456"}]}"#.utf8)
        let raw = RawAnswers.json([
            RawAnswer(call: "read", method: "GET", status: 200, body: escaped),
            RawAnswer(call: "update", method: "PATCH", status: 204, body: []),
            RawAnswer(call: "text", method: "GET", status: 200, body: Array("plain key-123/456".utf8)),
            RawAnswer(call: "big", method: "GET", status: 200, body: [UInt8](repeating: 0x61, count: RawAnswers.maxBodyBytes + 10)),
        ], redactor: redactor)
        let entries = try XCTUnwrap(raw.arrayValue)
        XCTAssertEqual(entries[0], [
            "call": "read", "method": "GET", "status": 200,
            "body": ["echo": "[redacted]", "[redacted]": 1, "list": [["n": "a [redacted]"]]],
        ])
        XCTAssertEqual(entries[1], ["call": "update", "method": "PATCH", "status": 204])
        XCTAssertEqual(entries[2].objectValue?["body"], "plain [redacted]")
        XCTAssertEqual(entries[3].objectValue?["body"]?.stringValue?.utf8.count, RawAnswers.maxBodyBytes)
        XCTAssertEqual(entries[3].objectValue?["truncated"], true)
    }
}
