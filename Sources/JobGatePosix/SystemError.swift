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
public func syscall<T: FixedWidthInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        if errno == EINTR { continue }
        throw SystemError(call: name, errno: errno)
    }
}
