#if canImport(Glibc)
import Glibc
#endif
import JobGateHTTP
import JobGateJSON
import JobGateCore
import JobGatePosix

/// `jobgate serve`: starts the loops, then waits for signals on the main thread.
enum ServeCommand {
    static func run(_ settings: Settings, environment: [String: String], allocator: String) -> Int32 {
        let log = Log(level: settings.logLevel)
        defer { log.flush() }
        // Signals are taken synchronously by this thread only: block them before any loop thread exists,
        // so every thread inherits the mask and no handler runs on a loop thread.
        let signals = SignalSet([SIGTERM, SIGINT, SIGHUP])
        signals.block()
        signal(SIGPIPE, SIG_IGN)
        let fileLimit = raiseOpenFileLimit()
        let store: StateStore
        switch MappingFolder.load(directory: settings.mappingsDirectory, environment: environment) {
        case .failure(let issues):
            for issue in issues.issues { printError("jobgate: \(issue)") }
            log.error("startup_failed", ["reason": "invalid mapping files", "mappings": .string(settings.mappingsDirectory)])
            return 1
        case .success(let mappings):
            store = StateStore(GatewayState(settings: settings, mappings: mappings))
            logLoaded(mappings, log: log, event: "mappings_loaded")
        }

        let metrics = MetricsRegistry(log: log, loops: settings.threads)
        var configuration = HTTPServerConfiguration(address: settings.listen)
        configuration.loopCount = settings.threads
        configuration.limits.maxBodyBytes = settings.maxBodyBytes
        configuration.maxConnections = min(settings.maxConnections, max(16, fileLimit - 64))
        configuration.headerTimeout = .seconds(settings.headerTimeoutSeconds)
        configuration.bodyTimeout = .seconds(settings.bodyTimeoutSeconds)
        configuration.idleTimeout = .seconds(settings.idleTimeoutSeconds)
        let server = HTTPServer(configuration: configuration)
        do {
            try server.start { loop in Gateway(loop: loop, store: store, log: log, metrics: metrics) }
        } catch {
            log.error("startup_failed", ["reason": .string("\(error)")])
            return 1
        }
        log.info("started", [
            "listen": .string("\(settings.listen.host):\(server.boundPort)"),
            "threads": .number(JSONNumber(Int64(configuration.loopCount))),
            "maxConnections": .number(JSONNumber(Int64(configuration.maxConnections))),
            "allocator": .string(allocator),
        ])
        if !settings.listen.isLoopback && settings.authTokens.isEmpty {
            log.warn("inbound_auth_disabled", ["detail": "JOBGATE_AUTH_TOKENS is unset and the listen address is not loopback"])
        }
        while true {
            switch signals.wait() {
            case SIGHUP:
                reload(settings: settings, environment: environment, store: store, log: log, metrics: metrics)
            default:
                log.info("draining", ["connections": .number(JSONNumber(Int64(server.connectionCount)))])
                let drained = server.drain(timeout: .seconds(settings.drainTimeoutSeconds))
                log.info("stopped", ["drained": .bool(drained)])
                return 0
            }
        }
    }
}

extension ServeCommand {
    /// SIGHUP: load the folder again; a bad set is rejected and logged while the old one keeps serving.
    static func reload(settings: Settings, environment: [String: String], store: StateStore, log: Log, metrics: MetricsRegistry) {
        switch MappingFolder.load(directory: settings.mappingsDirectory, environment: environment) {
        case .failure(let issues):
            metrics.reloaded(ok: false)
            log.error("reload_rejected", [
                "mappingHash": .string(store.current.mappings.hash),
                "issues": .array(issues.issues.map { JSONValue.string($0.description) }),
            ])
        case .success(let mappings):
            store.replace(with: GatewayState(settings: settings, mappings: mappings))
            metrics.reloaded(ok: true)
            logLoaded(mappings, log: log, event: "reloaded")
        }
    }

    static func logLoaded(_ mappings: MappingSet, log: Log, event: String) {
        log.info(event, [
            "mappingHash": .string(mappings.hash),
            "vendors": .array(mappings.vendors.keys.sorted().map { .string($0) }),
        ])
        for warning in mappings.warnings { log.warn("mapping_warning", ["issue": .string(warning.description)]) }
    }
}

/// A set of signals delivered to one waiting thread instead of to asynchronous handlers.
struct SignalSet {
    private var set = sigset_t()

    init(_ signals: [Int32]) {
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
    }

    func block() {
        var set = self.set
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    func wait() -> Int32 {
        var set = self.set
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}

