import JobGateJSON

/// A vendor's HTTP answer as the pure layers read it; the upstream client's response is one.
public protocol VendorAnswer {
    var status: Int { get }
    var body: [UInt8] { get }
    /// The first value of a header, its name compared without case.
    func header(_ name: String) -> String?
}

/// Pure translation of vendor answers back into the canonical Job, or into a problem (CONTRACT.md §3-4).
public enum Normalizer {
    /// The canonical Job from a vendor's job representation; nil when the body does not hold one.
    public static func job(from body: JSONValue, vendorJobID: String, mapping: VendorMapping) -> JSONValue? {
        guard let jobValue = mapping.response.job.value(in: body), let object = jobValue.objectValue else { return nil }
        let reading = mapping.jobReading
        // Keys below are fixed and distinct (id, vendor, canonical field names, timestamps, vendorData).
        var job = JSONObject(reservingCapacity: 16)
        var id = vendorJobID
        if let pointer = mapping.response.id, let value = pointer.value(in: jobValue) {
            id = value.stringValue ?? value.numberValue?.literal ?? vendorJobID
        }
        job.appendUnchecked("id", .string(mapping.vendor + ":" + id))
        job.appendUnchecked("vendor", .string(mapping.vendor))
        job.appendUnchecked("vendorJobId", .string(id))
        for (field, spec) in reading.fields {
            guard let value = spec.from.value(in: jobValue) else { continue }
            job.appendUnchecked(field.rawValue, canonicalValue(value, spec))
        }
        func copyTimestamp(_ key: String, _ stamp: (pointer: JSONPointer, format: FieldMapping.Format)?) {
            guard let stamp, let value = stamp.pointer.value(in: jobValue) else { return }
            if let text = timestamp(value, stamp.format) { job.appendUnchecked(key, .string(text)) }
        }
        copyTimestamp("createdAt", mapping.response.createdAt)
        copyTimestamp("updatedAt", mapping.response.updatedAt)
        // vendorData speaks the names callers use in vendorFields, so what they send is what they read.
        var vendorData = JSONObject(reservingCapacity: object.count)
        var vendorNamesRead = JSONMemberNames()
        for (index, (name, spec)) in mapping.vendorFields.enumerated() {
            guard let value = spec.from.value(in: jobValue) else { continue }
            vendorData.appendUnchecked(name, vendorFieldValue(value, spec))
            vendorNamesRead.append(reading.vendorFieldNames[index])
        }
        // What the mapping does not read goes to vendorData too; members it reads deeper down are removed from
        // a copy (rare), members it reads whole are skipped (removing them would copy and shift the object).
        var rest = object
        if !reading.nestedPointers.isEmpty {
            var restValue = jobValue
            for pointer in reading.nestedPointers { pointer.remove(from: &restValue) }
            rest = restValue.objectValue ?? object
        }
        for (key, value) in rest where reading.leavesUnread(key, vendorNamesRead) {
            vendorData.appendUnchecked(key, value)
        }
        job.appendUnchecked("vendorData", .object(vendorData))
        return .object(job)
    }

    /// The canonical Job written straight from the vendor's members: the bytes `JSON.serialize` writes for
    /// `job(from:)`, without either tree. Nil where the mapping or this answer needs the tree (members read
    /// deeper down, formats converted, a timestamp to be made RFC 3339, an enum number to be made text).
    public static func jobBytes(from object: JSONRawObject, vendorJobID: String, mapping: VendorMapping) -> [UInt8]? {
        let reading = mapping.jobReading
        guard reading.readsMembersAsTheyAre else { return nil }
        // Found as the tree's object subscript finds them, so both ways agree on every name.
        func member(_ pointer: JSONPointer?) -> JSONRawObject.Member? {
            guard let name = pointer?.head else { return nil }
            return object.member(named: name)
        }
        var writer = JSONObjectWriter()
        var id = vendorJobID
        if let found = member(mapping.response.id) {
            id = object.string(of: found) ?? object.numberLiteral(of: found) ?? vendorJobID
        }
        writer.member(JobKeys.id, joining: mapping.vendor, UInt8(ascii: ":"), id)
        writer.member(JobKeys.vendor, .string(mapping.vendor))
        writer.member(JobKeys.vendorJobID, .string(id))
        for (field, spec) in reading.fields {
            guard let found = member(spec.from) else { continue }
            writer.member(JobKeys.canonical[field.position], found, of: object)
        }
        // False when the timestamp is there but not RFC 3339 text (the tree's way converts it).
        func copyTimestamp(_ key: JSONKey, _ stamp: (pointer: JSONPointer, format: FieldMapping.Format)?,
                           into writer: inout JSONObjectWriter) -> Bool {
            guard let stamp, let found = member(stamp.pointer) else { return true }
            guard let text = object.string(of: found), RFC3339.parse(text) != nil else { return false }
            writer.member(key, found, of: object)
            return true
        }
        guard copyTimestamp(JobKeys.createdAt, mapping.response.createdAt, into: &writer),
              copyTimestamp(JobKeys.updatedAt, mapping.response.updatedAt, into: &writer) else {
            return nil
        }
        writer.beginObject(JobKeys.vendorData)
        var vendorNamesRead = JSONMemberNames()
        for (index, (_, spec)) in mapping.vendorFields.enumerated() {
            guard let found = member(spec.from) else { continue }
            if spec.type == .enum && object.numberLiteral(of: found) != nil { return nil }
            writer.member(reading.vendorFieldKeys[index], found, of: object)
            vendorNamesRead.append(reading.vendorFieldNames[index])
        }
        writer.members(of: object, exceptKeysAmong: reading.topLevelNames, vendorNamesRead)
        writer.endObject()
        return writer.finish()
    }

