import Foundation
import XCTest
import JobGatePosix
@testable import JobGateUpstream

/// Tests of the upstream client against a real local server (Tests/fixtures/fault_server.py) over real
/// sockets: one server per test class (started with `serverArguments()`), a fresh loop and client per test.
class FaultServerTestCase: XCTestCase {
    nonisolated(unsafe) private static var servers: [ObjectIdentifier: (process: Process, ports: [Int])] = [:]
    var loop: EventLoop!
    var client: SharedBox<UpstreamClient?>!

    /// Extra command-line arguments for the server (e.g. `--tls CERT KEY`).
    class func serverArguments() throws -> [String] { [] }
    /// "http" or "https", to match `serverArguments`.
    class var scheme: String { "http" }

    var port: Int { Self.servers[ObjectIdentifier(Self.self)]?.ports.first ?? 0 }
    /// Plain HTTP, for `serverStats`.
    var controlPort: Int { Self.servers[ObjectIdentifier(Self.self)]?.ports.last ?? 0 }

    override class func setUp() {
        super.setUp()
        let process = Process()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../fixtures/fault_server.py").standardized
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        guard let arguments = try? serverArguments() else { return }
        process.arguments = ["python3", script.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        try? process.run()
        var line = Data()
        while let byte = try? output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        servers[ObjectIdentifier(self)] = (process, String(decoding: line, as: UTF8.self).split(separator: " ").compactMap { Int($0) })
    }

    override class func tearDown() {
        servers.removeValue(forKey: ObjectIdentifier(self))?.process.terminate()
        super.tearDown()
    }

    override func setUpWithError() throws {
        XCTAssertNotEqual(port, 0, "fault server did not start")
        let loop = try EventLoop(index: 0)
        self.loop = loop
        Thread { loop.run() }.start()
        let client = SharedBox<UpstreamClient?>(nil)
        onLoop { client.value = UpstreamClient(loop: loop) }
        self.client = client
    }

    override func tearDown() {
        let client = self.client!
        onLoop { client.value = nil }
        loop.stop()
    }

    /// Runs `body` on the loop thread and waits for it.
    func onLoop<T>(_ body: @escaping () -> T) -> T {
        let box = SharedBox<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let work = SharedBox(body)
        loop.execute {
            box.value = work.value()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    func request(_ path: String, method: String = "GET", body: String = "", timeout: Double = 5,
                 cap: Int = 4 * 1024 * 1024, port: Int? = nil) -> UpstreamRequest {
        var options = UpstreamOptions()
        options.allowPlainHTTP = true
        options.timeout = .seconds(timeout)
        options.maxResponseBytes = cap
        return UpstreamRequest(method: method, url: "\(Self.scheme)://127.0.0.1:\(port ?? self.port)\(path)",
                               headers: [(name: "X-Test", value: "1"), (name: "Content-Type", value: "application/json")],
                               body: Array(body.utf8), options: options)
    }

    /// A PATCH the client must never send twice.
    func write(_ path: String, body: String = #"{"name":"x"}"#) -> UpstreamRequest {
        var write = request(path, method: "PATCH", body: body)
        write.options.idempotent = false
        return write
    }

    /// Sends calls at once and waits for all results.
    func call(_ requests: [UpstreamRequest], wait: Double = 30) -> [Result<UpstreamResponse, UpstreamFailure>] {
        let results = SharedBox<[Int: Result<UpstreamResponse, UpstreamFailure>]>([:])
        let done = DispatchSemaphore(value: 0)
        let client = self.client!
        let all = SharedBox(requests)
        loop.execute {
            for (index, request) in all.value.enumerated() {
                client.value!.send(request) { result in
                    results.value[index] = result
                    if results.value.count == all.value.count { done.signal() }
                }
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + wait), .success, "calls did not complete")
        return onLoop { (0..<requests.count).compactMap { results.value[$0] } }
    }

    func call(_ request: UpstreamRequest) -> Result<UpstreamResponse, UpstreamFailure> {
        call([request])[0]
    }

    func json(_ result: Result<UpstreamResponse, UpstreamFailure>) throws -> [String: Any] {
        let response = try result.get()
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    /// The server's counters (connections, handshakes, resumed, requests), asked on its control port, which
    /// neither counts nor shares a connection with the calls under test.
    func serverStats() throws -> [String: Int] {
        var stats = request("/stats", port: controlPort)
        stats.url = "http://127.0.0.1:\(controlPort)/stats"
        return try XCTUnwrap(json(call(stats)) as? [String: Int])
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}

/// A value the test thread and the loop thread hand to each other (the loop writes, the test reads after
/// waiting): not loop-confined, so it takes a lock instead of a LoopBound's confinement check.
final class SharedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: Value

    init(_ value: Value) {
        storage = value
    }

    var value: Value {
        get { lock.withLock { storage } }
        set { lock.withLock { storage = newValue } }
    }
}
