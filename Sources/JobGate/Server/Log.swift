#if canImport(Glibc)
import Glibc
#endif
import JobGateHTTP
import JobGateJSON
import JobGateCore
import JobGatePosix

/// Structured JSON-lines logging to stdout. Loops only append to a buffer; one writer thread does the
/// write(2)s, so a stalled reader of stdout (a full pipe, a stuck log shipper) costs dropped lines, never a
/// blocked event loop. Lines are appended whole, so lines from different loops never interleave.
public final class Log: Sendable {
    public let level: Settings.LogLevel
    private let writer: BackgroundWriter

    public init(level: Settings.LogLevel, backlogBytes: Int = 4 << 20) {
        self.level = level
        writer = BackgroundWriter(descriptor: STDOUT_FILENO, capacity: backlogBytes)
    }

    public func enabled(_ level: Settings.LogLevel) -> Bool { level >= self.level }

    /// Lines dropped because the backlog was full.
    public var droppedLines: UInt64 { writer.droppedWrites }

    public func log(_ level: Settings.LogLevel, _ event: String, _ fields: JSONObject = JSONObject()) {
        guard enabled(level) else { return }
        let time = JSONValue.string(RFC3339.format(epochSeconds: epochSeconds(), alwaysMilliseconds: true))
        // Written member by member (a line per request at the default level): a field named like one of the
        // three fixed members takes its place, as assigning it into one object would.
        let overrides = fields.contains { Self.isFixedMember($0.key) }
        var line = JSONObjectWriter()
        line.member(Self.timeKey, overrides ? fields["time"] ?? time : time)
        line.member(Self.levelKey, overrides ? fields["level"] ?? .string(level.rawValue) : .string(level.rawValue))
        line.member(Self.eventKey, overrides ? fields["event"] ?? .string(event) : .string(event))
        for (key, value) in fields where !overrides || !Self.isFixedMember(key) { line.member(key, value) }
        var bytes = line.finish()
        bytes.append(0x0A)
        writer.append(bytes)
    }

    private static let timeKey = JSONKey("time"), levelKey = JSONKey("level"), eventKey = JSONKey("event")

    /// Told apart by length first: checked for every field of every line.
    private static func isFixedMember(_ key: String) -> Bool {
        switch key.utf8.count {
        case 4: key == "time"
        case 5: key == "level" || key == "event"
        default: false
        }
    }

    /// Waits (bounded) until the backlog is written: before the process exits.
    public func flush(timeout: Interval = .seconds(2)) { writer.flush(timeout: timeout) }

    public func info(_ event: String, _ fields: JSONObject = JSONObject()) { log(.info, event, fields) }
    public func warn(_ event: String, _ fields: JSONObject = JSONObject()) { log(.warn, event, fields) }
    public func error(_ event: String, _ fields: JSONObject = JSONObject()) { log(.error, event, fields) }
}

/// Bytes written to a descriptor by a thread of their own, with a capped backlog.
final class BackgroundWriter: @unchecked Sendable {
    // Everything below `lock` is guarded by it.
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var pending: [UInt8] = []
    private var writing = false
    private var dropped: UInt64 = 0
    private var threadRunning = false
    private let descriptor: Int32
    private let capacity: Int

    init(descriptor: Int32, capacity: Int) {
        self.descriptor = descriptor
        self.capacity = capacity
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        changed.deallocate()
        lock.deallocate()
    }

    var droppedWrites: UInt64 { locked { dropped } }

    func append(_ bytes: [UInt8]) {
        let needsInlineWrite = locked { () -> Bool in
            guard pending.count + bytes.count <= capacity else {
                dropped += 1
                return false
            }
            let wasEmpty = pending.isEmpty
            pending.append(contentsOf: bytes)
            if !threadRunning {
                // Started on first use: `jobgate check` and failed startups never pay for a thread.
                threadRunning = (try? spawnThread { [self] in run() }) != nil
            }
            // The writer takes everything pending each time it wakes: only a first line needs to wake it
            // (a wake per line was a futex call and a thread switch per request at the default level).
            if wasEmpty { pthread_cond_broadcast(changed) }
            return !threadRunning
        }
        if needsInlineWrite { drainSynchronously() }
    }

    func flush(timeout: Interval) {
        let deadline = MonotonicInstant.now + timeout
        while locked({ !pending.isEmpty || writing }) && MonotonicInstant.now < deadline {
            usleep(1_000)
        }
    }

    private func run() {
        while true {
            let batch = locked { () -> [UInt8] in
                while pending.isEmpty { pthread_cond_wait(changed, lock) }
                writing = true
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            writeFully(batch)
            locked { writing = false }
        }
    }

    /// Without a writer thread (it could not be started), write inline rather than lose lines.
    private func drainSynchronously() {
        let batch = locked { () -> [UInt8] in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        writeFully(batch)
    }

    private func writeFully(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, base + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }
}