    static func canonicalValue(_ value: JSONValue, _ spec: FieldMapping) -> JSONValue {
        switch spec.format {
        case .plain, .rfc3339:
            return value
        case .epoch, .epochMillis:
            return timestamp(value, spec.format).map { .string($0) } ?? value
        case .keyValueArray:
            guard let array = value.arrayValue else { return value }
            var object = JSONObject()
            for element in array {
                // An element the gateway cannot read a key from is left out rather than failing the answer.
                guard let key = spec.keyFrom.lazy.compactMap({ $0.value(in: element) }).first,
                      let name = key.stringValue ?? key.numberValue?.literal else { continue }
                object[name] = element.objectValue?[spec.valueName] ?? .null
            }
            return .object(object)
        }
    }

    static func vendorFieldValue(_ value: JSONValue, _ spec: VendorFieldMapping) -> JSONValue {
        // An enum sent as strings may come back as numbers (LILT's isProcessing): answer in the sent form.
        if spec.type == .enum, let number = value.numberValue, spec.values.contains(number.literal) {
            return .string(number.literal)
        }
        return value
    }

    /// An RFC 3339 string from an upstream timestamp: RFC 3339 text, or epoch seconds/milliseconds.
    static func timestamp(_ value: JSONValue, _ format: FieldMapping.Format) -> String? {
        if let text = value.stringValue {
            if RFC3339.parse(text) != nil { return text }
            guard let number = Double(text) else { return nil }
            return epochText(number, format)
        }
        guard let number = value.numberValue?.doubleValue, number.isFinite else { return nil }
        return epochText(number, format)
    }

    private static func epochText(_ number: Double, _ format: FieldMapping.Format) -> String? {
        // "epoch" tells seconds from milliseconds by size: 1e11 seconds is the year 5138.
        let seconds = format == .epochMillis || (format == .epoch && abs(number) >= 1e11) ? number / 1000 : number
        // RFC 3339 has four-digit years (0001-01-01 up to 10000-01-01); NaN fails the comparison too.
        guard seconds >= -62_135_596_800, seconds < 253_402_300_800 else { return nil }
        return RFC3339.format(epochSeconds: seconds)
    }
}

/// What the gateway knows about a vendor's error answer, before it becomes a problem.
public struct UpstreamErrorSummary: Sendable {
    public var status: Int
    public var code: String?
    public var message: String?
    public var requestID: String?
    public var fieldErrors = FieldErrors()
    public var excerpt: String
    public var retryAfterSeconds: Int?
}

extension Normalizer {
    static let excerptLimit = 512

