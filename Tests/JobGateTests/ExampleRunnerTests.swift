import XCTest
import JobGateJSON
@testable import JobGate
@testable import JobGateCore

/// The example runner behind `jobgate check`: shipped examples pass, and any changed expectation is named.
final class ExampleRunnerTests: XCTestCase {
    /// Loads a shipped mapping file with its examples edited by `edit` (applied to the parsed file).
    private func differences(_ vendor: String, edit: (inout JSONValue) -> Void = { _ in }) throws -> [ExampleDifference] {
        var file = try JSON.parse(XCTUnwrap(FileManager.default.contents(atPath: "\(mappingsDirectory)/\(vendor).json")).map { $0 })
        edit(&file)
        var reader = MappingReader(file: vendor + ".json", environment: [:])
        let mapping = try XCTUnwrap(reader.read(JSON.serialize(file), vendorID: vendor), "\(reader.issues)")
        return mapping.examples.flatMap { ExampleRunner.run($0, mapping: mapping) }
    }

    private func set(_ text: String, _ value: JSONValue) -> (inout JSONValue) -> Void {
        { file in replace(at: JSONPointer(text)!.tokens[...], with: value, in: &file) }
    }

    func testEveryShippedMappingHasPassingExamples() throws {
        for vendor in ["bigchange", "bytenite", "deck", "lilt", "shopplanr"] {
            XCTAssertEqual(try differences(vendor).map(\.message), [], vendor)
            XCTAssertFalse(try mapping(vendor).examples.isEmpty, vendor)
        }
    }

    func testAChangedPathIsNamed() throws {
        let found = try differences("shopplanr", edit: set("/examples/0/calls/0/path", "/job/job_abc123"))
        XCTAssertEqual(found.map(\.pointer), ["/examples/0/calls/0/path"])
        XCTAssertTrue(found.first?.message.hasPrefix("example 'update both fields") == true)
        // The job id is the first call's; a later call with another id differs from the plan.
        let laterCall = try differences("bigchange", edit: set("/examples/0/calls/1/path", "/jobs/1002"))
        XCTAssertEqual(laterCall.map { [$0.pointer, $0.expected, $0.actual] }, [["/examples/0/calls/1/path", "/jobs/1002", "/jobs/1001"]])
    }

    func testAChangedBodyFieldIsNamed() throws {
        let found = try differences("bigchange", edit: set("/examples/0/calls/0/body/plannedDuration", 91))
        XCTAssertEqual(found.map(\.pointer), ["/examples/0/calls/0/body/plannedDuration"])
        XCTAssertEqual(found.map(\.expected), ["91"])
        XCTAssertEqual(found.map(\.actual), ["90"])
    }

    func testAMergedBodyIsComparedAsSentAfterTheRead() throws {
        // The configs call sends the read's jobTimeout (7200) merged with the patch, not the patch alone.
        XCTAssertEqual(try differences("bytenite", edit: set("/examples/1/calls/1/body/jobTimeout", 7201)).map(\.pointer),
                       ["/examples/1/calls/1/body/jobTimeout"])
        let followed = try differences("bytenite", edit: set("/examples/1/answers/0/body/job/config/jobTimeout", "60"))
        XCTAssertEqual(followed.first.map { [$0.pointer, $0.expected, $0.actual] }, ["/examples/1/calls/1/body/jobTimeout", "7200", "60"],
                       "the merged body follows the example's read answer")
    }

    func testAChangedJobFieldAndAMissingMemberAreNamed() throws {
        let found = try differences("lilt", edit: { file in
            set("/examples/0/job/name", "renamed")(&file)
            replace(at: JSONPointer("/examples/0/job/vendorData/status")!.tokens[...], with: nil, in: &file)
        })
        XCTAssertEqual(Set(found.map(\.pointer)), ["/examples/0/job/name", "/examples/0/job/vendorData/status"])
        XCTAssertEqual(found.first { $0.pointer.hasSuffix("status") }?.expected, "absent")
    }

    func testProblemsCompareOnlyTheMembersGiven() throws {
        let found = try differences("deck", edit: set("/examples/2/problem/errors/name/0", "other words"))
        XCTAssertEqual(found.map(\.pointer), ["/examples/2/problem/errors/name/0"])
        XCTAssertEqual(try differences("lilt", edit: set("/examples/4/problem/status", 503)).map(\.pointer), ["/examples/4/problem/status"])
    }

    func testAMissingOrExtraCallIsNamed() throws {
        // The read-back after BigChange's 204 left out of the example.
        let found = try differences("bigchange", edit: { file in
            replace(at: JSONPointer("/examples/0/calls/1")!.tokens[...], with: nil, in: &file)
            replace(at: JSONPointer("/examples/0/answers")!.tokens[...], with: nil, in: &file)
            replace(at: JSONPointer("/examples/0/job")!.tokens[...], with: nil, in: &file)
        })
        XCTAssertEqual(found.map(\.pointer), ["/examples/0/calls/1"])
        XCTAssertEqual(found.first?.expected, "no call")
        XCTAssertEqual(found.first?.actual, "GET /jobs/1001")
    }

    func testAnExampleAccountTheMappingDoesNotDeclareIsRefused() throws {
        let found = try differences("lilt", edit: set("/examples/5/account", "eu"))
        XCTAssertTrue(found.contains { $0.pointer == "/examples/5/problem/status" && $0.actual == "400" }, "\(found.map(\.message))")
    }

    func testMalformedExamplesAreReaderErrors() throws {
        var reader = MappingReader(file: "x.json", environment: [:])
        let file = #"{"baseUrl":"https://x.test","calls":[{"method":"PUT","path":"/j/{id}"}],"examples":[{"name":"a","patch":{},"calls":[{"method":"GET","path":"j"}],"answers":[{"status":99}],"job":{},"extra":1},{"name":"b","patch":[],"calls":[]},{"name":"a","patch":{},"calls":[]}]}"#
        XCTAssertNil(reader.read(Array(file.utf8), vendorID: "x"))
        XCTAssertEqual(Set(reader.issues.map(\.path)), ["/examples/0/extra", "/examples/0/calls/0/path", "/examples/0/answers/0/status",
                                                        "/examples/1/patch", "/examples/2/name"])
    }
}

/// Sets or (with nil) removes the value at a pointer whose tokens may index arrays.
private func replace(at tokens: ArraySlice<String>, with value: JSONValue?, in root: inout JSONValue) {
    guard let token = tokens.first else { return root = value ?? .null }
    switch root {
    case .array(var array):
        guard let index = Int(token), array.indices.contains(index) else { return }
        if tokens.count == 1 && value == nil { array.remove(at: index) } else { replace(at: tokens.dropFirst(), with: value, in: &array[index]) }
        root = .array(array)
    case .object(var object):
        if tokens.count == 1 { object[token] = value } else {
            var member = object[token] ?? .object(JSONObject())
            replace(at: tokens.dropFirst(), with: value, in: &member)
            object[token] = member
        }
        root = .object(object)
    default:
        return
    }
}
