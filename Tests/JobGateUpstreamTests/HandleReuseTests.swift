import Foundation
import XCTest
@testable import JobGateUpstream

/// Calls one after the other share one pooled easy handle, which keeps options between calls: nothing one call
/// sets may reach the next, whether the next has the same configuration (the handle is taken as it is) or
/// another one (the handle is set up anew).
final class HandleReuseTests: FaultServerTestCase {
    /// What /echo saw: method, request target, body, and the request headers by lower-case name.
    func echo(_ request: UpstreamRequest) throws -> (method: String?, target: String?, body: String?, headers: [String: String]) {
        let echo = try json(call(request))
        return (echo["method"] as? String, echo["path"] as? String, echo["body"] as? String,
                echo["headers"] as? [String: String] ?? [:])
    }

    func testEachCallSendsItsOwnMethodAndBody() throws {
        let long = #"{"name":"a body longer than the next one's","goalQuantity":75}"#
        var sent = try echo(request("/echo", method: "PATCH", body: long))
        XCTAssertEqual(sent.method, "PATCH")
        XCTAssertEqual(sent.body, long)
        sent = try echo(request("/echo", method: "PUT", body: #"{"a":1}"#))
        XCTAssertEqual(sent.method, "PUT")
        XCTAssertEqual(sent.body, #"{"a":1}"#)
        XCTAssertEqual(sent.headers["content-length"], "7")
        sent = try echo(request("/echo", method: "PUT", body: long))
        XCTAssertEqual(sent.body, long)
        sent = try echo(request("/echo"))
        XCTAssertEqual(sent.method, "GET", "a GET after a PUT")
        XCTAssertEqual(sent.body, "")
        XCTAssertNil(sent.headers["content-length"])
        sent = try echo(request("/echo", method: "POST"))
        XCTAssertEqual(sent.method, "POST")
        XCTAssertEqual(sent.body, "")
        XCTAssertEqual(sent.headers["content-length"], "0")
        let head = try call(request("/echo", method: "HEAD")).get()
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, [])
        sent = try echo(request("/echo"))
        XCTAssertEqual(sent.method, "GET", "a GET after a HEAD")
        XCTAssertEqual(sent.body, "")
        sent = try echo(request("/echo", method: "DELETE"))
        XCTAssertEqual(sent.method, "DELETE")
        XCTAssertEqual(sent.headers["content-length"], "0")
        let client = self.client!
        XCTAssertEqual(onLoop { client.value!.pooledHandles }, 1, "one handle, taken from the pool for every call")
    }

    func testEachCallSendsItsOwnHeaders() throws {
        var many = request("/echo", method: "PUT", body: "{}")
        many.headers = (0..<20).map { (name: "X-Many-\($0)", value: String(repeating: "v", count: 40)) }
        XCTAssertEqual(try echo(many).headers.keys.filter { $0.hasPrefix("x-many-") }.count, 20)
        var few = request("/echo", method: "PUT", body: "{}")
        few.headers = [(name: "X-Few", value: "1")]
        let headers = try echo(few).headers
        XCTAssertEqual(headers["x-few"], "1")
        XCTAssertEqual(headers.keys.filter { $0.hasPrefix("x-many-") }, [])
        XCTAssertNil(headers["expect"])
        var none = request("/echo")
        none.headers = []
        XCTAssertNil(try echo(none).headers["x-few"])
    }

    /// A timeout belongs to its call: a later call on the same configuration has its own.
    func testEachCallHasItsOwnTimeout() throws {
        XCTAssertEqual(try call(request("/ok", timeout: 1)).get().status, 200)
        XCTAssertEqual(try call(request("/slow?ms=1500")).get().status, 200)
        XCTAssertEqual(call(request("/stall-body", timeout: 0.2)).failure, .timeout(requestSent: true))
        XCTAssertEqual(try call(request("/slow?ms=500")).get().status, 200)
    }

    /// The prereq callback that stops a write's repeat must not stay for a read, whose repeat is safe.
    func testReadAfterAWriteIsRepeatedByLibcurl() throws {
        XCTAssertEqual(try call(write("/close-on-reuse")).get().status, 200)
        let before = try serverStats()
        XCTAssertEqual(try call(request("/close-on-reuse")).get().status, 200)
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 2)
    }

    func testWriteAfterAReadIsNotSentAgain() throws {
        XCTAssertEqual(try call(request("/close-on-reuse")).get().status, 200)
        let before = try serverStats()
        XCTAssertEqual(call(write("/close-on-reuse")).failure, .closedBeforeAnswer(requestSent: true))
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 1, "the write reached the vendor twice")
    }

