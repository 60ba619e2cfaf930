#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A point on the monotonic clock. Deadlines are instants and timeouts are `Duration`s: never a bare
/// `UInt64` of nanoseconds next to a `Double` of seconds, so a unit can no longer be mixed up.
public struct MonotonicInstant: Comparable, Hashable, Sendable {
    /// Nanoseconds since an arbitrary start (boot); only differences mean anything.
    public let nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// Deadlines never jump with wall-clock changes.
    @inline(__always)
    public static var now: MonotonicInstant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicInstant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// Saturating: a negative duration is as good as none, an absurd one is "never".
    public static func + (instant: MonotonicInstant, duration: Duration) -> MonotonicInstant {
        let (result, overflow) = instant.nanoseconds.addingReportingOverflow(duration.nanoseconds)
        return MonotonicInstant(nanoseconds: overflow ? .max : result)
    }

    /// How long from `earlier` to `later`; zero when `later` is not later.
    public static func - (later: MonotonicInstant, earlier: MonotonicInstant) -> Duration {
        later > earlier ? .nanoseconds(Int64(clamping: later.nanoseconds - earlier.nanoseconds)) : .zero
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to zero and to UInt64's range: what timers and deadlines count in.
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }

    /// Seconds as a Double, for the few places that speak it (libcurl's millisecond options, JSON, logs).
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Wall-clock seconds since the Unix epoch, for what vendors state in wall-clock time (a JWT's `exp`).
public func epochSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
