import JobGateJSON

/// Where two JSON values differ, each difference at its own pointer: what an example runner reports.
enum JSONComparison {
    struct Difference {
        let pointer: String
        let expected: JSONValue?
        let actual: JSONValue?
    }

    /// `expected` against `actual`. With `membersGiven`, objects are compared only on the members `expected`
    /// names (a problem's `status` and `errors`, not its wording); arrays and scalars are always compared whole.
    static func differences(expected: JSONValue, actual: JSONValue, at pointer: String,
                            membersGiven: Bool) -> [Difference] {
        switch (expected, actual) {
        case (.object(let expectedObject), .object(let actualObject)):
            var found: [Difference] = []
            for (key, value) in expectedObject {
                let here = pointer + "/" + JSONPointer.escaped(key)
                if let other = actualObject[key] {
                    found += differences(expected: value, actual: other, at: here, membersGiven: membersGiven)
                } else {
                    found.append(Difference(pointer: here, expected: value, actual: nil))
                }
            }
            if !membersGiven {
                for (key, value) in actualObject where expectedObject[key] == nil {
                    found.append(Difference(pointer: pointer + "/" + JSONPointer.escaped(key), expected: nil, actual: value))
                }
            }
            return found
        case (.array(let expectedArray), .array(let actualArray)) where expectedArray.count == actualArray.count:
            return zip(expectedArray, actualArray).enumerated().flatMap { index, pair in
                differences(expected: pair.0, actual: pair.1, at: "\(pointer)/\(index)", membersGiven: membersGiven)
            }
        case (.number(let expectedNumber), .number(let actualNumber)):
            // 14 and 14.0 are the same JSON number to every vendor; the literal is not what an example means.
            let same = expectedNumber == actualNumber || expectedNumber.doubleValue == actualNumber.doubleValue
            return same ? [] : [Difference(pointer: pointer, expected: expected, actual: actual)]
        default:
            return expected == actual ? [] : [Difference(pointer: pointer, expected: expected, actual: actual)]
        }
    }

    /// Compact JSON for a report line, cut where it would flood it; "absent" for a missing value.
    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "absent" }
        let text = String(decoding: JSON.serialize(value), as: UTF8.self)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
