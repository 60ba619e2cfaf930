import Foundation
import XCTest
import JobGateJSON

/// The parser scans eight bytes at a time and filters duplicate keys by fingerprint; these pin that the
/// shortcuts decide exactly what a byte-by-byte reading and plain string comparison would.
final class JSONFastPathTests: XCTestCase {
    func testStringScanFindsEveryByteAtEveryOffset() throws {
        for length in 0..<24 {
            for offset in 0..<max(length, 1) {
                for (byte, kind) in [(UInt8(0x01), JSONParseError.Kind.invalidString), (0x1F, .invalidString), (0xFF, .invalidUTF8),
                                     (0x80, .invalidUTF8), (0xC3, .invalidUTF8)] where offset < length {
                    var text = Array(repeating: UInt8(0x61), count: length)
                    text[offset] = byte
                    // Bare, and inside an object so that more document follows the string.
                    for document in [[0x22] + text + [0x22], Array(#"{"k":""#.utf8) + text + Array(#"","z":1}"#.utf8)] {
                        XCTAssertThrowsError(try JSON.parse(document)) { error in
                            XCTAssertEqual((error as? JSONParseError)?.kind, kind, "length \(length) offset \(offset)")
                        }
                    }
                }
                for insert in ["é", "€", "😀", "\\n", "\\u00e9", "\\\""] {
                    let plain = String(repeating: "a", count: length)
                    let index = plain.index(plain.startIndex, offsetBy: offset)
                    let source = String(plain[..<index]) + insert + String(plain[index...])
                    let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data("[\"\(source)\"]".utf8)) as? [String])
                    XCTAssertEqual(try JSON.parse(Array("\"\(source)\"".utf8)), .string(expected[0]), source)
                    XCTAssertEqual(try JSON.parse(Array("{\"\(source)\":1}".utf8)).objectValue?.keys, expected, source)
                }
            }
        }
    }

    func testDuplicateKeysAsStringsCompareThem() throws {
        func duplicate(_ text: String) -> Bool {
            do { _ = try JSON.parse(Array(text.utf8)); return false } catch { return error.kind == .duplicateKey }
        }
        // Swift strings are equal when canonically equivalent; the parser refuses what a lookup would merge.
        XCTAssertTrue(duplicate("{\"K\":1,\"\u{212A}\":2}"))
        XCTAssertTrue(duplicate("{\"\u{212A}\":1,\"K\":2}"))
        XCTAssertTrue(duplicate("{\"K\":1,\"\\u212a\":2}"))
        XCTAssertTrue(duplicate("{\"caf\u{E9}\":1,\"cafe\u{301}\":2}"))
        XCTAssertTrue(duplicate("{\"x\":0,\"a\":1,\"\\u0061\":2}"))
        // Long keys alike but for their middle share a fingerprint and must still count as different.
        XCTAssertFalse(duplicate(#"{"aaaaaaaaXaaaaaaaa":1,"aaaaaaaaYaaaaaaaa":2,"aaaaaaaaZaaaaaaaa":3}"#))
        XCTAssertTrue(duplicate(#"{"aaaaaaaaXaaaaaaaa":1,"aaaaaaaaYaaaaaaaa":2,"aaaaaaaaXaaaaaaaa":3}"#))
        XCTAssertFalse(duplicate(#"{"abcdefgh":1,"abcdefghi":2,"bcdefgh":3,"abcdefg":4}"#))
        // A nested object's keys are its own, before and after it.
        XCTAssertFalse(duplicate(#"{"a":1,"o":{"a":1,"b":2},"b":2,"p":[{"a":1},{"a":2}]}"#))
        XCTAssertTrue(duplicate(#"{"a":1,"o":{"b":1},"a":2}"#))
        XCTAssertTrue(duplicate(#"{"o":{"b":1,"b":2}}"#))
    }

    func testOverflowNeedsAnExponentOrMoreThan308Digits() {
        XCTAssertNoThrow(try JSON.parse(Array(String(repeating: "9", count: 308).utf8)))
        XCTAssertThrowsError(try JSON.parse(Array(String(repeating: "9", count: 309).utf8))) { error in
            XCTAssertEqual((error as? JSONParseError)?.kind, .numberOverflow)
        }
        XCTAssertThrowsError(try JSON.parse(Array(("-" + String(repeating: "9", count: 400) + ".5").utf8))) { error in
            XCTAssertEqual((error as? JSONParseError)?.kind, .numberOverflow)
        }
        XCTAssertThrowsError(try JSON.parse(Array("[1E400]".utf8))) { error in
            XCTAssertEqual((error as? JSONParseError)?.kind, .numberOverflow)
        }
        XCTAssertNoThrow(try JSON.parse(Array("[1e-400, 0.0000001e300]".utf8)))
    }
}