    /// Idempotent or not, calls of one method kind share a handle as it is: the guard follows each call.
    func testWriteAndIdempotentCallOfOneKindEachGetTheirOwnRepeatGuard() throws {
        XCTAssertEqual(try call(write("/close-on-reuse")).get().status, 200)
        var before = try serverStats()
        XCTAssertEqual(try call(request("/close-on-reuse", method: "PATCH", body: "{}")).get().status, 200)
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 2, "an idempotent call's repeat was stopped")
        XCTAssertEqual(try call(request("/ok", method: "PATCH", body: "{}")).get().status, 200)
        before = try serverStats()
        XCTAssertEqual(call(write("/close-on-reuse")).failure, .closedBeforeAnswer(requestSent: true))
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 1, "the write reached the vendor twice")
    }

    /// libcurl counts the repeats it made on a handle and gives up after five: the count must not carry over
    /// from earlier calls.
    func testEveryReadOnAClosedPooledConnectionIsRepeated() throws {
        XCTAssertEqual(try call(request("/close-on-reuse")).get().status, 200)
        let before = try serverStats()
        for _ in 0..<8 { XCTAssertEqual(try call(request("/close-on-reuse")).get().status, 200) }
        XCTAssertEqual(try serverStats()["requests"]! - before["requests"]!, 16)
    }

    /// A write that may not trust a pooled connection asks for a new one; the next write may trust one again.
    func testFreshConnectionIsForOneCallOnly() throws {
        XCTAssertEqual(try call(write("/ok")).get().status, 200)
        let before = try serverStats()["connections"]!
        var distrustful = write("/ok")
        distrustful.options.keepAliveSeconds = 0
        XCTAssertEqual(try call(distrustful).get().status, 200)
        for _ in 0..<3 { XCTAssertEqual(try call(write("/ok")).get().status, 200) }
        XCTAssertEqual(try serverStats()["connections"]! - before, 1, "writes after the distrustful one did not reuse")
    }

    /// Calls to the handle's origin are given by request target (see `RequestTarget`): each sends its own path
    /// and query byte for byte, and the host it names. A URL libcurl must normalize (a dot segment, a fragment)
    /// and a call to another origin are given whole, and the next call to the first origin by target again.
    func testEachCallSendsItsOwnTargetToItsOwnOrigin() throws {
        func sent(_ path: String, port: Int? = nil) throws -> (target: String?, host: String?) {
            let answer = try echo(request(path, port: port))
            return (answer.target, answer.headers["host"])
        }
        let host = "127.0.0.1:\(port)", otherHost = "127.0.0.1:\(controlPort)"
        var seen = try sent("/echo/a%2Fb%C3%A9?x=%2F&y=1")
        XCTAssertEqual(seen.target, "/echo/a%2Fb%C3%A9?x=%2F&y=1")
        XCTAssertEqual(seen.host, host)
        XCTAssertEqual(try sent("/echo/c").target, "/echo/c")
        seen = try sent("/echo/d", port: controlPort)
        XCTAssertEqual(seen.target, "/echo/d")
        XCTAssertEqual(seen.host, otherHost, "the call went to the other origin")
        seen = try sent("/echo/e")
        XCTAssertEqual(seen.target, "/echo/e")
        XCTAssertEqual(seen.host, host, "back to the first origin")
        XCTAssertEqual(try sent("/echo/../echo/f").target, "/echo/f", "libcurl removes a dot segment")
        XCTAssertEqual(try sent("/echo/g#part").target, "/echo/g", "libcurl cuts off a fragment")
        XCTAssertEqual(try sent("/echo/.h").target, "/echo/.h")
        seen = try sent("/echo/i", port: controlPort)
        XCTAssertEqual(seen.target, "/echo/i")
        XCTAssertEqual(seen.host, otherHost)
        seen = try sent("/echo/j?")
        XCTAssertEqual(seen.target, "/echo/j?")
        XCTAssertEqual(seen.host, host)
        seen = try sent("/echo/k", port: controlPort)
        XCTAssertEqual(seen.target, "/echo/k")
        XCTAssertEqual(seen.host, otherHost, "by target after a whole URL to another origin")
        let client = self.client!
        XCTAssertEqual(onLoop { client.value!.pooledHandles }, 1, "one handle, taken from the pool for every call")
    }
}
