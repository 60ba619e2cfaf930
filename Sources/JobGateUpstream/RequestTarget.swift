/// A call's URL in the two parts libcurl can be given apart: the origin ("scheme://authority"), which a handle
/// parses once into a CURLU (CURLOPT_CURLU) and keeps while its calls go to the same vendor, and the request
/// target (path and query), sent as written (CURLOPT_REQUEST_TARGET). Given a whole URL instead, libcurl parses
/// it for every call and writes it out again through its printf: about 12k of the ~148k instructions of a
/// proxied request.
///
/// Only a target that libcurl's own parse would send unchanged is split off: one that starts with "/", is made
/// of RFC 3986 path and query characters only (no space, control byte, non-ASCII byte or "#", which libcurl
/// would refuse, encode or cut off), holds no "/." (a dot segment libcurl would remove; a name that merely
/// starts with a dot goes the whole way too) and does not end in "?". Any other URL is handed over whole, as
/// before, and meets libcurl's checks and errors.
enum RequestTarget {
    /// Where the target starts in `url` (so the origin is the bytes before it), if the URL can be split.
    static func start(in url: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let (authority, end) = authority(in: url), end > authority, end < url.count,
              url[end] == UInt8(ascii: "/"), url[url.count - 1] != UInt8(ascii: "?") else { return nil }
        var previous: UInt8 = 0
        for byte in url[end...] {
            guard isSentAsWritten(byte), !(previous == UInt8(ascii: "/") && byte == UInt8(ascii: ".")) else { return nil }
            previous = byte
        }
        return end
    }

    /// Where a URL's authority starts (after "://") and ends (at the first "/", "?" or "#" after it, or at the
    /// end); nil without "://" after the scheme.
    static func authority(in url: UnsafeBufferPointer<UInt8>) -> (start: Int, end: Int)? {
        // The scheme's characters exclude ":", so the first ":" ends it.
        guard let colon = url.firstIndex(of: UInt8(ascii: ":")), colon + 3 <= url.count,
              url[colon + 1] == UInt8(ascii: "/"), url[colon + 2] == UInt8(ascii: "/") else { return nil }
        let start = colon + 3
        let end = url[start...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
        return (start, end ?? url.count)
    }

    /// RFC 3986's unreserved and sub-delims characters, ":", "@", "/", "?" and "%" (percent-encodings, which
    /// libcurl keeps as they are, letter case included): one bit per ASCII byte, in two words (a test spells the
    /// set out).
    static func isSentAsWritten(_ byte: UInt8) -> Bool {
        let word: UInt64 = byte < 64 ? 0xAFFF_FFF2_0000_0000 : byte < 128 ? 0x47FF_FFFE_87FF_FFFF : 0
        return word >> (byte & 63) & 1 == 1
    }
}
