import JobGateJSON

/// Rate limits, retries, the circuit breaker and how long idle connections are trusted.
extension MappingReader {
    mutating func readRateLimits(_ value: JSONValue?, at path: String) -> [RateLimit] {
        guard let value else { return [] }
        guard let list = value.arrayValue else { return readRateLimit(value, at: path).map { [$0] } ?? [] }
        if list.isEmpty { report(path, "needs at least one window") }
        return list.enumerated().compactMap { index, window in readRateLimit(window, at: "\(path)/\(index)") }
    }

    mutating func readRateLimit(_ value: JSONValue, at path: String) -> RateLimit? {
        guard let object = objectValue(value, at: path) else { return nil }
        allowOnly(["requests", "perSeconds"], in: object, at: path)
        guard let requests = object["requests"]?.numberValue?.int64Value, requests > 0,
              let seconds = object["perSeconds"]?.numberValue?.doubleValue, seconds > 0 else {
            report(path, "needs positive 'requests' and 'perSeconds'")
            return nil
        }
        return RateLimit(requests: Int(requests), perSeconds: seconds)
    }

    mutating func readRetry(_ value: JSONValue?, at path: String) -> RetryPolicy {
        var policy = RetryPolicy()
        guard let value, let object = objectValue(value, at: path) else { return policy }
        allowOnly(["attempts", "baseDelayMs", "maxDelayMs"], in: object, at: path)
        if let attempts = object["attempts"] {
            if let count = attempts.numberValue?.int64Value, (1...10).contains(count) { policy.attempts = Int(count) } else {
                report(path + "/attempts", "must be an integer from 1 to 10")
            }
        }
        for (key, apply) in [("baseDelayMs", { (v: Double) in policy.baseDelaySeconds = v }), ("maxDelayMs", { policy.maxDelaySeconds = $0 })] {
            guard let member = object[key] else { continue }
            if let milliseconds = member.numberValue?.doubleValue, milliseconds >= 0, milliseconds <= 60_000 { apply(milliseconds / 1000) } else {
                report("\(path)/\(key)", "must be a number of milliseconds from 0 to 60000")
            }
        }
        return policy
    }

    mutating func readCircuitBreaker(_ value: JSONValue?, at path: String) -> CircuitBreakerSettings {
        var settings = CircuitBreakerSettings()
        guard let value, let object = objectValue(value, at: path) else { return settings }
        allowOnly(["failures", "openSeconds"], in: object, at: path)
        if let failures = object["failures"] {
            if let count = failures.numberValue?.int64Value, (1...1000).contains(count) { settings.failures = Int(count) } else {
                report(path + "/failures", "must be an integer from 1 to 1000")
            }
        }
        if let seconds = object["openSeconds"] {
            if let value = seconds.numberValue?.doubleValue, value > 0, value <= 3600 { settings.openSeconds = value } else {
                report(path + "/openSeconds", "must be a number of seconds in (0, 3600]")
            }
        }
        return settings
    }

    /// Below Node's and Apache's default keep-alive of 5 s, the shortest common ones, so that a write is not put
    /// on a connection the vendor is closing at that moment.
    static let defaultKeepAliveSeconds = 4

    mutating func readKeepAliveSeconds(_ value: JSONValue?, at path: String) -> Int {
        guard let value else { return Self.defaultKeepAliveSeconds }
        guard let seconds = value.numberValue?.int64Value, (1...3600).contains(seconds) else {
            report(path, "must be a whole number of seconds from 1 to 3600")
            return Self.defaultKeepAliveSeconds
        }
        return Int(seconds)
    }
}
