import Foundation
import XCTest
import JobGatePosix
@testable import JobGateUpstream

/// The upstream client's transport: requests as planned, pooling, timeouts, faults, cancellation, leaks.
final class UpstreamClientTests: FaultServerTestCase {
    func testRequestIsSentAsPlanned() throws {
        let echo = try json(call(request("/echo?q=1", method: "PATCH", body: #"{"name":"x"}"#)))
        XCTAssertEqual(echo["method"] as? String, "PATCH")
        XCTAssertEqual(echo["path"] as? String, "/echo?q=1")
        XCTAssertEqual(echo["body"] as? String, #"{"name":"x"}"#)
        let headers = try XCTUnwrap(echo["headers"] as? [String: String])
        XCTAssertEqual(headers["x-test"], "1")
        XCTAssertNil(headers["expect"], "no 100-continue round trip")
        let response = try call(request("/ok")).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("content-type"), "application/json")
    }

    func testKeepAliveReusesOneConnection() throws {
        let before = try serverStats()["connections"]
        for _ in 0..<50 { XCTAssertEqual(try call(request("/ok")).get().status, 200) }
        let after = try serverStats()["connections"]
        XCTAssertEqual(after.map { $0 - 1 }, before, "sequential calls must reuse the cached connection")
    }

    func testSlowServerTimesOutWithinBudget() {
        let started = Date()
        let result = call(request("/slow?ms=3000", timeout: 0.5))
        XCTAssertEqual(result.failure, .timeout(requestSent: true))
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
    }

    func testResetMidBody() {
        XCTAssertEqual(call(request("/reset")).failure, .connectionReset(requestSent: true))
    }

    func testStalledBodyTimesOut() {
        XCTAssertEqual(call(request("/stall-body", timeout: 0.5)).failure, .timeout(requestSent: true))
    }

    func testOversizedBodyFailsCleanlyAndSmallerCapFits() throws {
        XCTAssertEqual(call(request("/big?bytes=10485760")).failure, .bodyTooLarge)
        let response = try call(request("/big?bytes=10485760", cap: 16 * 1024 * 1024)).get()
        XCTAssertEqual(response.body.count, 10 * 1024 * 1024)
    }

    func testRefusedPort() throws {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                _ = bind(socket, sa, length)
                _ = getsockname(socket, sa, &length)
            }
        }
        let closedPort = Int(UInt16(bigEndian: address.sin_port))
        close(socket)
        XCTAssertEqual(call(request("/ok", port: closedPort)).failure, .connectionRefused)
    }

    func testGarbageResponseIsMalformed() {
        XCTAssertEqual(call(request("/garbage")).failure, .malformedResponse)
    }

    func testPlainHTTPRefusedUnlessAllowed() {
        var plain = request("/ok")
        plain.options.allowPlainHTTP = false
        XCTAssertEqual(call(plain).failure, .protocolNotAllowed)
    }

    func testServerClosingKeepAliveIsHandled() throws {
        for _ in 0..<5 {
            XCTAssertEqual(try call(request("/close")).get().status, 200)
            XCTAssertEqual(try call(request("/ok")).get().status, 200)
        }
    }

    func testIdleConnectionDroppedByServerIsForgottenAndReplaced() throws {
        let client = self.client!
        XCTAssertEqual(try call(request("/idle-close?ms=50")).get().status, 200)
        // Idle in curl's cache, the socket stays registered with our loop until the server closes it.
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(onLoop { client.value!.watchedSockets }, 0, "the closed idle socket is still registered")
        for _ in 0..<3 { XCTAssertEqual(try call(request("/ok")).get().status, 200) }
        XCTAssertEqual(onLoop { client.value!.watchedSockets }, 1, "one live pooled connection, watched once")
    }

    func testFiveHundredConcurrentCalls() {
        let results = call(Array(repeating: request("/slow?ms=20"), count: 500), wait: 60)
        XCTAssertEqual(results.count, 500)
        XCTAssertEqual(results.filter { (try? $0.get().status) == 200 }.count, 500)
    }

    func testCancelledCallNeverCompletesAndIsReclaimed() {
        let client = self.client!
        let completed = SharedBox(false)
        let id = onLoop { client.value!.send(self.request("/slow?ms=1500")) { _ in completed.value = true } }
        Thread.sleep(forTimeInterval: 0.1)
        onLoop { client.value!.cancel(id) }
        XCTAssertEqual(onLoop { client.value!.activeCalls }, 0)
        Thread.sleep(forTimeInterval: 1.6)
        XCTAssertFalse(onLoop { completed.value })
    }

    func testNoHandleOrDescriptorLeaksOverThousandsOfCalls() throws {
        _ = call(request("/ok"))
        let descriptorsBefore = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        for _ in 0..<20 {
            let batch = call(Array(repeating: request("/ok"), count: 100))
            XCTAssertEqual(batch.filter { (try? $0.get().status) == 200 }.count, 100)
        }
        let client = self.client!
        XCTAssertEqual(onLoop { client.value!.activeCalls }, 0)
        XCTAssertLessThanOrEqual(onLoop { client.value!.pooledHandles }, 64)
        let descriptorsAfter = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        // Cached connections may stay open (bounded by the cache), but nothing grows per call.
        XCTAssertLessThan(descriptorsAfter - descriptorsBefore, 120)
    }
}
