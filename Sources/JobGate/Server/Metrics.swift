import JobGateCore
import JobGatePosix
import Synchronization

/// Prometheus metrics for the whole process. Each event loop records into a shard of its own, so the hot
/// path takes no lock another loop wants; a scrape merges the shards. Labels are bounded by construction:
/// vendors and account names come from the mapping set (or "none"), statuses are numbers, error kinds a
/// closed enum; secrets never become labels.
final class MetricsRegistry: Sendable {
    static let version = "0.1.0"

    /// One per event loop, and one more for what happens off the loops (reloads).
    private let shards: [Metrics]
    private let log: Log

    private let control: Metrics

    init(log: Log, loops: Int) {
        self.log = log
        shards = (0..<max(loops, 1)).map { _ in Metrics() }
        control = Metrics()
    }

    /// The recorder for the loop with `index` (as `EventLoop.index` numbers them).
    func recorder(forLoop index: Int) -> Metrics {
        shards[index % shards.count]
    }

    func reloaded(ok: Bool) {
        control.reloaded(ok: ok)
    }

    /// The text exposition format (version 0.0.4).
    func render(gateway: GatewayState) -> String {
        var merged = MetricsSnapshot()
        for shard in shards + [control] { merged.merge(shard.snapshot()) }
        return merged.render(gateway: gateway, droppedLogLines: log.droppedLines)
    }
}

/// What one event loop records. Its lock is only ever contended by a scrape.
final class Metrics: Sendable {
    private let state = Mutex(MetricsSnapshot())

    func requestStarted() {
        state.withLock { $0.inFlight += 1 }
    }

    func requestFinished(_ caller: VendorAccount, status: Int, seconds: Double) {
        state.withLock { state in
            state.inFlight -= 1
            state.requests[LabelPair(caller, status: status), default: 0] += 1
            state.requestSeconds[caller, default: Histogram()].observe(seconds)
        }
    }

    func upstreamCall(_ caller: VendorAccount, seconds: Double, errorKind: String?) {
        state.withLock { state in
            state.upstreamSeconds[caller, default: Histogram()].observe(seconds)
            if let errorKind { state.upstreamErrors[LabelPair(caller, errorKind), default: 0] += 1 }
        }
    }

    func rateLimited(_ caller: VendorAccount) {
        state.withLock { $0.rateLimited[caller, default: 0] += 1 }
    }

    fileprivate func reloaded(ok: Bool) {
        state.withLock { $0.reloads[ok ? "ok" : "rejected", default: 0] += 1 }
    }

    fileprivate func snapshot() -> MetricsSnapshot {
        state.withLock { $0 }
    }
}

/// The `vendor` and `account` labels of a series. Hashed once when made: every request's metrics are keyed
/// by one, and each runtime keeps its own (`VendorRuntime.metricLabels`) so a request hashes no string.
struct VendorAccount: Hashable, Comparable, Sendable {
    let vendor: String
    let account: String
    private let labelsHash: Int

    init(vendor: String, account: String) {
        self.vendor = vendor
        self.account = account
        var hasher = Hasher()
        hasher.combine(vendor)
        hasher.combine(account)
        labelsHash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(labelsHash)
    }

    static func == (lhs: VendorAccount, rhs: VendorAccount) -> Bool {
        lhs.vendor == rhs.vendor && lhs.account == rhs.account
    }

    var labels: String { "vendor=\"\(vendor)\",account=\"\(account)\"" }

    static func < (lhs: VendorAccount, rhs: VendorAccount) -> Bool {
        (lhs.vendor, lhs.account) < (rhs.vendor, rhs.account)
    }
}

/// A vendor and account, and one more label value, kept apart until the exposition writes them (no string
/// building per request).
struct LabelPair: Hashable, Comparable {
    let first: VendorAccount
    /// A label value, or empty for a status, which is kept as the number until the exposition writes it.
    let text: String
    /// Statuses sort as numbers, not as text.
    let order: Int

    init(_ first: VendorAccount, status: Int) {
        self.first = first
        self.text = ""
        self.order = status
    }

    init(_ first: VendorAccount, _ second: String) {
        self.first = first
        self.text = second
        self.order = 0
    }

    var second: String { text.isEmpty ? String(order) : text }

    /// A status pair's empty text is left out of its hash: every request counts one, and hashing a string, even
    /// an empty one, runs the string hasher.
    func hash(into hasher: inout Hasher) {
        hasher.combine(first)
        hasher.combine(order)
        if !text.isEmpty { hasher.combine(text) }
    }

    static func < (lhs: LabelPair, rhs: LabelPair) -> Bool {
        (lhs.first, lhs.order, lhs.text) < (rhs.first, rhs.order, rhs.text)
    }
}

