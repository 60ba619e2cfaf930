/// RFC 7396 JSON Merge Patch: objects merge member by member, `null` removes a member, anything else
/// replaces the target whole.
public enum JSONMergePatch {
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard let patchObject = patch.objectValue else { return patch }
        var result = target.objectValue ?? JSONObject()
        for (key, value) in patchObject {
            if value.isNull {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}
