import JobGateJSON

/// A vendor's JSON answer as an execution keeps it: its members left as bytes where the normalizer writes the
/// Job straight from them (`Normalizer.jobBytes`), else the tree.
public enum VendorBody: Sendable {
    case tree(JSONValue)
    case members(JSONRawObject)

    /// Reads (and checks) an answer, as members when `mapping`'s normalizer can use them.
    public static func read(_ bytes: [UInt8], limits: JSONLimits, mapping: VendorMapping) throws(JSONParseError) -> VendorBody {
        if mapping.jobReading.readsMembersAsTheyAre, let object = try JSON.parseObjectMembers(bytes, limits: limits) {
            return .members(object)
        }
        return .tree(try JSON.parse(bytes, limits: limits))
    }

    /// The answer as a tree, for the paths that need one (raw answers, scrubbing, a failed read-back).
    public var json: JSONValue {
        switch self {
        case .tree(let value): value
        case .members(let object): object.json
        }
    }
}
