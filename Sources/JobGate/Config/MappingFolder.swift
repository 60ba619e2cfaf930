import JobGateCore
import JobGatePosix

/// The mapping folder on disk: read it, load it with the core's loader, and check what only the file
/// system can tell (a `caFile` that cannot be read).
enum MappingFolder {
    static func load(directory: String, environment: [String: String]) -> Result<MappingSet, MappingIssues> {
        guard let names = FileSystem.listDirectory(directory) else {
            return .failure(MappingIssues([MappingIssue(file: directory, path: "", message: "cannot read the mapping folder", severity: .error)]))
        }
        var files: [(name: String, bytes: [UInt8])] = []
        var unreadable: [MappingIssue] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            if let bytes = FileSystem.readFile(directory + "/" + name) {
                files.append((name, bytes))
            } else {
                unreadable.append(MappingIssue(file: name, path: "", message: "cannot read the file", severity: .error))
            }
        }
        if files.isEmpty && unreadable.isEmpty {
            return .failure(MappingIssues([MappingIssue(file: directory, path: "", message: "no mapping files (*.json)", severity: .error)]))
        }
        let loaded = MappingLoader.load(files: files, environment: environment)
        guard case .success(let set) = loaded else {
            return loaded.mapError { MappingIssues(unreadable + $0.issues) }
        }
        let caFileIssues = set.vendors.keys.sorted().compactMap { vendor -> MappingIssue? in
            guard let caFile = set.vendors[vendor]?.caFile, !FileSystem.isReadable(caFile) else { return nil }
            return MappingIssue(file: vendor + ".json", path: "/caFile", message: "cannot read '\(caFile)'", severity: .error)
        }
        let errors = unreadable + caFileIssues
        return errors.isEmpty ? .success(set) : .failure(MappingIssues(errors))
    }
}
