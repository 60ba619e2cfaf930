/// `jobgate check [DIR]`: the same validation as startup and reload, printed for people.
enum CheckCommand {
    static func run(directory: String, environment: [String: String]) -> Int32 {
        switch MappingLoader.load(directory: directory, environment: environment) {
        case .failure(let rejected):
            for issue in rejected.issues { print(issue) }
            print("\(rejected.issues.count) error\(rejected.issues.count == 1 ? "" : "s") in \(directory)")
            return 1
        case .success(let mappings):
            for warning in mappings.warnings { print(warning) }
            for (name, mapping) in mappings.vendors.sorted(by: { $0.key < $1.key }) {
                let status = mapping.isConfigured ? "configured" : "NOT configured (\(mapping.missingConfiguration.joined(separator: ", ")))"
                print("ok: \(name) → \(mapping.baseURL) [\(status)]")
            }
            print("mapping set \(mappings.hash): \(mappings.vendors.count) vendors valid")
            return 0
        }
    }
}
