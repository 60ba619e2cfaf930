import XCTest
@testable import JobGateHTTP

final class ResponseHeadTests: XCTestCase {
    private func head(_ response: HTTPResponse, keepAlive: Bool = true, version: HTTPVersion = .http1_1) -> String {
        var output: [UInt8] = []
        writeResponseHead(response, requestID: "rid-1", keepAlive: keepAlive, version: version,
                          date: Array("Thu, 01 Jan 2026 00:00:00 GMT".utf8), into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    func testStatusLineHeadersAndFraming() {
        let response = HTTPResponse(status: 422, headers: [(name: "Content-Type", value: "application/json"),
                                                           (name: "X-Bad", value: "a\r\nInjected: 1"), (name: "X-Ok", value: "é")],
                                    body: Array("{}".utf8))
        XCTAssertEqual(head(response), "HTTP/1.1 422 Unprocessable Content\r\nContent-Type: application/json\r\nX-Ok: é\r\n"
                       + "Content-Length: 2\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nX-Request-Id: rid-1\r\n\r\n")
    }

    func testStatusesWithoutAPhraseAndConnectionHeaders() {
        XCTAssertTrue(head(HTTPResponse(status: 299)).hasPrefix("HTTP/1.1 299 Status\r\n"))
        XCTAssertTrue(head(HTTPResponse(status: 600)).hasPrefix("HTTP/1.1 600 Status\r\n"))
        XCTAssertTrue(head(HTTPResponse(status: 204)).hasPrefix("HTTP/1.1 204 No Content\r\nDate: "))
        XCTAssertTrue(head(HTTPResponse(status: 505)).hasPrefix("HTTP/1.1 505 HTTP Version Not Supported\r\n"))
        XCTAssertTrue(head(HTTPResponse(status: 200), keepAlive: false).hasSuffix("Connection: close\r\n\r\n"))
        XCTAssertTrue(head(HTTPResponse(status: 200), version: .http1_0).hasSuffix("Connection: keep-alive\r\n\r\n"))
    }

    func testContentLengthDigitsAndAHeadAfterEarlierOutput() {
        for (count, digits) in [(0, "0"), (9, "9"), (10, "10"), (1234, "1234"), (1_048_576, "1048576")] {
            XCTAssertTrue(head(HTTPResponse(status: 200, body: [UInt8](repeating: 0x20, count: count)))
                .contains("\r\nContent-Length: \(digits)\r\n"), "\(count)")
        }
        // A pipelined response goes after what is still unsent.
        var output = Array("earlier".utf8)
        writeResponseHead(HTTPResponse(status: 200), requestID: "r", keepAlive: true, version: .http1_1,
                          date: Array("D".utf8), into: &output)
        XCTAssertEqual(String(decoding: output, as: UTF8.self),
                       "earlierHTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: D\r\nX-Request-Id: r\r\n\r\n")
    }
}
