import XCTest
import JobGateJSON
@testable import JobGateCore

/// Transport settings a mapping file states for its vendor's calls.
final class TransportOptionsTests: XCTestCase {
    private func load(_ extra: String) -> Result<MappingSet, MappingIssues> {
        let file = #"{"baseUrl": "https://vendor.example", "auth": {"scheme": "none"}, \#(extra)"fields": {"name": {"to": "/name"}}, "calls": [{"name": "update", "method": "PUT", "path": "/jobs/{id}"}]}"#
        return MappingLoader.load(files: [(name: "v.json", bytes: Array(file.utf8))], environment: [:])
    }

    func testHTTP2IsOptIn() throws {
        XCTAssertEqual(try load("").get().vendors["v"]?.http2, false)
        XCTAssertEqual(try load(#""http2": true, "#).get().vendors["v"]?.http2, true)
        XCTAssertEqual(try load(#""http2": false, "#).get().vendors["v"]?.http2, false)
        guard case .failure(let issues) = load(#""http2": "yes", "#) else { return XCTFail("a non-boolean http2 loaded") }
        XCTAssertTrue("\(issues)".contains("/http2"), "\(issues)")
    }
}
