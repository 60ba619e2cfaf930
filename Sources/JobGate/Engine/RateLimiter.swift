import JobGateHTTP
import Synchronization
import JobGateCore
import JobGatePosix

/// A vendor's rate limit as token buckets, one per window (`requests` per `perSeconds`, refilled
/// continuously), shared by every loop: one budget for the whole gateway. A call goes ahead only when every
/// window has room, and then takes from all of them.
final class RateLimiter: Sendable {
    private struct Bucket {
        let capacity: Double
        let refillPerSecond: Double
        var tokens: Double
    }

    private let state: Mutex<(buckets: [Bucket], updated: MonotonicInstant)>

    init?(_ limits: [RateLimit], now: MonotonicInstant = .now) {
        guard !limits.isEmpty else { return nil }
        let buckets = limits.map { limit in
            Bucket(capacity: Double(limit.requests), refillPerSecond: Double(limit.requests) / limit.perSeconds,
                   tokens: Double(limit.requests))
        }
        state = Mutex((buckets, now))
    }

    /// Takes one request's worth; nil when allowed, else the seconds until every window has room.
    func acquire(now: MonotonicInstant = .now) -> Int? {
        state.withLock { state in
            // Loops may pass instants read a moment apart: time never runs backwards here (`-` is never negative).
            let elapsed = (now - state.updated).inSeconds
            state.updated = max(state.updated, now)
            var wait = 0.0
            for index in state.buckets.indices {
                let bucket = state.buckets[index]
                let tokens = min(bucket.capacity, bucket.tokens + elapsed * bucket.refillPerSecond)
                state.buckets[index].tokens = tokens
                if tokens < 1 { wait = max(wait, (1 - tokens) / bucket.refillPerSecond) }
            }
            guard wait == 0 else { return max(1, Int(wait.rounded(.up))) }
            for index in state.buckets.indices { state.buckets[index].tokens -= 1 }
            return nil
        }
    }
}
