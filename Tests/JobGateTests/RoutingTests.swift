import XCTest
import JobGateJSON
@testable import JobGate
@testable import JobGateCore

final class RoutingTests: XCTestCase {
    func reference(_ raw: String, header: String? = nil) throws -> Result<JobReference, Problem> {
        JobReference.parse(rawID: Substring(raw), vendorHeader: header, known: try loadMappings().vendors)
    }

    func testPathsToRoutes() {
        let expected: [(String, Route)] = [
            ("/healthz", .health), ("/readyz", .ready), ("/metrics", .metrics), ("/vendors", .vendors),
            ("/openapi.json", .openAPI), ("/jobs/lilt:241", .job(rawID: "lilt:241")), ("/jobs/a%3Ab", .job(rawID: "a%3Ab")),
            ("/jobs/", .unknown), ("/jobs", .unknown), ("/jobs/a/b", .unknown), ("/healthz/", .unknown),
            ("/Healthz", .unknown), ("/healthzz", .unknown), ("/", .unknown), ("/JOBS/lilt:241", .unknown),
        ]
        for (path, route) in expected {
            // As the router gets it: a slice of the whole target.
            let target = path + "?dryRun=true"
            XCTAssertEqual(Route(path: target[..<target.utf8.index(target.startIndex, offsetBy: path.utf8.count)]), route, path)
        }
    }

    func testGlobalIDsAndHeader() throws {
        XCTAssertEqual(try reference("lilt:241").get(), JobReference(vendor: "lilt", vendorJobID: "241"))
        XCTAssertEqual(try reference("lilt%3A241").get(), JobReference(vendor: "lilt", vendorJobID: "241"))
        XCTAssertEqual(try reference("241", header: "lilt").get(), JobReference(vendor: "lilt", vendorJobID: "241"))
        XCTAssertEqual(try reference("lilt:241", header: "lilt").get(), JobReference(vendor: "lilt", vendorJobID: "241"))
        XCTAssertEqual(try reference("a:b", header: "deck").get(), JobReference(vendor: "deck", vendorJobID: "a:b"))
        // The id is the bytes after the colon, also when they start with a combining mark (which would join the
        // colon in one Character).
        XCTAssertEqual(try reference("deck:%CC%81x").get(), JobReference(vendor: "deck", vendorJobID: "\u{301}x"))
        XCTAssertEqual(try reference("deck:%C3%A9t%C3%A9").get(), JobReference(vendor: "deck", vendorJobID: "été"))
    }

    func testRejections() throws {
        for (raw, header) in [("lilt:241", "deck"), ("nobody:1", nil), ("241", nil), ("lilt:..%2f..%2fadmin", nil),
                              ("lilt:%00", nil), ("lilt:%zz", nil), ("lilt:" + String(repeating: "a", count: 300), nil),
                              ("lilt:%C3%28", nil), ("lilt:..", nil), ("lilt:", nil)] as [(String, String?)] {
            guard case .failure(let problem) = try reference(raw, header: header) else {
                XCTFail("accepted \(raw) \(header ?? "")")
                continue
            }
            XCTAssertEqual(problem.status, 400, raw)
        }
    }

    func testJobIDRules() {
        XCTAssertNil(JobIDRule.positiveInteger.violation("1001"))
        XCTAssertNotNil(JobIDRule.positiveInteger.violation("0"))
        XCTAssertNotNil(JobIDRule.positiveInteger.violation("-5"))
        XCTAssertNotNil(JobIDRule.positiveInteger.violation("12a"))
        XCTAssertNotNil(JobIDRule.integer.violation("1.5"))
        XCTAssertNil(JobIDRule.integer.violation("241"))
    }

    func testPreferAndQuery() {
        let preferences = Preferences(["respond-async, return=minimal", "dry-run"])
        XCTAssertTrue(preferences.returnMinimal)
        XCTAssertTrue(preferences.dryRun)
        XCTAssertEqual(QueryString("dryRun=true&x=%41")["x"], "A")
    }

    func testInboundTokensConstantTimeMatch() {
        let tokens = InboundTokens(["alpha-token", "beta"])
        XCTAssertTrue(tokens.accepts("Bearer alpha-token"))
        XCTAssertTrue(tokens.accepts("bearer beta"))
        XCTAssertFalse(tokens.accepts("Bearer alpha-toke"))
        XCTAssertFalse(tokens.accepts("Bearer alpha-tokenx"))
        XCTAssertFalse(tokens.accepts("Basic alpha-token"))
        XCTAssertFalse(tokens.accepts(nil))
    }

