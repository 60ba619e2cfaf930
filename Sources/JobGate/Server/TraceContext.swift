import JobGateCore
import JobGateHTTP

/// W3C trace context: the upstream hop gets the caller's trace id and a span id of its own.
enum TraceContext {
    static func childTraceparent(_ value: String) -> String? {
        let parts = value.trimmingASCIIWhitespace().split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { CanonicalValidation.hexDigit($0) != nil && !(0x41...0x46).contains($0) } }),
              parts[1] != Substring(String(repeating: "0", count: 32)), parts[2] != Substring(String(repeating: "0", count: 16))
        else { return nil }
        var generator = SystemRandomNumberGenerator()
        var span: UInt64 = 0
        while span == 0 { span = generator.next() }
        return "00-\(parts[1])-\(String(span, radix: 16).leftPadded(to: 16))-\(parts[3])"
    }
}
