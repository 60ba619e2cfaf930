import JobGateJSON

/// An RFC 6901 JSON pointer, pre-split into unescaped reference tokens.
public struct JSONPointer: Sendable, Equatable, CustomStringConvertible {
    public let tokens: [String]
    /// The first token, made ready for finding a member among raw members (`JSONRawObject`).
    public let head: JSONMemberName?

    public init?(_ text: String) {
        guard text.isEmpty || text.hasPrefix("/") else { return nil }
        self.init(tokens: text.isEmpty ? [] : text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0.replacing("~1", with: "/").replacing("~0", with: "~"))
        })
    }

    public var description: String {
        tokens.map { "/" + Self.escaped($0) }.joined()
    }

    /// One reference token as a pointer writes it (RFC 6901: `~` as `~0`, `/` as `~1`).
    public static func escaped(_ token: String) -> String {
        token.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    public var lastToken: String? { tokens.last }

    public func value(in root: JSONValue) -> JSONValue? {
        var current = root
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let array):
                guard let index = Int(token), array.indices.contains(index) else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }

    /// Sets `value` at this pointer inside `root`, creating objects along the way.
    public func set(_ value: JSONValue, in root: inout JSONValue) {
        Self.set(value, in: &root, at: tokens[...])
    }

    private static func set(_ value: JSONValue, in root: inout JSONValue, at tokens: ArraySlice<String>) {
        guard let first = tokens.first else {
            root = value
            return
        }
        var object = root.objectValue ?? JSONObject()
        // Released from `root` before the change, so the members are edited in place instead of copied.
        root = .null
        if tokens.count == 1 {
            object[first] = value
        } else {
            var child = object[first] ?? .object(JSONObject())
            set(value, in: &child, at: tokens.dropFirst())
            object[first] = child
        }
        root = .object(object)
    }

    /// Removes the member at this pointer, if present.
    public func remove(from root: inout JSONValue) {
        guard let first = tokens.first, var object = root.objectValue else { return }
        if tokens.count == 1 {
            object[first] = nil
        } else if var child = object[first] {
            JSONPointer(tokens: Array(tokens.dropFirst())).remove(from: &child)
            object[first] = child
        }
        root = .object(object)
    }

    public init(tokens: [String]) {
        self.tokens = tokens
        head = tokens.first.map(JSONMemberName.init)
    }
}
