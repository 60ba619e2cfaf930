import XCTest
@testable import JobGateHTTP

/// Feeds `wire` to a fresh parser, whole or one byte at a time, and collects what comes out.
private func parse(_ wire: String, byteAtATime: Bool = false, limits: HTTPLimits = HTTPLimits())
    -> (requests: [HTTPRequest], error: HTTPParseError?, continues: Int) {
    var parser = HTTPRequestParser(limits: limits)
    var buffer = ByteBuffer()
    var requests: [HTTPRequest] = []
    var continues = 0
    let bytes = Array(wire.utf8)
    let pieces: [ArraySlice<UInt8>] = byteAtATime ? bytes.indices.map { bytes[$0...$0] } : [bytes[...]]
    for piece in pieces {
        buffer.append(contentsOf: piece)
        while true {
            do {
                switch try parser.parse(&buffer) {
                case .needMore: break
                case .sendContinue: continues += 1; continue
                case .request(let request): requests.append(request); continue
                }
            } catch {
                return (requests, error, continues)
            }
            break
        }
    }
    return (requests, nil, continues)
}

private func status(_ wire: String, limits: HTTPLimits = HTTPLimits()) -> Int? {
    let whole = parse(wire, limits: limits)
    let split = parse(wire, byteAtATime: true, limits: limits)
    XCTAssertEqual(whole.error?.status, split.error?.status, "whole and byte-at-a-time disagree for \(wire.debugDescription)")
    return whole.error?.status
}

final class HTTPRequestParserTests: XCTestCase {
    let get = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"

    func testSimpleRequest() throws {
        for split in [false, true] {
            let result = parse("PATCH /jobs/deck:1?dryRun=true HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}", byteAtATime: split)
            XCTAssertNil(result.error)
            let request = try XCTUnwrap(result.requests.first)
            XCTAssertEqual(request.method, "PATCH")
            XCTAssertEqual(request.path, "/jobs/deck:1")
            XCTAssertEqual(request.query, "dryRun=true")
            XCTAssertEqual(request.headers["content-type"], "application/json")
            XCTAssertEqual(request.headers["Content-Type"], "application/json")
            XCTAssertEqual(String(decoding: request.body, as: UTF8.self), "{\"a\":1}")
            XCTAssertTrue(request.keepAlive)
        }
    }

    func testHeaderFieldsKeepOrderCaseAndValues() throws {
        let wire = "GET / HTTP/1.1\r\nHost: x\r\nPrefer: a\r\nX-Empty:\r\nPREFER:  b, c \r\nX-Note: \u{E9}t\u{E9}\r\n\r\n"
        let request = try XCTUnwrap(parse(wire).requests.first)
        let headers = request.headers
        XCTAssertEqual(headers.count, 5)
        XCTAssertEqual(headers["prefer"], "a", "the first of repeated fields")
        XCTAssertEqual(headers.values("Prefer"), ["a", "b, c"], "values trimmed of surrounding whitespace, in order")
        XCTAssertEqual(headers.count(of: "PREFER"), 2)
        XCTAssertEqual(headers["x-empty"], "")
        XCTAssertNil(headers["x-absent"])
        XCTAssertNil(headers["prefe"], "a prefix of a name is not the name")
        XCTAssertEqual(headers.map(\.name), ["host", "prefer", "x-empty", "prefer", "x-note"],
                       "names lower-cased, in arrival order")
        XCTAssertEqual(headers.map(\.value), ["x", "a", "", "b, c", "\u{E9}t\u{E9}"])
        XCTAssertEqual(headers.firstValueBytes("PREFER").map(Array.init), Array("a".utf8))
        XCTAssertEqual(headers.firstValueBytes("x-empty")?.count, 0)
        XCTAssertNil(headers.firstValueBytes("x-absent"))

        var built = HTTPHeaders([(name: "Job-Vendor", value: "deck")])
        built.append(name: "X-Request-Id", value: "abc")
        XCTAssertEqual(built["job-vendor"], "deck")
        XCTAssertEqual(built["X-REQUEST-ID"], "abc")
        XCTAssertEqual(built.map(\.name), ["job-vendor", "x-request-id"])
    }

    func testPipelinedRequestsInOneRead() {
        let result = parse(get + "PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}" + get)
        XCTAssertNil(result.error)
        XCTAssertEqual(result.requests.map(\.method), ["GET", "PATCH", "GET"])
        XCTAssertEqual(result.requests[1].body, Array("{}".utf8))
    }

    func testChunkedBodySplitAcrossReads() {
        let wire = "PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: ignored\r\n\r\n"
        for split in [false, true] {
            let result = parse(wire + get, byteAtATime: split)
            XCTAssertNil(result.error)
            XCTAssertEqual(result.requests.count, 2)
            XCTAssertEqual(String(decoding: result.requests[0].body, as: UTF8.self), "{\"a\":1}")
            XCTAssertNil(result.requests[0].headers["x-trailer"], "trailers must not become headers")
        }
    }

