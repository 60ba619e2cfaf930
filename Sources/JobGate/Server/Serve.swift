#if canImport(Glibc)
import Glibc
#endif
import JobGateHTTP
import JobGateJSON

/// `jobgate serve`: starts the loops, then waits for signals on the main thread.
enum ServeCommand {
    static func run(_ settings: Settings) -> Int32 {
        let log = Log(level: settings.logLevel)
        // Signals are taken synchronously by this thread only: block them before any loop thread exists,
        // so every thread inherits the mask and no handler runs on a loop thread.
        let signals = SignalSet([SIGTERM, SIGINT, SIGHUP])
        signals.block()
        signal(SIGPIPE, SIG_IGN)
        let fileLimit = raiseOpenFileLimit()

        var configuration = HTTPServerConfiguration(address: settings.listen)
        configuration.loopCount = settings.threads
        configuration.limits.maxBodyBytes = settings.maxBodyBytes
        configuration.maxConnections = min(settings.maxConnections, max(16, fileLimit - 64))
        configuration.headerTimeout = nanoseconds(settings.headerTimeoutSeconds)
        configuration.bodyTimeout = nanoseconds(settings.bodyTimeoutSeconds)
        configuration.idleTimeout = nanoseconds(settings.idleTimeoutSeconds)
        let server = HTTPServer(configuration: configuration)
        do {
            try server.start { loop in Gateway(loop: loop, log: log) }
        } catch {
            log.error("startup_failed", ["reason": .string("\(error)")])
            return 1
        }
        log.info("started", [
            "listen": .string("\(settings.listen.host):\(server.boundPort)"),
            "threads": .number(JSONNumber(Int64(configuration.loopCount))),
            "maxConnections": .number(JSONNumber(Int64(configuration.maxConnections))),
        ])
        if !settings.listen.isLoopback && settings.authTokens.isEmpty {
            log.warn("inbound_auth_disabled", ["detail": "JOBGATE_AUTH_TOKENS is unset and the listen address is not loopback"])
        }
        while true {
            switch signals.wait() {
            case SIGHUP:
                log.info("reload_requested")
            default:
                log.info("draining", ["connections": .number(JSONNumber(Int64(server.connectionCount)))])
                let drained = server.drain(timeoutNanoseconds: nanoseconds(settings.drainTimeoutSeconds))
                log.info("stopped", ["drained": .bool(drained)])
                return 0
            }
        }
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

func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1e9) }
