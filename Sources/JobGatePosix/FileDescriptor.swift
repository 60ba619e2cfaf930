#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