    func testTraceparentGetsANewSpan() throws {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let child = try XCTUnwrap(TraceContext.childTraceparent(parent))
        XCTAssertTrue(child.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        XCTAssertTrue(child.hasSuffix("-01"))
        XCTAssertNotEqual(child, parent)
        XCTAssertNil(TraceContext.childTraceparent("00-xyz"))
    }
}

final class MappingTests: XCTestCase {
    func testShippedMappingsLoadWithoutCredentialsAsUnconfigured() throws {
        guard case .success(let set) = MappingFolder.load(directory: mappingsDirectory, environment: [:]) else {
            return XCTFail("shipped mappings must load with an empty environment")
        }
        XCTAssertEqual(set.vendors.keys.sorted(), ["bigchange", "bytenite", "deck", "lilt", "shopplanr"])
        XCTAssertFalse(try XCTUnwrap(set.vendors["deck"]).isConfigured)
        // Released Shop Planr requires a token on every job route: without login or token it is not configured.
        XCTAssertEqual(try XCTUnwrap(set.vendors["shopplanr"]).missingConfiguration, ["SHOPPLANR_TOKEN", "SHOPPLANR_USERNAME", "SHOPPLANR_PIN"])
        XCTAssertTrue(try XCTUnwrap(loadMappings(["SHOPPLANR_TOKEN": "static"]).vendors["shopplanr"]).isConfigured)
        XCTAssertEqual(set.vendors["deck"]?.baseURL, "https://live.deck.co/api/v1")
        XCTAssertTrue(try loadMappings().vendors.values.allSatisfy(\.isConfigured))
        XCTAssertTrue(try XCTUnwrap(loadMappings(sandboxEnvironment.merging(["BYTENITE_API_KEY": "", "BYTENITE_TOKEN": "static"]) { $1 }).vendors["bytenite"]).isConfigured)
    }

    func testBadMappingFilesAreReportedWithFileAndPath() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobgate-mapping-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"{"baseUrl":"${ACME_URL}","auth":{"scheme":"bearer","token":"x"},"fields":{"name":{"to":"name"},"colour":{"to":"/c"}},"calls":[{"method":"PATCH","path":"/jobs"}],"extra":1}"#
            .write(to: folder.appendingPathComponent("acme.json"), atomically: true, encoding: .utf8)
        guard case .failure(let issues) = MappingFolder.load(directory: folder.path, environment: [:]) else {
            return XCTFail("a broken mapping must be rejected")
        }
        let lines = issues.issues.map(\.description)
        XCTAssertTrue(lines.contains { $0.contains("acme.json at /baseUrl") && $0.contains("ACME_URL") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("/fields/name/to") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("/fields/colour") && $0.contains("not a canonical field") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("/calls/0/path") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("/extra") && $0.contains("unknown key") }, "\(lines)")
    }

    func testCallPathsCannotCarrySpacesLineBreaksOrFragments() {
        // Found by Fuzz/run mapping: a call path was only checked for a leading "/" and "{id}", so a space, a line
        // break or a "#" from the mapping went straight into the vendor URL.
        func read(_ callPath: String) -> (VendorMapping?, [MappingIssue]) {
            var reader = MappingReader(file: "acme.json", environment: [:])
            let file: JSONValue = ["baseUrl": "https://api.acme.test", "calls": [["method": "PUT", "path": .string(callPath)]]]
            return (reader.read(JSON.serialize(file), vendorID: "acme"), reader.issues)
        }
        for bad in ["/jobs/{id} x", "/jobs/{id}\r\nX-Evil: 1", "/jobs/{id}#top", "/jobs/\u{E9}/{id}", "/jobs/{id}\u{0}"] {
            let (mapping, issues) = read(bad)
            XCTAssertNil(mapping, bad.debugDescription)
            XCTAssertTrue(issues.contains { $0.path == "/calls/0/path" }, "\(issues)")
        }
        XCTAssertNotNil(read("/jobs/{id}?expand=all&x=%20").0, "a query and percent-encoding stay allowed")
    }

