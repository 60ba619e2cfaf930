import JobGateJSON

/// A worked example in a mapping file (`"examples"`, CONTRACT §1): a patch, the calls it must plan, and
/// optionally the vendor's answers and what the gateway must make of them. `jobgate check` runs each one
/// (`ExampleRunner`), so a mapping's behaviour is proven by the file that defines it.
public struct MappingExample: Sendable {
    /// One upstream call as the example expects it: the path is relative to the mapping's base URL, and
    /// an absent body means the call sends none.
    public struct ExpectedCall: Sendable {
        public let method: String
        public let path: String
        public let body: JSONValue?
    }

    /// A vendor answer the example feeds to the gateway, one per planned call in order.
    public struct Answer: Sendable, VendorAnswer {
        public let status: Int
        /// The body as the vendor sends it: the example's JSON serialized, empty when it gives none.
        public let body: [UInt8]

        /// Examples give no answer headers: a Retry-After reads as absent.
        public func header(_ name: String) -> String? { nil }
    }

    /// What the gateway must answer after the calls.
    public enum Expectation: Sendable {
        /// The canonical Job, compared whole.
        case job(JSONValue)
        /// The problem+json body, compared on the members the example gives (`status`, `type`, `errors`, …).
        case problem(JSONObject)
        /// Only the calls are checked.
        case callsOnly
    }

    public let name: String
    /// Where the example sits in the file, for pointers in reports (`/examples/<index>`).
    public let index: Int
    public let patch: JSONObject
    public let account: String?
    public let calls: [ExpectedCall]
    public let answers: [Answer]?
    public let expectation: Expectation

    public var pointer: String { "/examples/\(index)" }
}
