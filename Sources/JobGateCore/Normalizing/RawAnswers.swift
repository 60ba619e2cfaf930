import JobGateJSON

/// One vendor answer of a request, kept for `?raw=true`.
public struct RawAnswer: Sendable {
    public let call: String
    public let method: String
    public let status: Int
    public let body: [UInt8]

    public init(call: String, method: String, status: Int, body: [UInt8]) {
        self.call = call
        self.method = method
        self.status = status
        self.body = body
    }
}

/// `raw` in a Job: what the vendor itself answered, for callers who need a member the canonical Job has no
/// name for, or who debug a mapping. Bounded and redacted like every other output.
public enum RawAnswers {
    /// A body beyond this is shown as a text excerpt of this many bytes, marked `truncated`.
    public static let maxBodyBytes = 65_536

    /// One `{call, method, status, body}` per answer in call order: `body` is the parsed JSON where the body
    /// is JSON, its text otherwise, absent when empty. Every secret the redactor knows is scrubbed from
    /// every string, member name and number of it.
    public static func json(_ answers: [RawAnswer], redactor: Redactor) -> JSONValue {
        .array(answers.map { answer in
            var entry: JSONObject = ["call": .string(answer.call), "method": .string(answer.method),
                                     "status": .number(JSONNumber(Int64(answer.status)))]
            if answer.body.count > maxBodyBytes {
                // Scrubbed before it is cut, so a secret across the cut cannot leave its first characters behind;
                // cut at a character boundary: the decoder repairs at most the last, split character.
                entry["body"] = .string(String(decoding: redactor.scrub(answer.body).prefix(maxBodyBytes), as: UTF8.self))
                entry["truncated"] = true
            } else if !answer.body.isEmpty {
                let bytes = redactor.scrubbedForParsing(answer.body)
                if let parsed = try? JSON.parse(bytes, limits: JSONLimits(maxDepth: 64)) {
                    entry["body"] = scrubbed(parsed, redactor)
                } else {
                    entry["body"] = .string(redactor.scrub(String(decoding: bytes, as: UTF8.self)))
                }
            }
            return .object(entry)
        })
    }

    /// Scrubbed after parsing: a secret the vendor wrote with JSON escapes (`\/`, `\u0041`) is only
    /// recognisable once decoded (and one an escape would hide is scrubbed before, `Redactor.scrubbedForParsing`).
    public static func scrubbed(_ value: JSONValue, _ redactor: Redactor) -> JSONValue {
        switch value {
        case .null, .bool:
            return value
        case .number(let number):
            let literal = redactor.scrub(number.literal)
            return literal == number.literal ? value : .string(literal)
        case .string(let text):
            return .string(redactor.scrub(text))
        case .array(let elements):
            return .array(elements.map { scrubbed($0, redactor) })
        case .object(let object):
            var result = JSONObject(reservingCapacity: object.count)
            for (key, member) in object { result[redactor.scrub(key)] = scrubbed(member, redactor) }
            return .object(result)
        }
    }
}

extension RawAnswers {
    /// The Job with `raw`: the vendor's answers behind it. The whole Job is scrubbed too: `vendorData`
    /// passes through what the vendor sent, and an answer that shows raw output must not show a secret
    /// next to it.
    public static func adding(to job: JSONValue, _ answers: [RawAnswer], redactor: Redactor) -> JSONValue {
        guard var object = scrubbed(job, redactor).objectValue else { return job }
        object["raw"] = json(answers, redactor: redactor)
        return .object(object)
    }
}
