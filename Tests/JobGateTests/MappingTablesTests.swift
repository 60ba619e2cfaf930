import XCTest
import JobGateJSON
@testable import JobGateCore

/// What a mapping works out once for every call must say what working it out per call said.
final class MappingTablesTests: XCTestCase {
    func testFieldNamesAreFoundAsTheirRawValues() {
        for field in CanonicalField.allCases {
            XCTAssertEqual(CanonicalField.named(field.rawValue), field)
            XCTAssertEqual(CanonicalField.allCases[field.position], field)
        }
        for name in ["", "nam", "names", "Name", "orderNumbeR", "customField", "plannedDurationMinutesX", "dueAt\u{0}", "dué"] {
            XCTAssertNil(CanonicalField.named(name), name)
            XCTAssertNil(CanonicalField(rawValue: name), name)
        }
    }

    func testFieldTableHoldsTheMappedFields() throws {
        for (vendor, mapping) in try loadMappings().vendors {
            for field in CanonicalField.allCases {
                XCTAssertEqual(mapping.field(field)?.to, mapping.fields[field]?.to, "\(vendor) \(field)")
                XCTAssertEqual(mapping.field(field)?.from, mapping.fields[field]?.from, "\(vendor) \(field)")
            }
        }
    }

    func testCallURLJoinsBaseAndPathAroundTheID() {
        func template(_ path: String) -> CallTemplate {
            CallTemplate(name: "update", method: "PUT", path: path, fields: nil, body: .object, idempotent: true, mergesWithRead: false)
        }
        let cases: [(base: String, path: String, id: String, url: String)] = [
            ("http://h/api", "/jobs/{id}", "7", "http://h/api/jobs/7"),
            ("http://h/api//", "/jobs/{id}", "a%2Fb", "http://h/api/jobs/a%2Fb"),
            ("http://h", "/jobs/{id}/parts/{id}:run", "x", "http://h/jobs/x/parts/x:run"),
            ("http://h/", "/jobs", "ignored", "http://h/jobs"),
            ("http://h", "{id}", "é", "http://hé"),
            ("", "", "", ""),
        ]
        for (base, path, id, url) in cases {
            XCTAssertEqual(CallURL(baseURL: base, template: template(path)).url(encodedID: id), url, "\(base) \(path)")
        }
    }

    func testEveryCallSharesTheMappingsHeaders() throws {
        let mapping = try mapping("bigchange")
        let accept = (name: "Accept", value: "application/json")
        let contentType = (name: "Content-Type", value: "application/json")
        XCTAssertTrue(mapping.headersWithoutBody.elementsEqual([accept] + mapping.headers, by: ==))
        XCTAssertTrue(mapping.headersWithBody.elementsEqual([accept, contentType] + mapping.headers, by: ==))
        let calls = try plan("bigchange", #"{"reference":"r"}"#, id: "1001")
        XCTAssertTrue(calls[0].headers.elementsEqual(mapping.headersWithBody, by: ==))
        let read = try XCTUnwrap(Planner.read(vendorJobID: "1 0", mapping: mapping))
        XCTAssertTrue(read.headers.elementsEqual(mapping.headersWithoutBody, by: ==))
        XCTAssertEqual(read.url, "http://127.0.0.1:9102/v1/jobs/1%200")
    }

    func testPointerSetKeepsOrderAndBuildsObjects() throws {
        var root = try json(#"{"a":1,"b":{"c":2},"d":"x"}"#)
        try XCTUnwrap(JSONPointer("/b/e")).set(3, in: &root)
        try XCTUnwrap(JSONPointer("/a")).set(4, in: &root)
        try XCTUnwrap(JSONPointer("/d/f")).set(5, in: &root)
        try XCTUnwrap(JSONPointer("/g")).set(6, in: &root)
        XCTAssertEqual(text(root), #"{"a":4,"b":{"c":2,"e":3},"d":{"f":5},"g":6}"#)
        var scalar: JSONValue = "s"
        try XCTUnwrap(JSONPointer("/x/y")).set(true, in: &scalar)
        XCTAssertEqual(text(scalar), #"{"x":{"y":true}}"#)
        try XCTUnwrap(JSONPointer("")).set(1, in: &scalar)
        XCTAssertEqual(text(scalar), "1")
    }
}
