import XCTest
@testable import JobGateHTTP

final class RequestIDGeneratorTests: XCTestCase {
    func testIDsAreARandomPrefixAndAZeroPaddedHexCounter() throws {
        var generator = RequestIDGenerator()
        let first = generator.next()
        let parts = first.split(separator: "-")
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].count, 16)
        XCTAssertEqual(parts[1], "00000001")
        for _ in 2...0x1F { _ = generator.next() }
        XCTAssertEqual(generator.next(), parts[0] + "-00000020")
        XCTAssertTrue(RequestIDGenerator.isAcceptable(first), "our own ids pass our echo rule")
        var another = RequestIDGenerator()
        XCTAssertNotEqual(another.next(), first, "each generator draws its own prefix")
    }
}
