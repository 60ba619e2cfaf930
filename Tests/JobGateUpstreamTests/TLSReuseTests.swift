import Foundation
import XCTest
@testable import JobGateUpstream

/// TLS paid once: against fault_server.py over HTTPS with a throwaway self-signed certificate, connections are
/// pooled for writes too, a new connection resumes the TLS session, and the CA bundle is read once.
final class TLSReuseTests: FaultServerTestCase {
    nonisolated(unsafe) static var folder: URL!

    override class var scheme: String { "https" }

    override class func serverArguments() throws -> [String] {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobgate-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", folder.appendingPathComponent("key.pem").path,
                             "-out", folder.appendingPathComponent("cert.pem").path,
                             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        return ["--tls", folder.appendingPathComponent("cert.pem").path, folder.appendingPathComponent("key.pem").path]
    }

    override class func tearDown() {
        super.tearDown()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Trusting a copy of the certificate that a test may delete.
    func trusting(_ request: UpstreamRequest, caFile: String) -> UpstreamRequest {
        var request = request
        request.options.allowPlainHTTP = false
        request.options.caFile = caFile
        return request
    }

    func caCopy() throws -> String {
        let copy = Self.folder.appendingPathComponent("ca-\(UUID().uuidString).pem")
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("cert.pem"), to: copy)
        return copy.path
    }

    func testWritesShareOneHandshake() throws {
        let caFile = try caCopy()
        let before = try serverStats()
        for _ in 0..<50 { XCTAssertEqual(try call(trusting(write("/ok"), caFile: caFile)).get().status, 200) }
        let after = try serverStats()
        XCTAssertEqual(after["handshakes"]! - before["handshakes"]!, 1)
        XCTAssertEqual(after["requests"]! - before["requests"]!, 50)
    }

    /// The second connection is made by another easy handle (the first one's call is still running), which
    /// finds the session only in the client's share. Handshakes one after the other: a TLS 1.3 server may turn
    /// down a ticket that several handshakes offer at the same moment.
    func testAnotherHandleResumesTheTLSSession() throws {
        let caFile = try caCopy()
        let before = try serverStats()
        let client = self.client!
        let slow = trusting(request("/slow?ms=1500"), caFile: caFile)
        let slowDone = DispatchSemaphore(value: 0)
        _ = onLoop { client.value!.send(slow) { _ in slowDone.signal() } }
        while try serverStats()["requests"]! == before["requests"]! { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(try call(trusting(request("/ok"), caFile: caFile)).get().status, 200)
        XCTAssertEqual(slowDone.wait(timeout: .now() + 10), .success)
        let after = try serverStats()
        XCTAssertEqual(after["handshakes"]! - before["handshakes"]!, 2)
        XCTAssertEqual(after["resumed"]! - before["resumed"]!, 1, "the second connection did a full handshake")
    }

    /// The parsed CA store is cached: once read, the bundle is not needed again for a new connection.
    func testCABundleIsReadOnce() throws {
        let caFile = try caCopy()
        XCTAssertEqual(try call(trusting(request("/close"), caFile: caFile)).get().status, 200)
        try FileManager.default.removeItem(atPath: caFile)
        XCTAssertEqual(try call(trusting(request("/close"), caFile: caFile)).get().status, 200,
                       "the bundle was read again for the second connection")
    }

    /// A vendor's CA bundle is trusted for its calls only, however the pooled handles are shared out.
    func testCallWithoutTheCAFileAfterOneWithItIsRefused() throws {
        let caFile = try caCopy()
        var untrusted = request("/ok")
        untrusted.options.allowPlainHTTP = false
        for _ in 0..<2 {
            XCTAssertEqual(try call(trusting(request("/ok"), caFile: caFile)).get().status, 200)
            XCTAssertEqual(call(untrusted).failure, .tlsFailure)
        }
        XCTAssertEqual(try call(trusting(write("/ok"), caFile: caFile)).get().status, 200)
        XCTAssertEqual(call(untrusted).failure, .tlsFailure)
    }

    func testUntrustedCertificateIsStillRefused() throws {
        var untrusted = request("/ok")
        untrusted.options.allowPlainHTTP = false
        XCTAssertEqual(call(untrusted).failure, .tlsFailure)
    }
}
