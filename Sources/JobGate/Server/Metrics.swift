import JobGateHTTP
import Synchronization
import JobGateCore
import JobGatePosix

/// Prometheus metrics for the whole process. Labels are bounded by construction: vendors come from the
/// mapping set (or "none"), statuses are numbers, error kinds a closed enum; secrets never become labels.
final class Metrics: Sendable {
    static let version = "0.1.0"
    /// Seconds; the same buckets for total and upstream latency.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var counts = [UInt64](repeating: 0, count: Metrics.buckets.count)
        var sum = 0.0
        var count: UInt64 = 0

        mutating func observe(_ seconds: Double) {
            for (index, bound) in Metrics.buckets.enumerated() where seconds <= bound { counts[index] += 1 }
            sum += seconds
            count += 1
        }
    }

    private struct State {
        var requests: [String: UInt64] = [:]          // "vendor|status"
        var requestSeconds: [String: Histogram] = [:]  // vendor
        var upstreamSeconds: [String: Histogram] = [:] // vendor
        var upstreamErrors: [String: UInt64] = [:]    // "vendor|kind"
        var rateLimited: [String: UInt64] = [:]       // vendor
        var reloads: [String: UInt64] = [:]           // "ok" / "rejected"
    }

    private let state = Mutex(State())
    private let inFlight = Atomic<Int>(0)
    private let log: Log

    init(log: Log) {
        self.log = log
    }

    func requestStarted() { inFlight.wrappingAdd(1, ordering: .relaxed) }

    func requestFinished(vendor: String, status: Int, seconds: Double) {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        state.withLock { state in
            state.requests["\(vendor)|\(status)", default: 0] += 1
            state.requestSeconds[vendor, default: Histogram()].observe(seconds)
        }
    }

    func upstreamCall(vendor: String, seconds: Double, errorKind: String?) {
        state.withLock { state in
            state.upstreamSeconds[vendor, default: Histogram()].observe(seconds)
            if let errorKind { state.upstreamErrors["\(vendor)|\(errorKind)", default: 0] += 1 }
        }
    }

    func rateLimited(vendor: String) {
        state.withLock { $0.rateLimited[vendor, default: 0] += 1 }
    }

    func reloaded(ok: Bool) {
        state.withLock { $0.reloads[ok ? "ok" : "rejected", default: 0] += 1 }
    }

    /// The text exposition format (version 0.0.4).
    func render(gateway: GatewayState) -> String {
        let snapshot = state.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func pair(_ key: String) -> (String, String) {
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        family("jobgate_build_info", "gauge", "Build and live configuration identity.")
        out += "jobgate_build_info{version=\"\(Self.version)\",mapping_hash=\"\(gateway.mappings.hash)\"} 1\n"
        family("jobgate_requests_total", "counter", "Requests answered, by vendor and status.")
        for (key, value) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            let (vendor, status) = pair(key)
            out += "jobgate_requests_total{vendor=\"\(vendor)\",status=\"\(status)\"} \(value)\n"
        }
        family("jobgate_requests_in_flight", "gauge", "Requests being handled now.")
        out += "jobgate_requests_in_flight \(inFlight.load(ordering: .relaxed))\n"
        histogram(&out, "jobgate_request_duration_seconds", "Time from request to response.", snapshot.requestSeconds)
        histogram(&out, "jobgate_upstream_duration_seconds", "Duration of each vendor call.", snapshot.upstreamSeconds)
        family("jobgate_upstream_errors_total", "counter", "Vendor calls that failed without an HTTP answer, by kind.")
        for (key, value) in snapshot.upstreamErrors.sorted(by: { $0.key < $1.key }) {
            let (vendor, kind) = pair(key)
            out += "jobgate_upstream_errors_total{vendor=\"\(vendor)\",kind=\"\(kind)\"} \(value)\n"
        }
        family("jobgate_rate_limited_total", "counter", "Requests refused by a vendor's configured rate limit.")
        for (vendor, value) in snapshot.rateLimited.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_rate_limited_total{vendor=\"\(vendor)\"} \(value)\n"
        }
        family("jobgate_circuit_open", "gauge", "1 while a vendor's circuit breaker is open.")
        for (vendor, runtime) in gateway.runtimes.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_circuit_open{vendor=\"\(vendor)\"} \(runtime.breaker.isOpen ? 1 : 0)\n"
        }
        family("jobgate_reloads_total", "counter", "SIGHUP reloads of the mapping set, by result.")
        for (result, value) in snapshot.reloads.sorted(by: { $0.key < $1.key }) {
            out += "jobgate_reloads_total{result=\"\(result)\"} \(value)\n"
        }
        family("jobgate_log_lines_dropped_total", "counter", "Log lines dropped because stdout was not being read.")
        out += "jobgate_log_lines_dropped_total \(log.droppedLines)\n"
        return out
    }

    private func histogram(_ out: inout String, _ name: String, _ help: String, _ series: [String: Histogram]) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (vendor, histogram) in series.sorted(by: { $0.key < $1.key }) {
            for (index, bound) in Self.buckets.enumerated() {
                out += "\(name)_bucket{vendor=\"\(vendor)\",le=\"\(bound)\"} \(histogram.counts[index])\n"
            }
            out += "\(name)_bucket{vendor=\"\(vendor)\",le=\"+Inf\"} \(histogram.count)\n"
            out += "\(name)_sum{vendor=\"\(vendor)\"} \(histogram.sum)\n"
            out += "\(name)_count{vendor=\"\(vendor)\"} \(histogram.count)\n"
        }
    }
}
