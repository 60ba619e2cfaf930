#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call, with errno; its description is safe to log (it holds no request data).
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Runs a syscall, retrying on EINTR, and throws its errno on failure.
@discardableResult
func syscall<T: FixedWidthInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        if errno == EINTR { continue }
        throw SystemError(call: name, errno: errno)
    }
}

/// An owned file descriptor, closed exactly once when the owner is done with it.
public final class FileDescriptor: @unchecked Sendable {
    public private(set) var rawValue: Int32

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    public var isOpen: Bool { rawValue >= 0 }

    public func close() {
        guard rawValue >= 0 else { return }
        _ = Glibc.close(rawValue)
        rawValue = -1
    }

    deinit { close() }
}

/// An IPv4 or IPv6 socket address parsed from "host:port" ("[::1]:8080" for IPv6).
public struct SocketAddress: Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    fileprivate let storage: sockaddr_storage
    fileprivate let length: socklen_t

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" || host == "localhost" }

    public init?(parsing text: String) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText) else { return nil }
        if host == "localhost" { host = "127.0.0.1" }
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        let parsed: Bool = withUnsafeMutablePointer(to: &storage) { pointer in
            if host.contains(":") {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                    sin6.pointee.sin6_port = port.bigEndian
                    length = socklen_t(MemoryLayout<sockaddr_in6>.size)
                    return inet_pton(AF_INET6, String(host), &sin6.pointee.sin6_addr) == 1
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                length = socklen_t(MemoryLayout<sockaddr_in>.size)
                return inet_pton(AF_INET, String(host), &sin.pointee.sin_addr) == 1
            }
        }
        guard parsed else { return nil }
        self.host = String(host)
        self.port = port
        self.storage = storage
        self.length = length
    }

    var family: Int32 { Int32(storage.ss_family) }
}

enum Socket {
    /// A non-blocking listening socket. SO_REUSEPORT lets each event loop own one listener on the same
    /// address, so the kernel spreads new connections across loops without a shared accept lock.
    static func listen(on address: SocketAddress, backlog: Int32 = 4096) throws(SystemError) -> FileDescriptor {
        let fd = try bound(to: address, sharingPort: true)
        try syscall("listen") { Glibc.listen(fd.rawValue, backlog) }
        return fd
    }

    /// Fails with EADDRINUSE when another socket listens on `address`. SO_REUSEPORT would otherwise let a second
    /// gateway (same user) silently share the port with a running one instead of failing to start.
    static func ensureAddressFree(_ address: SocketAddress) throws(SystemError) {
        _ = try bound(to: address, sharingPort: false)
    }

    private static func bound(to address: SocketAddress, sharingPort: Bool) throws(SystemError) -> FileDescriptor {
        let fd = FileDescriptor(try syscall("socket") {
            Glibc.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        try setOption(fd.rawValue, SOL_SOCKET, SO_REUSEADDR, 1)
        if sharingPort { try setOption(fd.rawValue, SOL_SOCKET, SO_REUSEPORT, 1) }
        var storage = address.storage
        _ = try withUnsafePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(SystemError) in
                try syscall("bind") { Glibc.bind(fd.rawValue, sa, address.length) }
            }
        }
        return fd
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        try syscall("setsockopt") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// The port a socket is bound to (used when listening on port 0).
    static func localPort(_ fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return 0 }
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
}

/// Monotonic time in nanoseconds; deadlines never jump with wall-clock changes.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Raises the open-file limit to its hard maximum so the connection cap, not the default 1024, is the bound.
public func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
    return Int(clamping: limit.rlim_cur)
}

/// Small file-system reads for configuration, without pulling Foundation (and its ICU data) into the process.
public enum FileSystem {
    public static func readFile(_ path: String, limit: Int = 16 * 1024 * 1024) -> [UInt8]? {
        let fd = FileDescriptor(open(path, O_RDONLY | O_CLOEXEC))
        guard fd.isOpen else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return nil
    }

    /// Names in a directory (no "." or ".."), or nil if it cannot be read.
    public static func listDirectory(_ path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }
}

/// The process environment, read from `environ`.
public func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        cursor += 1
    }
    return result
}

/// Wall-clock seconds since the Unix epoch, for what vendors state in wall-clock time (a JWT's `exp`).
public func epochSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// The current UTC time as RFC 3339 with milliseconds.
public func rfc3339Now() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return rfc3339(seconds: Int64(now.tv_sec), milliseconds: Int(now.tv_nsec / 1_000_000))
}

/// "YYYY-MM-DDTHH:MM:SS[.mmm]Z" for Unix epoch seconds.
public func rfc3339(seconds: Int64, milliseconds: Int? = nil) -> String {
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
