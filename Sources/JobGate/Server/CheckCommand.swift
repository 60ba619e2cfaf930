import JobGateHTTP
import JobGateJSON
import JobGateCore
import JobGatePosix

/// `jobgate check [DIR] [--format text|json]`: the same validation as startup and reload, plus every
/// example in the files (`ExampleRunner`), printed for people or, as JSON lines, for CI annotations.
enum CheckCommand {
    static let help = """
    usage: jobgate check [DIR] [--format text|json]

    Validates every mapping file in DIR (default: JOBGATE_MAPPINGS or ./Mappings) as startup and SIGHUP do,
    then runs each file's "examples": plans the patch, compares the calls, plays the answers through the
    normalizer and compares the job or problem. Exit 1 on any error.
      --format text   one line per problem, then a summary (default)
      --format json   one JSON object per line per problem: {"file", "pointer", "message", "severity"};
                      nothing else, so a clean set prints nothing
    """

    enum Format: String { case text, json }

    static func main(arguments: [String], defaultDirectory: String, environment: [String: String]) -> Int32 {
        let parsed: CommandArguments
        do {
            parsed = try CommandArguments(arguments, flags: ["--format"], maxPositionals: 1)
        } catch {
            printError("jobgate check: \(error)\n\n\(help)")
            return 2
        }
        if parsed.wantsHelp {
            print(help)
            return 0
        }
        guard let format = Format(rawValue: parsed["--format"] ?? "text") else {
            printError("jobgate check: --format must be text or json")
            return 2
        }
        return run(directory: parsed.positionals.first ?? defaultDirectory, format: format, environment: environment)
    }

    static func run(directory: String, format: Format, environment: [String: String]) -> Int32 {
        let mappings: MappingSet
        switch MappingFolder.load(directory: directory, environment: environment) {
        case .failure(let rejected):
            report(rejected.issues, format: format)
            if format == .text { print("\(rejected.issues.count) error\(rejected.issues.count == 1 ? "" : "s") in \(directory)") }
            return 1
        case .success(let loaded):
            mappings = loaded
        }
        let vendors = mappings.vendors.sorted { $0.key < $1.key }
        let failedExamples = vendors.flatMap { ExampleRunner.issues(for: $0.value, file: $0.key + ".json") }
        report(mappings.warnings + staticTokenWarnings(mappings, now: epochSeconds()) + failedExamples, format: format)
        guard format == .text else { return failedExamples.isEmpty ? 0 : 1 }
        guard failedExamples.isEmpty else {
            print("\(failedExamples.count) example difference\(failedExamples.count == 1 ? "" : "s") in \(directory)")
            return 1
        }
        func status(_ mapping: VendorMapping) -> String {
            mapping.isConfigured ? "configured" : "NOT configured (\(mapping.missingConfiguration.joined(separator: ", ")))"
        }
        for (name, mapping) in vendors {
            print("ok: \(name) → \(mapping.baseURL) [\(status(mapping))], \(mapping.examples.count) examples pass")
            for (account, accountMapping) in mapping.accounts.sorted(by: { $0.key < $1.key }) {
                print("    account \(account) → \(accountMapping.baseURL) [\(status(accountMapping))]")
            }
        }
        print("mapping set \(mappings.hash): \(mappings.vendors.count) vendors valid")
        return 0
    }

    private static func report(_ issues: [MappingIssue], format: Format) {
        for issue in issues {
            switch format {
            case .text:
                print(issue)
            case .json:
                let line: JSONValue = ["file": .string(issue.file), "pointer": .string(issue.path),
                                       "message": .string(issue.message), "severity": .string(issue.severity.rawValue)]
                print(String(decoding: JSON.serialize(line), as: UTF8.self))
            }
        }
    }

    /// A static token that is a JWT stops working at its `exp`: say so while there is time to replace it.
    static func staticTokenWarnings(_ mappings: MappingSet, now: Double) -> [MappingIssue] {
        mappings.vendors.keys.sorted().compactMap { name in
            guard let mapping = mappings.vendors[name], case .token(let source) = mapping.auth, let token = source.staticToken,
                  let warning = JWT.expiryWarning(for: token.exposedValue, now: now) else { return nil }
            return MappingIssue(file: name + ".json", path: "/auth/staticToken", message: warning, severity: .warning)
        }
    }
}
