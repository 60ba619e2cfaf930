import JobGateHTTP
import JobGateCore
import JobGatePosix
import JobGateUpstream

/// Runtime settings: a flag beats the environment, which beats the default (CONTRACT.md §1).
public struct Settings: Sendable {
    public enum LogLevel: String, Sendable, CaseIterable, Comparable {
        case debug, info, warn, error

        public static func < (a: LogLevel, b: LogLevel) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public var listen: SocketAddress
    public var mappingsDirectory: String
    public var upstreamTimeoutSeconds: Double
    public var authTokens: [String]
    public var logLevel: LogLevel
    public var threads: Int
    public var maxBodyBytes: Int
    public var maxConnections: Int
    public var drainTimeoutSeconds: Double
    public var headerTimeoutSeconds: Double
    public var bodyTimeoutSeconds: Double
    public var idleTimeoutSeconds: Double
    /// The standard proxy variables (`https_proxy`, `no_proxy`, …), read once at start.
    public var upstreamProxies: ProxyEnvironment

    /// One row per setting: flag, environment variable, default; `jobgate --help` prints these rows.
    struct Option {
        let flag: String?
        let environment: String
        let defaultValue: String?
    }

    static let options: [String: Option] = [
        "listen": Option(flag: "--listen", environment: "JOBGATE_LISTEN", defaultValue: "127.0.0.1:8080"),
        "mappings": Option(flag: "--mappings", environment: "JOBGATE_MAPPINGS", defaultValue: "./Mappings"),
        "upstreamTimeout": Option(flag: "--upstream-timeout", environment: "JOBGATE_UPSTREAM_TIMEOUT", defaultValue: "10"),
        "authTokens": Option(flag: nil, environment: "JOBGATE_AUTH_TOKENS", defaultValue: nil),
        "logLevel": Option(flag: "--log-level", environment: "JOBGATE_LOG_LEVEL", defaultValue: "info"),
        "threads": Option(flag: "--threads", environment: "JOBGATE_THREADS", defaultValue: nil),
        "maxBody": Option(flag: "--max-body-bytes", environment: "JOBGATE_MAX_BODY_BYTES", defaultValue: "1048576"),
        "maxConnections": Option(flag: "--max-connections", environment: "JOBGATE_MAX_CONNECTIONS", defaultValue: "10000"),
        "drainTimeout": Option(flag: "--drain-timeout", environment: "JOBGATE_DRAIN_TIMEOUT", defaultValue: "20"),
        "headerTimeout": Option(flag: "--header-timeout", environment: "JOBGATE_HEADER_TIMEOUT", defaultValue: "10"),
        "bodyTimeout": Option(flag: "--body-timeout", environment: "JOBGATE_BODY_TIMEOUT", defaultValue: "30"),
        "idleTimeout": Option(flag: "--idle-timeout", environment: "JOBGATE_IDLE_TIMEOUT", defaultValue: "60"),
    ]

    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    /// Resolves settings from command-line arguments (after the subcommand) and the environment.
    public static func resolve(arguments: [String], environment: [String: String]) throws(Settings.Error) -> Settings {
        let flags: CommandArguments
        do throws(CommandArguments.Error) {
            flags = try CommandArguments(arguments, flags: Set(options.values.compactMap(\.flag)), maxPositionals: 0)
        } catch {
            throw Error(description: error.description)
        }

        func raw(_ key: String) -> (value: String, source: String)? {
            guard let option = options[key] else { return nil }
            if let flag = option.flag, let value = flags[flag] { return (value, flag) }
            if let value = environment[option.environment], !value.isEmpty { return (value, option.environment) }
            return option.defaultValue.map { ($0, "default") }
        }
        func number(_ key: String, minimum: Double) throws(Settings.Error) -> Double {
            guard let (text, source) = raw(key) else { return minimum }
            guard let value = Double(text), value.isFinite, value >= minimum else {
                throw Error(description: "\(source): '\(text)' is not a number ≥ \(minimum)")
            }
            return value
        }
        func integer(_ key: String, minimum: Int) throws(Settings.Error) -> Int? {
            guard let (text, source) = raw(key) else { return nil }
            guard let value = Int(text), value >= minimum else {
                throw Error(description: "\(source): '\(text)' is not a whole number ≥ \(minimum)")
            }
            return value
        }

        guard let listenText = raw("listen")?.value, let listen = SocketAddress(parsing: listenText) else {
            throw Error(description: "listen address must be host:port or [ipv6]:port")
        }
        let levelText = raw("logLevel")?.value ?? "info"
        guard let level = LogLevel(rawValue: levelText.lowercased()) else {
            throw Error(description: "log level '\(levelText)' is not one of debug, info, warn, error")
        }
        let tokens = (environment["JOBGATE_AUTH_TOKENS"] ?? "")
            .split(separator: ",").map { $0.trimmingASCIIWhitespace() }.filter { !$0.isEmpty }
        let upstreamTimeout = try number("upstreamTimeout", minimum: 0.001)
        return Settings(
            listen: listen,
            mappingsDirectory: raw("mappings")?.value ?? "./Mappings",
            upstreamTimeoutSeconds: upstreamTimeout,
            authTokens: tokens,
            logLevel: level,
            threads: try integer("threads", minimum: 1) ?? HTTPServerConfiguration(address: listen).loopCount,
            maxBodyBytes: try integer("maxBody", minimum: 1) ?? 1_048_576,
            maxConnections: try integer("maxConnections", minimum: 1) ?? 10_000,
            drainTimeoutSeconds: try number("drainTimeout", minimum: 0),
            headerTimeoutSeconds: try number("headerTimeout", minimum: 0.1),
            bodyTimeoutSeconds: try number("bodyTimeout", minimum: 0.1),
            idleTimeoutSeconds: try number("idleTimeout", minimum: 0.1),
            upstreamProxies: ProxyEnvironment(environment)
        )
    }
}
