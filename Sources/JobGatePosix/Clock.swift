#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A point on the monotonic clock. Deadlines are instants and timeouts are `Interval`s: never a bare
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

    /// Saturating: an absurd interval means "never".
    public static func + (instant: MonotonicInstant, interval: Interval) -> MonotonicInstant {
        let (result, overflow) = instant.nanoseconds.addingReportingOverflow(UInt64(interval.nanoseconds))
        return MonotonicInstant(nanoseconds: overflow ? .max : result)
    }

    /// How long from `earlier` to `later`; zero when `later` is not later.
    public static func - (later: MonotonicInstant, earlier: MonotonicInstant) -> Interval {
        later > earlier ? Interval(nanoseconds: Int64(clamping: later.nanoseconds - earlier.nanoseconds)) : .zero
    }
}

/// A length of time in whole nanoseconds, never negative. Owned rather than Swift's `Duration`: that one
/// keeps attoseconds in 128 bits, and the dozen conversions a proxied request makes (timers, deadlines,
/// libcurl's milliseconds) cost more in Int128 arithmetic than the rest of the timing code together.
public struct Interval: Comparable, Hashable, Sendable {
    public let nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = max(0, nanoseconds)
    }

    public static let zero = Interval(nanoseconds: 0)

    public static func nanoseconds(_ value: Int64) -> Interval { Interval(nanoseconds: value) }
    public static func milliseconds(_ value: Int) -> Interval { Interval(nanoseconds: Int64(value).multipliedClamped(by: 1_000_000)) }
    public static func seconds(_ value: Int) -> Interval { Interval(nanoseconds: Int64(value).multipliedClamped(by: 1_000_000_000)) }

    /// From seconds as a Double (mapping files and flags write timeouts that way); NaN or negative is zero.
    public static func seconds(_ value: Double) -> Interval {
        guard value.isFinite, value > 0 else { return .zero }
        return Interval(nanoseconds: value >= 9.2e9 ? .max : Int64(value * 1e9))
    }

    /// From the standard library's `Duration` (the pure core speaks it, on rare paths such as retry backoff).
    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(nanoseconds: seconds.multipliedClamped(by: 1_000_000_000) &+ attoseconds / 1_000_000_000)
    }

    /// Seconds as a Double, for the few places that speak it (metrics, logs, Retry-After).
    public var inSeconds: Double { Double(nanoseconds) / 1e9 }

    /// Whole milliseconds, rounded up so a short remainder is not lost (libcurl's `_MS` options, epoll).
    public var roundedUpMilliseconds: Int { Int((nanoseconds + 999_999) / 1_000_000) }

    public static func < (lhs: Interval, rhs: Interval) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Interval, rhs: Interval) -> Interval {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        return Interval(nanoseconds: overflow ? .max : sum)
    }
    public static func - (lhs: Interval, rhs: Interval) -> Interval { Interval(nanoseconds: lhs.nanoseconds - rhs.nanoseconds) }
    public static func * (lhs: Interval, rhs: Int) -> Interval { Interval(nanoseconds: lhs.nanoseconds.multipliedClamped(by: Int64(rhs))) }
    public static func / (lhs: Interval, rhs: Int) -> Interval { Interval(nanoseconds: lhs.nanoseconds / Int64(rhs)) }
}

extension Int64 {
    fileprivate func multipliedClamped(by factor: Int64) -> Int64 {
        let (result, overflow) = multipliedReportingOverflow(by: factor)
        return overflow ? (self < 0) != (factor < 0) ? .min : .max : result
    }
}

/// Wall-clock seconds since the Unix epoch, for what vendors state in wall-clock time (a JWT's `exp`).
public func epochSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
