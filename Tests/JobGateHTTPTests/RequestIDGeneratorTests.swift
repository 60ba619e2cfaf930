import XCTest
@testable import JobGateHTTP

final class RequestIDGeneratorTests: XCTestCase {
    func testIDsAreARandomPrefixAndABase64Counter() throws {
        var generator = RequestIDGenerator()
        let first = generator.next()
        XCTAssertEqual(first.utf8.count, 15, "inline in a Swift string")
        let prefix = first.prefix(8)
        XCTAssertEqual(first.dropFirst(8), "0000001")
        for _ in 2...63 { _ = generator.next() }
        XCTAssertEqual(generator.next(), prefix + "0000010")
        XCTAssertEqual(generator.next(), prefix + "0000011")
        XCTAssertTrue(RequestIDGenerator.isAcceptable(first), "our own ids pass our echo rule")
        var another = RequestIDGenerator()
        XCTAssertNotEqual(another.next(), first, "each generator draws its own prefix")
    }

    func testANewPrefixRatherThanARepeatWhenTheCounterRunsOut() {
        var generator = RequestIDGenerator(after: 1 << 42 - 2)
        let last = generator.next()
        XCTAssertEqual(last.dropFirst(8), "-------")
        let next = generator.next()
        XCTAssertEqual(next.dropFirst(8), "0000001")
        XCTAssertNotEqual(next.prefix(8), last.prefix(8))
    }
}
