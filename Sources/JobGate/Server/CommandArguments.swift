import JobGateCore

/// A subcommand's arguments: `--flag value` or `--flag=value` for the flags it knows, positionals for the
/// rest. One parser for every subcommand, so each names a mistyped flag's closest valid one the same way.
struct CommandArguments {
    private(set) var values: [String: String] = [:]
    private(set) var positionals: [String] = []
    /// `-h` or `--help` was given.
    private(set) var wantsHelp = false

    struct Error: Swift.Error, CustomStringConvertible {
        let description: String
    }

    /// `flags`: the options that take a value. A lone `-` is a positional or a value (stdin), not a flag.
    init(_ arguments: [String], flags: Set<String>, maxPositionals: Int) throws(CommandArguments.Error) {
        var index = 0
        while index < arguments.count {
            var argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" {
                wantsHelp = true
                continue
            }
            guard argument.hasPrefix("-") && argument != "-" else {
                guard positionals.count < maxPositionals else { throw Error(description: "unexpected argument '\(argument)'") }
                positionals.append(argument)
                continue
            }
            var value: String?
            if let equals = argument.firstIndex(of: "=") {
                value = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
            }
            guard flags.contains(argument) else {
                let known = flags.isEmpty ? "" : " (known: \(flags.sorted().joined(separator: ", ")))"
                let hint = Spelling.suggestion(for: argument, among: flags + ["--help"])
                throw Error(description: "unknown option '\(argument)'" + (hint.isEmpty ? known : hint))
            }
            if value == nil {
                guard index < arguments.count else { throw Error(description: "option '\(argument)' needs a value") }
                value = arguments[index]
                index += 1
            }
            values[argument] = value
        }
    }

    subscript(flag: String) -> String? { values[flag] }
}
