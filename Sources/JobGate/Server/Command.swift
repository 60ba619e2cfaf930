#if canImport(Glibc)
import Glibc
#endif
import JobGateCore
import JobGatePosix

/// The `jobgate` command line: subcommands and help.
public enum JobGateCommand {
    public static func main(arguments: [String], environment: [String: String]) -> Int32 {
        guard let command = arguments.first else {
            print(usage)
            return 2
        }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "serve":
            do {
                return ServeCommand.run(try Settings.resolve(arguments: rest, environment: environment), environment: environment)
            } catch {
                printError("jobgate: \(error)")
                return 2
            }
        case "check":
            return CheckCommand.run(directory: rest.first ?? environment["JOBGATE_MAPPINGS"] ?? "./Mappings",
                                    environment: environment)
        case "-h", "--help", "help":
            print(usage)
            return 0
        default:
            printError("jobgate: unknown command '\(command)'\n\(usage)")
            return 2
        }
    }

    static var usage: String {
        var text = """
        usage: jobgate serve [options]
               jobgate check [DIR]       validate mapping files (default: JOBGATE_MAPPINGS or ./Mappings)

        options (flag beats environment beats default):
        """
        for (_, option) in Settings.options.sorted(by: { $0.value.environment < $1.value.environment }) {
            let flag = option.flag ?? "(environment only)"
            text += "\n  \(flag.padding(24))\(option.environment.padding(28))\(option.defaultValue ?? "unset")"
        }
        return text
    }
}

private extension String {
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
