#if canImport(Glibc)
import Glibc
#endif
import JobGateJSON
import Synchronization

/// Structured JSON-lines logging to stdout. Lines are written whole with one write(2), so lines from
/// different loop threads never interleave.
public final class Log: Sendable {
    public let level: Settings.LogLevel

    public init(level: Settings.LogLevel) {
        self.level = level
    }

    public func enabled(_ level: Settings.LogLevel) -> Bool { level >= self.level }

    public func log(_ level: Settings.LogLevel, _ event: String, _ fields: JSONObject = JSONObject()) {
        guard enabled(level) else { return }
        var line = JSONObject()
        line["time"] = .string(rfc3339Now())
        line["level"] = .string(level.rawValue)
        line["event"] = .string(event)
        for (key, value) in fields { line[key] = value }
        var bytes = JSON.serialize(.object(line))
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    public func info(_ event: String, _ fields: JSONObject = JSONObject()) { log(.info, event, fields) }
    public func warn(_ event: String, _ fields: JSONObject = JSONObject()) { log(.warn, event, fields) }
    public func error(_ event: String, _ fields: JSONObject = JSONObject()) { log(.error, event, fields) }
}

/// The current UTC time as RFC 3339 with milliseconds.
func rfc3339Now() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return rfc3339(seconds: Int64(now.tv_sec), milliseconds: Int(now.tv_nsec / 1_000_000))
}

func rfc3339(seconds: Int64, milliseconds: Int? = nil) -> String {
    var t = time_t(seconds)
    var parts = tm()
    gmtime_r(&t, &parts)
    func pad(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    var text = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
        + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    if let milliseconds { text += "." + pad(Int32(milliseconds), 3) }
    return text + "Z"
}