    /// Reads a vendor's error answer according to the mapping's error style.
    /// `now`: the wall clock in epoch seconds, for a Retry-After given as a date.
    public static func summarize(_ response: some VendorAnswer, mapping: VendorMapping, redactor: Redactor,
                                 now: Double) -> UpstreamErrorSummary {
        let bytes = redactor.scrubbedForParsing(response.body)
        let body = try? JSON.parse(bytes, limits: JSONLimits(maxDepth: 32, maxBytes: 256 * 1024))
        var summary = UpstreamErrorSummary(status: response.status, excerpt: excerpt(bytes, parsed: body, redactor))
        let errors = mapping.errors
        func text(_ value: JSONValue?) -> String? {
            guard let value else { return nil }
            return value.stringValue ?? value.numberValue?.literal
        }
        if let body {
            summary.code = text(errors.code.flatMap { $0.value(in: body) })
                ?? text(body.objectValue?["code"]) ?? text(body.objectValue?["error"])
            let messagePointers = [errors.message, JSONPointer("/detail"), JSONPointer("/message"), JSONPointer("/title")]
            summary.message = messagePointers.lazy.compactMap { $0.flatMap { text($0.value(in: body)) } }.first
            summary.requestID = text(body.objectValue?["traceId"]) ?? text(body.objectValue?["requestId"])
            if let fieldErrors = errors.fieldErrors.flatMap({ $0.value(in: body) })?.objectValue {
                for (name, messages) in fieldErrors {
                    let list = messages.arrayValue?.compactMap(\.stringValue) ?? [messages.stringValue].compactMap { $0 }
                    for message in list {
                        summary.fieldErrors.add(canonicalName(forUpstream: redactor.scrub(name), mapping), bounded(redactor.scrub(message)))
                    }
                }
            }
        }
        if summary.fieldErrors.isEmpty, let message = summary.message, let field = fieldMentioned(in: message, mapping) {
            summary.fieldErrors.add(field, bounded(redactor.scrub(message)))
        }
        // Scrubbed before they are cut, so a secret across the cut cannot leave its first characters behind.
        summary.message = summary.message.map { bounded(redactor.scrub($0)) }
        summary.code = summary.code.map { bounded(redactor.scrub($0)) }
        summary.requestID = (response.header("x-request-id") ?? response.header("request-id") ?? summary.requestID)
            .map { bounded(redactor.scrub($0)) }
        summary.retryAfterSeconds = retryAfter(response, mapping, now: now)
        return summary
    }

    /// The wait a vendor asks for: its Retry-After, else for a 429 the wait its docs state (mapping).
    public static func retryAfter(_ response: some VendorAnswer, _ mapping: VendorMapping, now: Double) -> Int? {
        if let seconds = response.header("retry-after").flatMap({ retryAfterSeconds($0, now: now) }) { return seconds }
        return response.status == 429 ? mapping.errors.defaultRetryAfterSeconds : nil
    }

    /// The Job as far as the gateway knows it when a write landed but the job could not be read back: the
    /// identity and what the patch set, in canonical form.
    public static func job(from patch: ValidatedPatch, vendorJobID: String, mapping: VendorMapping) -> JSONValue {
        var job = JSONObject(reservingCapacity: 16)
        job.appendUnchecked("id", .string(mapping.vendor + ":" + vendorJobID))
        job.appendUnchecked("vendor", .string(mapping.vendor))
        job.appendUnchecked("vendorJobId", .string(vendorJobID))
        var vendorData = JSONObject()
        for (field, value) in patch.members {
            switch field {
            case .canonical(let canonical): job.appendUnchecked(canonical.rawValue, value)
            case .vendor(let name): vendorData[name] = value
            }
        }
        job.appendUnchecked("vendorData", .object(vendorData))
        return .object(job)
    }

    /// The job of an update whose writes landed, with `readBack`: the problem that kept the gateway from
    /// reading it back, so the caller knows the update happened and why the job is incomplete.
    public static func withReadBackFailure(_ job: JSONValue, _ problem: Problem) -> JSONValue {
        guard var object = job.objectValue else { return job }
        object["readBack"] = problem.json()
        return .object(object)
    }

    /// The canonical name for an upstream field name (case-insensitive, ASP.NET's "$." prefix ignored).
    static func canonicalName(forUpstream name: String, _ mapping: VendorMapping) -> String {
        var key = name.lowercased()
        if key.hasPrefix("$.") { key.removeFirst(2) }
        for field in CanonicalField.allCases {
            guard let spec = mapping.fields[field] else { continue }
            if spec.to.tokens.joined(separator: ".").lowercased() == key || spec.to.lastToken?.lowercased() == key {
                return field.rawValue
            }
        }
        for (vendorName, spec) in mapping.vendorFields where spec.to.lastToken?.lowercased() == key || vendorName.lowercased() == key {
            return "vendorFields.\(vendorName)"
        }
        return String(name.prefix(64))
    }

    /// For vendors that only send a message ("goalQuantity must be greater than zero"): the canonical field it
    /// names, matched by the upstream field name as a whole word, never by the exact wording.
    static func fieldMentioned(in message: String, _ mapping: VendorMapping) -> String? {
        let words = Set(message.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map { $0.lowercased() })
        for field in CanonicalField.allCases {
            if let token = mapping.fields[field]?.to.lastToken?.lowercased(), words.contains(token) { return field.rawValue }
        }
        for (vendorName, spec) in mapping.vendorFields {
            if let token = spec.to.lastToken?.lowercased(), words.contains(token) { return "vendorFields.\(vendorName)" }
        }
        return nil
    }

    /// Members of an error body that describe the vendor's own deployment (Nitro's `url` is its internal
    /// address, a `stack` its code), not the caller's request: never passed on.
    static let internalMembers: Set<String> = ["url", "stack", "stackTrace", "trace"]

