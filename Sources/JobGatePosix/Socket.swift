#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An IPv4 or IPv6 socket address parsed from "host:port" ("[::1]:8080" for IPv6).
public struct SocketAddress: Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    let storage: sockaddr_storage
    let length: socklen_t

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

/// The socket calls the inbound server makes, each error checked.
public enum Socket {
    /// A non-blocking listening socket. SO_REUSEPORT lets each event loop own one listener on the same
    /// address, so the kernel spreads new connections across loops without a shared accept lock.
    public static func listen(on address: SocketAddress, backlog: Int32 = 4096) throws(SystemError) -> FileDescriptor {
        let fd = try bound(to: address, sharingPort: true)
        try syscall("listen") { Glibc.listen(fd.rawValue, backlog) }
        return fd
    }

    /// Fails with EADDRINUSE when another socket listens on `address`. SO_REUSEPORT would otherwise let a second
    /// gateway (same user) silently share the port with a running one instead of failing to start.
    public static func ensureAddressFree(_ address: SocketAddress) throws(SystemError) {
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

    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        try syscall("setsockopt") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// The port a socket is bound to (used when listening on port 0).
    public static func localPort(_ fd: Int32) -> UInt16 {
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