    func testPlainRESTVendorNeedsOnlyAMappingFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobgate-mapping-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try #"{"baseUrl":"https://api.acme.test/v3","auth":{"scheme":"bearer","token":"${ACME_TOKEN:-t0ken}"},"fields":{"name":{"to":"/title"},"dueAt":{"to":"/deadline","format":"epoch"}},"calls":[{"method":"PUT","path":"/tasks/{id}"}],"response":{"id":"/key"}}"#
            .write(to: folder.appendingPathComponent("acme.json"), atomically: true, encoding: .utf8)
        guard case .success(let set) = MappingFolder.load(directory: folder.path, environment: [:]), let acme = set.vendors["acme"] else {
            return XCTFail("mapping rejected")
        }
        guard case .success(let patch) = PatchValidator.validate(try object(#"{"name":"T","dueAt":"2026-01-01T00:00:00Z"}"#), mapping: acme) else {
            return XCTFail("patch rejected")
        }
        let calls = Planner.plan(patch, vendorJobID: "K-1", mapping: acme)
        XCTAssertEqual(calls.first?.url, "https://api.acme.test/v3/tasks/K-1")
        XCTAssertEqual(text(calls.first?.body), #"{"title":"T","deadline":1767225600}"#)
        let job = Normalizer.job(from: try json(#"{"key":"K-1","title":"T","deadline":1767225600,"owner":"ann"}"#), vendorJobID: "K-1", mapping: acme)
        XCTAssertEqual(text(job), #"{"id":"acme:K-1","vendor":"acme","vendorJobId":"K-1","name":"T","dueAt":"2026-01-01T00:00:00Z","vendorData":{"owner":"ann"}}"#)
        XCTAssertEqual(set.redactor.scrub("token t0ken here"), "token [redacted] here")
    }

    func testInterpolation() throws {
        XCTAssertEqual(try Interpolation.resolve("${A}/x/${B:-dflt}", environment: ["A": "a"]), "a/x/dflt")
        XCTAssertThrowsError(try Interpolation.resolve("${MISSING}", environment: [:]))
        XCTAssertEqual(Interpolation.references(in: "${A}${B:-x}"), ["A", "B"])
    }

    func testRFC3339() {
        XCTAssertEqual(RFC3339.parse("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(RFC3339.parse("1970-01-01T01:00:00+01:00"), 0)
        XCTAssertEqual(RFC3339.parse("2024-02-29T00:00:00.5Z"), 1_709_164_800.5)
        XCTAssertNil(RFC3339.parse("2023-02-29T00:00:00Z"))
        XCTAssertNil(RFC3339.parse("2024-01-01 00:00:00Z"))
        XCTAssertNil(RFC3339.parse("2024-01-01T00:00:00"))
        XCTAssertEqual(RFC3339.format(epochSeconds: 1_700_000_000), "2023-11-14T22:13:20Z")
        XCTAssertEqual(RFC3339.format(epochSeconds: 1_700_000_000, alwaysMilliseconds: true), "2023-11-14T22:13:20.000Z")
        XCTAssertEqual(RFC3339.format(epochSeconds: -1.5), "1969-12-31T23:59:58.500Z")
        XCTAssertEqual(RFC3339.format(epochSeconds: -62_135_596_800), "0001-01-01T00:00:00Z")
        XCTAssertEqual(RFC3339.format(epochSeconds: 253_402_300_799), "9999-12-31T23:59:59Z")
        XCTAssertEqual([format3(12.3456), format3(0), format3(0.0004), format3(7), format3(1234.5)],
                       ["12.346", "0.000", "0.000", "7.000", "1234.500"])
        // A JWT's `exp` can be anything: past year 9999 the year just has more digits.
        XCTAssertEqual(RFC3339.format(epochSeconds: 1e12), "33658-09-27T01:46:40Z")
        // Formatting is pure (no gmtime): every day of four centuries survives a round trip.
        for day in stride(from: -73_000, to: 73_000, by: 7) {
            let seconds = Double(day) * 86_400 + 45_296
            XCTAssertEqual(RFC3339.parse(RFC3339.format(epochSeconds: seconds)), seconds, "day \(day)")
        }
    }

    func testSecretsNeverPrint() {
        let secret = Secret("hunter2-canary")
        XCTAssertEqual("\(secret)", "[redacted]")
        XCTAssertEqual(String(describing: secret), "[redacted]")
        XCTAssertEqual(String(reflecting: secret), "[redacted]")
        var dumped = ""
        dump(secret, to: &dumped)
        XCTAssertFalse(dumped.contains("hunter2"))
    }
}
