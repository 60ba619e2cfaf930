#if canImport(Glibc)
import Glibc
#endif
import JobGateCore
import JobGatePosix

/// The `jobgate` command line: subcommands, their help, and the version.
public enum JobGateCommand {
    /// Every command with its one-line summary, in the order `jobgate --help` lists them. `sandbox` is
    /// dispatched by the executable (it lives in its own module) but is listed here with the rest.
    static let commands: [(name: String, summary: String)] = [
        ("serve", "run the gateway"),
        ("check", "validate a mapping folder and run the examples in its files"),
        ("plan", "print, offline, the upstream calls a PATCH would make"),
        ("sandbox", "run simulators of the five vendor APIs, for offline use and tests"),
    ]

    /// `allocator`: which malloc serves the process (the executable links it), for `--version` and the start-up log.
    public static func main(arguments: [String], environment: [String: String], allocator: String) -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return 2
        }
        let rest = Array(arguments.dropFirst())
        let defaultMappings = environment["JOBGATE_MAPPINGS"] ?? "./Mappings"
        switch command {
        case "serve":
            if rest.contains("--help") || rest.contains("-h") {
                print(serveUsage)
                return 0
            }
            do {
                return ServeCommand.run(try Settings.resolve(arguments: rest, environment: environment), environment: environment,
                                        allocator: allocator)
            } catch {
                printError("jobgate serve: \(error)")
                return 2
            }
        case "check":
            return CheckCommand.main(arguments: rest, defaultDirectory: defaultMappings, environment: environment)
        case "plan":
            return PlanCommand.main(arguments: rest, defaultDirectory: defaultMappings, environment: environment)
        case "-h", "--help", "help":
            print(usage)
            return 0
        case "--version", "version":
            print(version(mappingsDirectory: defaultMappings, environment: environment, allocator: allocator))
            return 0
        default:
            let names = commands.map(\.name) + ["--help", "--version"]
            printError("jobgate: unknown command '\(command)'\(Spelling.suggestion(for: command, among: names))\n\n\(usage)")
            return 2
        }
    }

    static var usage: String {
        var text = "usage: jobgate <command> [options]\n\ncommands:\n"
        for (name, summary) in commands { text += "  \(name.padding(10))\(summary)\n" }
        text += "\n`jobgate <command> --help` shows a command's options; `jobgate --version` the version."
        return text
    }

    static var serveUsage: String {
        var text = """
        usage: jobgate serve [options]

        Runs the gateway. Options (flag beats environment beats default):
        """
        for (_, option) in Settings.options.sorted(by: { $0.value.environment < $1.value.environment }) {
            let flag = option.flag ?? "(environment only)"
            text += "\n  \(flag.padding(24))\(option.environment.padding(28))\(option.defaultValue ?? "unset")"
        }
        return text
    }

    /// The values `jobgate_build_info` carries (the version, and the hash of the mapping set it would load), and
    /// the allocator.
    static func version(mappingsDirectory: String, environment: [String: String], allocator: String) -> String {
        let hash = switch MappingFolder.load(directory: mappingsDirectory, environment: environment) {
        case .success(let mappings): mappings.hash
        case .failure: "none (\(mappingsDirectory) does not load)"
        }
        return "jobgate \(MetricsRegistry.version)\nmapping_hash \(hash) (\(mappingsDirectory))\nallocator \(allocator)"
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

func printError(_ message: String) {
    var standardError = StandardError()
    print(message, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var text = string
        text.withUTF8 { buffer in _ = Glibc.write(STDERR_FILENO, buffer.baseAddress, buffer.count) }
    }
}