    static func excerpt(_ body: [UInt8], parsed: JSONValue?, _ redactor: Redactor) -> String {
        // A JSON body is passed on compact (no vendor pretty-printing eating the budget), without internals.
        var compact = body
        if case .object(var object)? = parsed {
            for key in object.keys where internalMembers.contains(key) { object[key] = nil }
            compact = JSON.serialize(.object(object))
        } else if let parsed {
            compact = JSON.serialize(parsed)
        }
        // The whole body is scrubbed before it is cut, for the same reason.
        let scrubbed = redactor.scrub(compact)
        let text = String(decoding: scrubbed.prefix(excerptLimit), as: UTF8.self)
        let printable = String(text.unicodeScalars.map { $0.value < 0x20 && $0 != "\t" ? " " : Character($0) })
        return printable + (scrubbed.count > excerptLimit ? "…" : "")
    }

    static func bounded(_ text: String, _ limit: Int = 300) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    /// Retry-After as delta seconds, or as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") turned into one.
    public static func retryAfterSeconds(_ value: String, now: Double) -> Int? {
        let trimmed = value.trimmingCharacters { $0 == " " || $0 == "\t" }
        if let seconds = Int(trimmed) { return max(0, seconds) }
        let parts = trimmed.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let month = months.firstIndex(of: String(parts[2])) else { return nil }
        let monthText = month + 1 < 10 ? "0\(month + 1)" : "\(month + 1)"
        guard let date = RFC3339.parse("\(parts[3])-\(monthText)-\(parts[1])T\(parts[4])Z") else { return nil }
        return max(0, Int(date - now))
    }
}

/// The Job's own member names, encoded once for `Normalizer.jobBytes`.
private enum JobKeys {
    static let id = JSONKey("id")
    static let vendor = JSONKey("vendor")
    static let vendorJobID = JSONKey("vendorJobId")
    static let createdAt = JSONKey("createdAt")
    static let updatedAt = JSONKey("updatedAt")
    static let vendorData = JSONKey("vendorData")
    /// By `CanonicalField.position`.
    static let canonical = CanonicalField.allCases.map { JSONKey($0.rawValue) }
}

/// What the normalizer reads from a vendor's job, from the mapping: the canonical fields in contract order, and
/// the members it reads (so the rest can go to vendorData) split into top-level names and deeper pointers.
struct JobReading: Sendable {
    let fields: [(field: CanonicalField, spec: FieldMapping)]
    let topLevelNames: JSONMemberNames
    let nestedPointers: [JSONPointer]
    /// The names of the mapping's vendor fields, in its order, and the same as the Job writes them.
    let vendorFieldNames: [JSONMemberName]
    let vendorFieldKeys: [JSONKey]
    /// The job is the whole body and every value is read from a top-level member and answered as it is:
    /// `Normalizer.jobBytes` applies.
    let readsMembersAsTheyAre: Bool

    init(fields: [CanonicalField: FieldMapping], vendorFields: [(name: String, mapping: VendorFieldMapping)],
         response: ResponseMapping) {
        self.fields = CanonicalField.allCases.compactMap { field in fields[field].map { (field, $0) } }
        let pointers = [response.id, response.createdAt?.pointer, response.updatedAt?.pointer].compactMap { $0 }
            + self.fields.map(\.spec.from) + vendorFields.map(\.mapping.from)
        var topLevelNames = JSONMemberNames()
        for pointer in pointers where pointer.tokens.count == 1 && !topLevelNames.texts.contains(pointer.tokens[0]) {
            topLevelNames.append(JSONMemberName(pointer.tokens[0]))
        }
        self.topLevelNames = topLevelNames
        nestedPointers = pointers.filter { $0.tokens.count > 1 }
        vendorFieldNames = vendorFields.map { JSONMemberName($0.name) }
        vendorFieldKeys = vendorFields.map { JSONKey($0.name) }
        readsMembersAsTheyAre = response.job.tokens.isEmpty && pointers.allSatisfy { $0.tokens.count == 1 }
            && self.fields.allSatisfy { $0.spec.format == .plain || $0.spec.format == .rfc3339 }
    }

    /// Whether a top-level member of the job goes to vendorData: the mapping does not read it whole, and no
    /// vendor field read from elsewhere already took its name. Names compare as strings, as the object subscript
    /// finds members (`Normalizer.jobBytes` asks the same of raw members through `JSONRawObject.isKey`).
    func leavesUnread(_ key: String, _ vendorNamesRead: JSONMemberNames) -> Bool {
        !topLevelNames.texts.contains(key) && !vendorNamesRead.texts.contains(key)
    }
}
