import Foundation
import XCTest
@testable import JobGateUpstream

/// Calls that are not idempotent use pooled connections and still reach the vendor at most once.
final class WriteSafetyTests: FaultServerTestCase {
    /// The vendor's idle timer fires just as a pooled connection is reused: libcurl would send the write again on
    /// a new connection (the server would answer that one); the client stops the repeat instead.
    func testWriteOnAConnectionClosedAtTheMomentOfReuseIsNotSentAgain() throws {
        XCTAssertEqual(try call(write("/close-on-reuse")).get().status, 200)
        let before = try serverStats()
        XCTAssertEqual(call(write("/close-on-reuse")).failure, .closedBeforeAnswer(requestSent: true))
        let after = try serverStats()
        // libcurl connects anew before the repeat is stopped: that connection closes without a byte sent.
        XCTAssertEqual(after["requests"]! - before["requests"]!, 1, "the write reached the vendor twice")
    }

    func testReadOnAConnectionClosedAtTheMomentOfReuseIsRepeated() throws {
        XCTAssertEqual(try call(request("/close-on-reuse")).get().status, 200)
        let before = try serverStats()
        XCTAssertEqual(try call(request("/close-on-reuse")).get().status, 200, "libcurl's own repeat, safe for a read")
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 2)
    }

    /// The vendor may have acted on the request it read: on a pooled connection as on a new one, once only.
    func testWriteAnsweredByAClosedConnectionIsNotSentAgain() throws {
        XCTAssertEqual(try call(write("/ok")).get().status, 200)
        let before = try serverStats()
        XCTAssertEqual(call(write("/close-after-request")).failure, .closedBeforeAnswer(requestSent: true))
        XCTAssertEqual(call(write("/close-after-request")).failure, .connectionReset(requestSent: true),
                       "on a new connection libcurl does not repeat, and says it got nothing")
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 2)
    }

    /// `Keep-Alive: timeout=1`: the vendor drops connections idle for a second, so a write never trusts one.
    func testAdvertisedKeepAliveShorterThanReuseWindowKeepsWritesOffPooledConnections() throws {
        XCTAssertEqual(try call(write("/close-on-reuse?keepalive=1")).get().status, 200)
        let before = try serverStats()
        for _ in 0..<3 { XCTAssertEqual(try call(write("/close-on-reuse?keepalive=1")).get().status, 200) }
        let after = try serverStats()
        XCTAssertEqual(after["requests"]! - before["requests"]!, 3)
        XCTAssertEqual(after["connections"]! - before["connections"]!, 3)
    }

    func testConnectionIdleLongerThanKeepAliveIsNotReused() throws {
        var shortLived = write("/ok")
        shortLived.options.keepAliveSeconds = 1
        XCTAssertEqual(try call(shortLived).get().status, 200)
        XCTAssertEqual(try call(shortLived).get().status, 200)
        let before = try serverStats()["connections"]!
        Thread.sleep(forTimeInterval: 1.1)
        XCTAssertEqual(try call(shortLived).get().status, 200)
        XCTAssertEqual(try serverStats()["connections"]! - before, 1, "a connection idle past keepAliveSeconds was reused")
    }

    /// A call that may be repeated trusts a connection idle past the write window (libcurl repeats it on a new
    /// connection should the vendor have closed that one); a write after the same pause does not.
    func testRepeatableCallReusesAConnectionIdlePastTheWriteWindow() throws {
        var read = request("/ok")
        read.options.keepAliveSeconds = 1
        var shortLived = write("/ok")
        shortLived.options.keepAliveSeconds = 1
        XCTAssertEqual(try call(read).get().status, 200)
        let before = try serverStats()["connections"]!
        Thread.sleep(forTimeInterval: 1.1)
        XCTAssertEqual(try call(read).get().status, 200)
        XCTAssertEqual(try serverStats()["connections"]! - before, 0, "a read after a pause opened a new connection")
        Thread.sleep(forTimeInterval: 1.1)
        XCTAssertEqual(try call(shortLived).get().status, 200)
        XCTAssertEqual(try serverStats()["connections"]! - before, 1, "a write reused a connection idle past its window")
    }

    func testThousandSequentialWritesShareAFewConnections() throws {
        let before = try serverStats()
        for index in 0..<1000 {
            XCTAssertEqual(try call(write("/ok", body: #"{"n":\#(index)}"#)).get().status, 200)
        }
        let after = try serverStats()
        XCTAssertEqual(after["requests"]! - before["requests"]!, 1000)
        XCTAssertLessThanOrEqual(after["connections"]! - before["connections"]!, 3)
    }

    func testKeepAliveTimeoutIsReadFromTheFieldLine() {
        func timeout(_ line: String) -> Int? {
            Array(line.utf8).withUnsafeBytes { Transfer.keepAliveTimeout($0) }
        }
        XCTAssertEqual(timeout("Keep-Alive: timeout=5"), 5)
        XCTAssertEqual(timeout("keep-alive: max=100, TIMEOUT=15"), 15)
        XCTAssertNil(timeout("Keep-Alive: max=100"))
        XCTAssertNil(timeout("Keep-Alive: timeout="))
        XCTAssertNil(timeout("Connection: keep-alive"))
    }
}
