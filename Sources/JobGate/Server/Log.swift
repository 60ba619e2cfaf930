#if canImport(Glibc)
import Glibc
#endif
import JobGateHTTP
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
