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

    func testHistogramBucketsCountEveryObservationAtOrBelowTheirBound() {
        var histogram = Histogram()
        for seconds in [0.0004, 0.001, 0.003, 0.003, 0.7, 11.0] { histogram.observe(seconds) }
        let cumulative = Dictionary(uniqueKeysWithValues: zip(Histogram.buckets, histogram.cumulativeCounts))
        XCTAssertEqual(cumulative[0.001], 2, "a bound includes an observation equal to it")
        XCTAssertEqual(cumulative[0.0025], 2)
        XCTAssertEqual(cumulative[0.005], 4)
        XCTAssertEqual(cumulative[0.5], 4)
        XCTAssertEqual(cumulative[1], 5)
        XCTAssertEqual(cumulative[10], 5, "one observation is above every bound: counted in +Inf alone")
        XCTAssertEqual(histogram.count, 6)

        var merged = Histogram()
        merged.merge(histogram)
        merged.merge(histogram)
        XCTAssertEqual(merged.cumulativeCounts, histogram.cumulativeCounts.map { $0 * 2 })
        XCTAssertEqual(merged.count, 12)
    }
}
