#if canImport(Glibc)
import Glibc
#endif
import JobGateCore
import JobGateHTTP
import JobGatePosix

/// `jobgate sandbox`: the five vendor simulators, one port each, for offline runs and tests.
public enum SandboxCommand {
    public static func run(arguments: [String], environment: [String: String]) -> Int32 {
        var host = "127.0.0.1"
        var basePort = 9101
        var tokenTTL = 3600
        let usage = "usage: jobgate sandbox [--host 127.0.0.1] [--base-port 9101|0] [--token-ttl 3600]\n\n"
            + "Runs simulators of the five vendor APIs, one port each from --base-port (0: any free ports), and prints\n"
            + "the environment (base URLs, credentials) that points `jobgate serve` at them."
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        var index = 0
        while index + 1 < arguments.count {
            let value = arguments[index + 1]
            switch arguments[index] {
            case "--host": host = value
            case "--base-port": basePort = Int(value) ?? -1
            case "--token-ttl": tokenTTL = Int(value) ?? -1
            default:
                let hint = Spelling.suggestion(for: arguments[index], among: ["--host", "--base-port", "--token-ttl", "--help"])
                print("jobgate sandbox: unknown option \(arguments[index])\(hint)")
                return 2
            }
            index += 2
        }
        guard index == arguments.count, (0...65530).contains(basePort), tokenTTL > 0 else {
            print(usage)
            return 2
        }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGTERM, SIGINT] { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        signal(SIGPIPE, SIG_IGN)

        let ttl = tokenTTL
        let simulators: [(name: String, make: @Sendable () -> VendorSimulator)] = [
            ("deck", { DeckSimulator() }), ("bigchange", { BigChangeSimulator(tokenTTL: ttl) }),
            ("shopplanr", { ShopPlanrSimulator() }), ("lilt", { LiltSimulator() }),
            ("bytenite", { ByteNiteSimulator(tokenTTL: ttl) }),
        ]
        var servers: [String: HTTPServer] = [:]
        for (offset, simulator) in simulators.enumerated() {
            let port = basePort == 0 ? 0 : basePort + offset
            let display = host.contains(":") ? "[\(host)]" : host
            guard let address = SocketAddress(parsing: "\(display):\(port)") else {
                print("jobgate sandbox: bad host \(host)")
                return 2
            }
            var configuration = HTTPServerConfiguration(address: address)
            configuration.loopCount = 1
            let server = HTTPServer(configuration: configuration)
            let make = simulator.make
            do {
                try server.start { loop in SimulatorHost(simulator: make(), loop: loop) }
            } catch {
                print("jobgate sandbox: cannot listen for \(simulator.name) on \(address): \(error)")
                return 1
            }
            servers[simulator.name] = server
        }
        func url(_ vendor: String, _ path: String = "") -> String {
            let display = host.contains(":") ? "[\(host)]" : host
            return "http://\(display):\(servers[vendor]?.boundPort ?? 0)\(path)"
        }
        let exports = [
            ("DECK_BASE_URL", url("deck", "/api/v1")), ("DECK_CLIENT_ID", DeckSimulator.clientID), ("DECK_SECRET", DeckSimulator.secret),
            ("BIGCHANGE_BASE_URL", url("bigchange", "/v1")), ("BIGCHANGE_TOKEN_URL", url("bigchange", "/auth/tokens")),
            ("BIGCHANGE_CLIENT_ID", BigChangeSimulator.main.clientID), ("BIGCHANGE_CLIENT_SECRET", BigChangeSimulator.main.clientSecret),
            ("BIGCHANGE_CUSTOMER_ID", BigChangeSimulator.main.id),
            // A second customer, for a mapping that serves both as accounts (README, "Accounts").
            ("BIGCHANGE_NORTH_CLIENT_ID", BigChangeSimulator.north.clientID),
            ("BIGCHANGE_NORTH_CLIENT_SECRET", BigChangeSimulator.north.clientSecret),
            ("BIGCHANGE_NORTH_CUSTOMER_ID", BigChangeSimulator.north.id),
            ("SHOPPLANR_BASE_URL", url("shopplanr", "/api")), ("SHOPPLANR_USERNAME", ShopPlanrSimulator.username),
            ("SHOPPLANR_PIN", ShopPlanrSimulator.pin),
            ("LILT_BASE_URL", url("lilt")), ("LILT_API_KEY", LiltSimulator.apiKey),
            ("BYTENITE_BASE_URL", url("bytenite", "/v1/customer")), ("BYTENITE_AUTH_URL", url("bytenite", "/v1/auth/access_token")),
            ("BYTENITE_API_KEY", ByteNiteSimulator.apiKey),
        ]
        var text = "# jobgate sandbox: simulated vendor APIs (sandbox credentials, not secrets)\n"
        for (name, value) in exports { text += "export \(name)=\(value)\n" }
        text += "# sandbox ready\n"
        writeStandardOutput(text)

        var received: Int32 = 0
        sigwait(&blocked, &received)
        return 0
    }

    private static func writeStandardOutput(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