struct Histogram {
    /// Seconds; the same buckets for total and upstream latency.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Observations that fell in each bucket alone, not at or below its bound: one count to add per
    /// observation, not one per bucket it is under; the exposition's cumulative counts are summed when rendered.
    /// The last count is of those above every bound.
    var counts = [UInt64](repeating: 0, count: Histogram.buckets.count + 1)
    var sum = 0.0
    var count: UInt64 = 0

    mutating func observe(_ seconds: Double) {
        counts[Self.buckets.firstIndex { seconds <= $0 } ?? Self.buckets.count] += 1
        sum += seconds
        count += 1
    }

    /// Observations at or below each bound, in the order of `buckets`.
    var cumulativeCounts: [UInt64] {
        var total: UInt64 = 0
        return Self.buckets.indices.map { index in
            total += counts[index]
            return total
        }
    }

    mutating func merge(_ other: Histogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        sum += other.sum
        count += other.count
    }
}

struct MetricsSnapshot {
    var inFlight = 0
    var requests: [LabelPair: UInt64] = [:]                 // vendor, account, status
    var requestSeconds: [VendorAccount: Histogram] = [:]
    var upstreamSeconds: [VendorAccount: Histogram] = [:]
    var upstreamErrors: [LabelPair: UInt64] = [:]           // vendor, account, kind
    var rateLimited: [VendorAccount: UInt64] = [:]
    var reloads: [String: UInt64] = [:]              // "ok" / "rejected"

    mutating func merge(_ other: MetricsSnapshot) {
        inFlight += other.inFlight
        requests.merge(other.requests, uniquingKeysWith: +)
        upstreamErrors.merge(other.upstreamErrors, uniquingKeysWith: +)
        rateLimited.merge(other.rateLimited, uniquingKeysWith: +)
        reloads.merge(other.reloads, uniquingKeysWith: +)
        for (caller, histogram) in other.requestSeconds { requestSeconds[caller, default: Histogram()].merge(histogram) }
        for (caller, histogram) in other.upstreamSeconds { upstreamSeconds[caller, default: Histogram()].merge(histogram) }
    }

    func render(gateway: GatewayState, droppedLogLines: UInt64) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("jobgate_build_info", "gauge", "Build and live configuration identity.")
        out += "jobgate_build_info{version=\"\(MetricsRegistry.version)\",mapping_hash=\"\(gateway.mappings.hash)\"} 1\n"
        family("jobgate_requests_total", "counter", "Requests answered, by vendor, account and status.")
        for (key, value) in requests.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_requests_total{\(key.first.labels),status=\"\(key.second)\"} \(value)\n"
        }
        family("jobgate_requests_in_flight", "gauge", "Requests being handled now.")
        out += "jobgate_requests_in_flight \(inFlight)\n"
        histogram(&out, "jobgate_request_duration_seconds", "Time from request to response.", requestSeconds)
        histogram(&out, "jobgate_upstream_duration_seconds", "Duration of each vendor call.", upstreamSeconds)
        family("jobgate_upstream_errors_total", "counter", "Vendor calls that failed without an HTTP answer, by kind.")
        for (key, value) in upstreamErrors.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_upstream_errors_total{\(key.first.labels),kind=\"\(key.second)\"} \(value)\n"
        }
        family("jobgate_rate_limited_total", "counter", "Requests refused by a vendor account's configured rate limit.")
        for (caller, value) in rateLimited.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_rate_limited_total{\(caller.labels)} \(value)\n"
        }
        family("jobgate_circuit_open", "gauge", "1 while a vendor account's circuit breaker is open.")
        for (vendor, runtimes) in gateway.runtimes.sorted(by: { $0.key < $1.key }) {
            for runtime in runtimes.all {
                let caller = VendorAccount(vendor: vendor, account: runtime.mapping.account)
                out += "jobgate_circuit_open{\(caller.labels)} \(runtime.breaker.isOpen ? 1 : 0)\n"
            }
        }
        family("jobgate_reloads_total", "counter", "SIGHUP reloads of the mapping set, by result.")
        for (result, value) in reloads.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_reloads_total{result=\"\(result)\"} \(value)\n"
        }
        family("jobgate_log_lines_dropped_total", "counter", "Log lines dropped because stdout was not being read.")
        out += "jobgate_log_lines_dropped_total \(droppedLogLines)\n"
        return out
    }

    private func histogram(_ out: inout String, _ name: String, _ help: String, _ series: [VendorAccount: Histogram]) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (caller, histogram) in series.sorted(by: { $0.key < $1.key }) {
            let labels = caller.labels
            for (bound, count) in zip(Histogram.buckets, histogram.cumulativeCounts) {
                out += "\(name)_bucket{\(labels),le=\"\(bound)\"} \(count)\n"
            }
            out += "\(name)_bucket{\(labels),le=\"+Inf\"} \(histogram.count)\n"
            out += "\(name)_sum{\(labels)} \(histogram.sum)\n"
            out += "\(name)_count{\(labels)} \(histogram.count)\n"
        }
    }
}
