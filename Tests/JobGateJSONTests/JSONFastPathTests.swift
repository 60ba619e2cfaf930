import Foundation
import XCTest
import JobGateJSON

/// The parser and serializer scan eight bytes at a time and filter duplicate keys by fingerprint; these pin
/// that the shortcuts decide exactly what a byte-by-byte reading and plain string comparison would.
final class JSONFastPathTests: XCTestCase {
    /// SplitMix64: the same values on every run, so a failure reproduces.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
    }

    /// What the serializer must write, one scalar at a time.
    static func reference(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let bool): return bool ? "true" : "false"
        case .number(let number): return number.literal
        case .string(let string): return quoted(string)
        case .array(let array): return "[" + array.map(reference).joined(separator: ",") + "]"
        case .object(let object):
            return "{" + object.map { quoted($0.key) + ":" + reference($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Plain text with now and then a character that needs an escape, or one whose UTF-8 starts like
    /// U+2028 does (0xE2) without being it, at every offset a word scan can meet it.
    static let palette: [String] = ["a", "b", "Z", "0", " ", "-", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{C}",
                                    "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}", "\u{2027}",
                                    "\u{202A}", "€", "\u{2000}", "é", "漢", "😀", "/"]

    static func randomString(_ generator: inout SeededGenerator) -> String {
        let length = Int.random(in: 0...40, using: &generator)
        let plainShare = Int.random(in: 0...10, using: &generator)
        return (0..<length).map { _ in
            Int.random(in: 0...10, using: &generator) < plainShare ? "x" : palette.randomElement(using: &generator)!
        }.joined()
    }

    static func randomValue(_ generator: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0...(depth < 3 ? 7 : 4), using: &generator) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .number(JSONNumber(Int64.random(in: -1_000_000...1_000_000, using: &generator)))
        case 3, 4: return .string(randomString(&generator))
        case 5: return .array((0..<Int.random(in: 0...5, using: &generator)).map { _ in randomValue(&generator, depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...20, using: &generator) {
                object[randomString(&generator)] = randomValue(&generator, depth: depth + 1)
            }
            return .object(object)
        }
    }

    func testSerializerMatchesTheReferenceAndRoundTrips() throws {
        var generator = SeededGenerator(state: 42)
        for round in 0..<3_000 {
            let value = Self.randomValue(&generator)
            let bytes = JSON.serialize(value)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), Self.reference(value), "round \(round)")
            XCTAssertEqual(try JSON.parse(bytes, limits: JSONLimits(maxDepth: 16)), value, "round \(round)")
        }
    }

    func testSerializingIntoAppendsAndGrowsPastTheFirstAllocation() {
        let long = String(repeating: "plain text \u{1} é \u{2028} ", count: 400)
        let value: JSONValue = ["long": .string(long), "list": .array((0..<300).map { .number(JSONNumber(Int64($0))) })]
        var buffer = Array("prefix".utf8)
        JSON.serialize(value, into: &buffer)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "prefix" + Self.reference(value))
        var quoted = Array("=".utf8)
        JSON.serialize(string: long, into: &quoted)
        XCTAssertEqual(String(decoding: quoted, as: UTF8.self), "=" + Self.quoted(long))
    }

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
