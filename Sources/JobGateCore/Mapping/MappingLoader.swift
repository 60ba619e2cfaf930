import JobGateJSON

/// A problem found in a mapping file: which file, where in it (a JSON pointer), and what is wrong.
public struct MappingIssue: Sendable, CustomStringConvertible, Equatable {
    public enum Severity: String, Sendable { case error, warning }

    public let file: String
    public let path: String
    public let message: String
    public let severity: Severity

    public init(file: String, path: String, message: String, severity: Severity) {
        self.file = file
        self.path = path
        self.message = message
        self.severity = severity
    }

    public var description: String {
        "\(severity): \(file)\(path.isEmpty ? "" : " at \(path)"): \(message)"
    }
}

/// Why a mapping set was rejected: every error found, not just the first.
public struct MappingIssues: Error, Sendable {
    public let issues: [MappingIssue]

    public init(_ issues: [MappingIssue]) {
        self.issues = issues
    }
}

/// The mapping files of one folder, loaded together: the unit of startup, `check` and SIGHUP reload.
public struct MappingSet: Sendable {
    public let vendors: [String: VendorMapping]
    /// FNV-1a over the files' names and bytes: which configuration is live (never covers secret values).
    public let hash: String
    public let warnings: [MappingIssue]

    public var redactor: Redactor { Redactor(vendors.values.flatMap(\.secrets)) }
}

public enum MappingLoader {
    /// Loads a folder's `*.json` files, given as (file name, bytes) in any order; any error rejects the
    /// whole set. Reading the folder is the caller's I/O.
    public static func load(files: [(name: String, bytes: [UInt8])], environment: [String: String]) -> Result<MappingSet, MappingIssues> {
        let mappingFiles = files.filter { $0.name.hasSuffix(".json") }.sorted { $0.name < $1.name }
        guard !mappingFiles.isEmpty else {
            return .failure(MappingIssues([MappingIssue(file: "", path: "", message: "no mapping files (*.json)", severity: .error)]))
        }
        var issues: [MappingIssue] = []
        var vendors: [String: VendorMapping] = [:]
        var hasher = FNV1a()
        for (file, data) in mappingFiles {
            hasher.add(Array(file.utf8))
            hasher.add(data)
            var reader = MappingReader(file: file, environment: environment)
            if let mapping = reader.read(data, vendorID: String(file.dropLast(5))) {
                vendors[mapping.vendor] = mapping
            }
            issues += reader.issues
        }
        let errors = issues.filter { $0.severity == .error }
        guard errors.isEmpty else { return .failure(MappingIssues(errors)) }
        return .success(MappingSet(vendors: vendors, hash: hasher.hex, warnings: issues))
    }
}

struct FNV1a {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            state ^= UInt64(byte)
            state = state &* 0x0000_0100_0000_01B3
        }
        state ^= 0xFF
    }

    var hex: String {
        let digits = String(state, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Reads one mapping file, collecting every problem instead of stopping at the first.