    func testConnectionSemantics() {
        XCTAssertFalse(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").requests[0].keepAlive)
        XCTAssertFalse(parse("GET / HTTP/1.0\r\n\r\n").requests[0].keepAlive)
        XCTAssertTrue(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").requests[0].keepAlive)
        XCTAssertTrue(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, keep-alive\r\n\r\n").requests[0].keepAlive)
    }

    func testLeadingEmptyLinesAreIgnored() {
        XCTAssertEqual(parse("\r\n\r\n" + get).requests.count, 1)
    }

    func testExpectContinue() {
        let head = "PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        let waiting = parse(head)
        XCTAssertEqual(waiting.continues, 1)
        XCTAssertTrue(waiting.requests.isEmpty)
        let all = parse(head + "{}")
        XCTAssertEqual(all.continues, 0, "no interim response when the body is already here")
        XCTAssertEqual(all.requests.count, 1)
        XCTAssertEqual(status("PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n"), 413)
        XCTAssertEqual(status("PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 2\r\n\r\n{}"), 417)
    }

    // MARK: Framing rejections

    func testContentLengthWithTransferEncoding() {
        XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
    }

    func testBadContentLengths() {
        for value in ["+5", "-1", "0x10", "1_0", "5, 6", "5, 5", "", " ", "123456789012345678901", "1.0", "٣"] {
            XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(value)\r\n\r\n"), 400, "Content-Length: \(value)")
        }
        XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"), 400)
        XCTAssertNil(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"), "identical duplicates are allowed")
    }

    func testTransferEncodings() {
        for value in ["xchunked", "gzip, chunked", "chunked, gzip", "gzip"] {
            XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(value)\r\n\r\n"), 501, value)
        }
        XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n"), 400)
        XCTAssertEqual(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400)
        XCTAssertNil(status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"))
    }

    func testBadChunks() {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        for body in ["-1\r\nx\r\n0\r\n\r\n", "0x2\r\nab\r\n0\r\n\r\n", "fffffffffffffffff\r\n", "2\r\nabX\r\n0\r\n\r\n",
                     "2\r\nab0\r\n\r\n", "\r\n", "g\r\n", "2\nab\r\n0\r\n\r\n", "2 x\r\nab\r\n"] {
            XCTAssertEqual(status(head + body), 400, body.debugDescription)
        }
        var limits = HTTPLimits()
        limits.maxBodyBytes = 4
        XCTAssertEqual(status(head + "3\r\nabc\r\n3\r\nabc\r\n0\r\n\r\n", limits: limits), 413)
    }

    // MARK: Field rejections

    func testFieldLineRejections() {
        let cases = [
            "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",   // obs-fold
            "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n",             // space before colon
            "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",              // empty name
            "GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n",              // non-token name
            "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u{0}b\r\n\r\n",         // NUL
            "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n",            // bare CR
            "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u{7}b\r\n\r\n",         // other control
            "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\nHost: a\n\n",                               // bare LF
            "GET / HTTP/1.1\r\nHost: a\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",                                    // no Host
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",              // two Hosts
            "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",
        ]
        for wire in cases {
            XCTAssertEqual(status(wire), 400, wire.debugDescription)
        }
        XCTAssertNil(status("GET / HTTP/1.0\r\n\r\n"), "HTTP/1.0 needs no Host")
        XCTAssertNil(status("GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\u{e9} \t\r\n\r\n"), "obs-text and trailing whitespace are fine")
    }

    // MARK: Request line

    func testRequestLineRejections() {
        XCTAssertEqual(status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505)
        XCTAssertEqual(status("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505)
        for wire in ["GET / HTTP/1.1x\r\nHost: a\r\n\r\n", "GET / http/1.1\r\nHost: a\r\n\r\n",
                     "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
                     "GET\r\nHost: a\r\n\r\n", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
                     "GET http://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
                     "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", "GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n",
                     "GET /é HTTP/1.1\r\nHost: a\r\n\r\n", "\u{0}GET / HTTP/1.1\r\nHost: a\r\n\r\n"] {
            XCTAssertEqual(status(wire), 400, wire.debugDescription)
        }
    }

    // MARK: Limits

    func testLimits() {
        let longTarget = "/" + String(repeating: "a", count: 9000)
        XCTAssertEqual(status("GET \(longTarget) HTTP/1.1\r\nHost: a\r\n\r\n"), 414)
        XCTAssertEqual(status("GET \(longTarget)"), 414, "414 before the line even ends")
        let bigHeader = "X-Big: " + String(repeating: "b", count: 40_000)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\n\(bigHeader)\r\n\r\n"), 431)
        let manyHeaders = (0..<101).map { "X-\($0): v\r\n" }.joined()
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\n\(manyHeaders)\r\n"), 431)
        XCTAssertEqual(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n"), 413)
        XCTAssertNil(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n"))
    }

    func testOverlongLineFailsAtTheSameByteHoweverItArrives() {
        // Found by Fuzz/run http-parser: whole, a bare LF or CR past the limit gave 400; byte by byte, 414/431.
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 16
        limits.maxHeaderBytes = 64
        XCTAssertEqual(status("GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\nHost: a\r\n\r\n", limits: limits), 414)
        XCTAssertEqual(status("GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\rHost: a\r\n\r\n", limits: limits), 414)
        let bigHeader = "X-Big: " + String(repeating: "b", count: 80)
        XCTAssertEqual(status("GET / HTTP/1.1\r\nHost: a\r\n\(bigHeader)\n\r\n", limits: limits), 431)
    }

    func testIncompleteRequestIsNotAnError() {
        let result = parse("PATCH /jobs/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n{}")
        XCTAssertNil(result.error)
        XCTAssertTrue(result.requests.isEmpty)
    }
}
