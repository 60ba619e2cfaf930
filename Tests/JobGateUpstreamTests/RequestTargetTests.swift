import XCTest
@testable import JobGateUpstream

/// Which URLs are split into an origin and a request target sent as written, and where.
final class RequestTargetTests: XCTestCase {
    func split(_ url: String) -> (origin: String, target: String)? {
        var url = url
        return url.withUTF8 { bytes in
            RequestTarget.start(in: bytes).map {
                (String(decoding: bytes[..<$0], as: UTF8.self), String(decoding: bytes[$0...], as: UTF8.self))
            }
        }
    }

    func testURLsLibcurlWouldSendUnchangedAreSplit() {
        for (url, origin, target) in [
            ("http://127.0.0.1:8080/api/jobs/job_abc123", "http://127.0.0.1:8080", "/api/jobs/job_abc123"),
            ("https://api.vendor.example/v2/jobs/a%2Fb%c3%A9?expand=all&x=%2F", "https://api.vendor.example",
             "/v2/jobs/a%2Fb%c3%A9?expand=all&x=%2F"),
            ("https://user:secret@h.example:443/a/b//c", "https://user:secret@h.example:443", "/a/b//c"),
            ("https://h/", "https://h", "/"),
            ("https://h/jobs/x.y/z~!$&'()*+,;=:@-_", "https://h", "/jobs/x.y/z~!$&'()*+,;=:@-_"),
        ] {
            XCTAssertEqual(split(url)?.origin, origin, url)
            XCTAssertEqual(split(url)?.target, target, url)
        }
    }

    /// What libcurl's parse of the whole URL would change, refuse or cut off is given to it whole.
    func testURLsLibcurlWouldChangeOrRefuseAreNotSplit() {
        for url in [
            "https://h/api/v1/../jobs/1", "https://h/api/./jobs", "https://h/jobs/.hidden", "https://h/jobs/..",
            "https://h/jobs/1#part", "https://h/jobs/1?", "https://h/jobs/a b", "https://h/jobs/a\r\nX-Injected: 1",
            "https://h/jobs/\u{e9}", "https://h/jobs/a\\b", "https://h/jobs/{id}", "https://h/jobs/a\"b",
            "https://h", "https://h?x=1", "https://h#x", "https:///jobs/1", "h/jobs/1", "https:/h/jobs", "",
        ] {
            XCTAssertNil(split(url), url)
        }
    }

    func testTheCharactersSentAsWrittenAreRFC3986sPathAndQueryCharacters() {
        let expected = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._~!$&'()*+,;=:@/?%".utf8)
        XCTAssertEqual(Set((0...255).map(UInt8.init).filter(RequestTarget.isSentAsWritten)), expected)
    }

    /// The origin a vendor's `Keep-Alive` hint is kept under: the same "scheme://authority" the split uses.
    func testOriginOfAnyURL() {
        for (url, expected) in [("https://h.example:8443/a/b?c", "https://h.example:8443"), ("https://h?x=1", "https://h"),
                              ("https://u:p@h#f", "https://u:p@h"), ("http://127.0.0.1:80", "http://127.0.0.1:80"),
                              ("no scheme/path", "no scheme/path")] {
            XCTAssertEqual(origin(of: url), expected[...], url)
        }
    }
}
