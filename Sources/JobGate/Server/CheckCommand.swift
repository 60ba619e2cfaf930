import JobGateHTTP
import JobGateCore
import JobGatePosix

/// `jobgate check [DIR]`: the same validation as startup and reload, printed for people.
enum CheckCommand {
    static func run(directory: String, environment: [String: String]) -> Int32 {
        switch MappingFolder.load(directory: directory, environment: environment) {
        case .failure(let rejected):
            for issue in rejected.issues { print(issue) }
            print("\(rejected.issues.count) error\(rejected.issues.count == 1 ? "" : "s") in \(directory)")
            return 1
        case .success(let mappings):
            for warning in mappings.warnings + staticTokenWarnings(mappings, now: epochSeconds()) { print(warning) }
            for (name, mapping) in mappings.vendors.sorted(by: { $0.key < $1.key }) {
                let status = mapping.isConfigured ? "configured" : "NOT configured (\(mapping.missingConfiguration.joined(separator: ", ")))"
                print("ok: \(name) → \(mapping.baseURL) [\(status)]")
            }
            print("mapping set \(mappings.hash): \(mappings.vendors.count) vendors valid")
            return 0
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
