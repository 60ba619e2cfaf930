import XCTest
@testable import JobGate

final class MetricsLabelsTests: XCTestCase {
    func testLabelsMadeApartAreOneKey() {
        let made = VendorAccount(vendor: "bench", account: "default")
        let again = VendorAccount(vendor: String("bench".reversed().reversed()), account: "default")
        XCTAssertEqual(made, again)
        XCTAssertEqual(made.hashValue, again.hashValue)
        XCTAssertNotEqual(made, VendorAccount(vendor: "bench", account: "eu"))
        XCTAssertNotEqual(made, VendorAccount(vendor: "benchdefault", account: ""))
        var counts: [VendorAccount: Int] = [made: 1]
        counts[again, default: 0] += 1
        XCTAssertEqual(counts, [made: 2])
    }

    func testEachRuntimeCarriesItsOwnLabels() throws {
        for (vendor, mapping) in try loadMappings().vendors {
            for runtime in VendorRuntimes(mapping: mapping, defaultTimeout: 10).all {
                XCTAssertEqual(runtime.metricLabels, VendorAccount(vendor: vendor, account: runtime.mapping.account))
            }
        }
    }
}
