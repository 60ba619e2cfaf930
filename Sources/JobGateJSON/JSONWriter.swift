extension JSON {
    /// Compact JSON, members in order, numbers as their literal text.
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        JSONOutput.withScratch { output in
            output.append(json: value)
            return output.bytes()
        }
    }

    public static func serialize(_ value: JSONValue, into buffer: inout [UInt8]) {
        JSONOutput.withScratch { output in
            output.append(json: value)
            output.append(to: &buffer)
        }
    }

    /// A quoted string; controls, quote and backslash escaped, U+2028/2029 escaped for JavaScript consumers.
    public static func serialize(string: String, into buffer: inout [UInt8]) {
        JSONOutput.withScratch { output in
            output.appendQuoted(string)
            output.append(to: &buffer)
        }
    }
}

/// Serialized bytes in storage of its own, where each write checks the room once and then stores plainly
/// (appending to an Array checks uniqueness and capacity for every piece). It starts on the stack, so a
/// typical answer costs no allocation but the Array it ends up in.
struct JSONOutput: ~Copyable {
    private var start: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    /// False while the bytes are in the caller's scratch space.
    private var ownsStorage = false

    /// An output starting in 1 KiB of stack, which a canonical job fits.
    static func withScratch<Result>(_ body: (inout JSONOutput) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { scratch in
            // A temporary allocation of nonzero capacity always has an address.
            var output = JSONOutput(scratch: scratch.baseAddress!, capacity: scratch.count)
            return body(&output)
        }
    }

    private init(scratch: UnsafeMutablePointer<UInt8>, capacity: Int) {
        start = scratch
        self.capacity = capacity
    }

    /// An output in storage of its own, for a writer that outlives any one scope.
    init(capacity: Int) {
        start = .allocate(capacity: capacity)
        self.capacity = capacity
        ownsStorage = true
    }

    deinit {
        if ownsStorage { start.deallocate() }
    }

    /// The bytes in an Array of exactly their size.
    func bytes() -> [UInt8] {
        Array(UnsafeBufferPointer(start: start, count: count))
    }

    func append(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: start, count: count))
    }

    mutating func append(json value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(true): append("true")
        case .bool(false): append("false")
        case .number(let number): appendUTF8(of: number.literal)
        case .string(let string): appendQuoted(string)
        case .array(let array):
            append(0x5B)
            for (offset, element) in array.enumerated() {
                if offset > 0 { append(0x2C) }
                append(json: element)
            }
            append(0x5D)
        case .object(let object):
            append(0x7B)
            var first = true
            for (key, member) in object {
                if !first { append(0x2C) }
                first = false
                appendQuoted(key)
                append(0x3A)
                append(json: member)
            }
            append(0x7D)
        }
    }

    /// A quoted string; controls, quote and backslash escaped, U+2028/2029 escaped for JavaScript consumers.
    mutating func appendQuoted(_ string: String) {
        append(0x22)
        appendEscaped(string)
        append(0x22)
    }

    /// `first`, `separator` and `second` as one JSON string, without the joined string being made.
    /// `separator` is plain ASCII that needs no escape.
    mutating func appendQuoted(joining first: String, _ separator: UInt8, _ second: String) {
        append(0x22)
        appendEscaped(first)
        append(separator)
        appendEscaped(second)
        append(0x22)
    }

    /// A string's text as it goes between a JSON string's quotes.
    private mutating func appendEscaped(_ string: String) {
        Self.withUTF8(of: string) { bytes in
            let firstCandidate = Self.firstEscapeCandidate(in: bytes, from: 0)
            guard firstCandidate == bytes.count else { return appendEscaping(bytes, from: firstCandidate) }
            // Most strings need no escape: room for all of it once (and the closing quote), then plain stores.
            reserve(bytes.count + 1)
            appendUnchecked(bytes)
        }
    }

    private mutating func appendUTF8(of string: String) {
        Self.withUTF8(of: string) { append($0) }
    }

    /// A string's bytes, not copied when the string holds them contiguously (a native string always does).
    private static func withUTF8(of string: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        if string.utf8.withContiguousStorageIfAvailable(body) == nil {
            var contiguous = string
            contiguous.withUTF8(body)
        }
    }

    /// Copies runs of plain bytes whole; only the bytes that need an escape are handled one by one, the first
    /// candidate for one at `firstCandidate`.
    private mutating func appendEscaping(_ bytes: UnsafeBufferPointer<UInt8>, from firstCandidate: Int) {
        var runStart = 0
        var index = firstCandidate
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0xE2 {
                let isLineOrParagraphSeparator = index + 2 < bytes.count && bytes[index + 1] == 0x80
                    && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9)
                guard isLineOrParagraphSeparator else {
                    index = Self.firstEscapeCandidate(in: bytes, from: index + 1)
                    continue
                }
            }
            append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            switch byte {
            case 0x22: append("\\\"")
            case 0x5C: append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            case 0xE2:
                append(bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
                index += 2
            default:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00")
                append(hex.utf8Start[Int(byte >> 4)])
                append(hex.utf8Start[Int(byte & 0xF)])
            }
            index += 1
            runStart = index
            index = Self.firstEscapeCandidate(in: bytes, from: index)
        }
        append(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
    }

    /// Where the first byte from `start` on is that may need an escape: a control, quote, backslash or 0xE2, the
    /// lead byte of U+2028 and U+2029; `bytes.count` when there is none. Tested a word at a time.
    private static func firstEscapeCandidate(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        func candidates(_ word: ByteWord) -> UInt64 {
            word.below(0x20) | word.equal(0x22) | word.equal(0x5C) | word.equal(0xE2)
        }
        guard let base = bytes.baseAddress else { return bytes.count }
        var index = start
        while index + 8 <= bytes.count {
            let flags = candidates(ByteWord(loadingFrom: base + index))
            if flags != 0 { return index + ByteWord.offsetOfFirst(flags) }
            index += 8
        }
        let lastWord = bytes.count - 8
        if index < bytes.count && lastWord >= start {
            // The last eight bytes overlap some already found plain, so any flag is in the rest.
            let flags = candidates(ByteWord(loadingFrom: base + lastWord))
            return flags == 0 ? bytes.count : lastWord + ByteWord.offsetOfFirst(flags)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0xE2 { return index }
            index += 1
        }
        return index
    }

    mutating func append(_ byte: UInt8) {
        reserve(1)
        appendUnchecked(byte)
    }

    private mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count)
        appendUnchecked(bytes)
    }

    /// For callers that reserved the room.
    private mutating func appendUnchecked(_ byte: UInt8) {
        start[count] = byte
        count += 1
    }

    private mutating func appendUnchecked(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        (start + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(toHold: count + extra) }
    }

    @inline(never)
    private mutating func grow(toHold needed: Int) {
        capacity = max(capacity * 2, needed)
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        larger.moveInitialize(from: start, count: count)
        if ownsStorage { start.deallocate() }
        start = larger
        ownsStorage = true
    }
}

/// An object key as a writer puts it (`"key":`), encoded once: the keys a writer uses for every answer are then
/// copied whole, without the escape scan and quoting a key string costs each time.
public struct JSONKey: Sendable {
    fileprivate let encoded: [UInt8]

    public init(_ name: String) {
        var output = JSONOutput(capacity: name.utf8.count + 8)
        output.appendQuoted(name)
        output.append(0x3A)
        encoded = output.bytes()
    }
}

/// A JSON object written member by member straight into bytes, for answers built from parts of other
/// documents: the same bytes `JSON.serialize` writes for the object those members would make.
public struct JSONObjectWriter: ~Copyable {
    private var output = JSONOutput(capacity: 1024)
    /// Whether the next member follows another at its level.
    private var needsComma = false

    public init() {
        output.append(0x7B)
    }

    public mutating func member(_ key: String, _ value: JSONValue) {
        appendKey(key)
        output.append(json: value)
    }

    public mutating func member(_ key: JSONKey, _ value: JSONValue) {
        appendKey(key)
        output.append(json: value)
    }

    /// A string member whose value is `first`, `separator` and `second` joined (see `JSONOutput.appendQuoted`).
    public mutating func member(_ key: JSONKey, joining first: String, _ separator: UInt8, _ second: String) {
        appendKey(key)
        output.appendQuoted(joining: first, separator, second)
    }

    /// A member of `object`, copied as it is when its bytes are already compact JSON.
    public mutating func member(_ key: JSONKey, _ member: JSONRawObject.Member, of object: JSONRawObject) {
        appendKey(key)
        appendValue(member, of: object)
    }

    private mutating func appendValue(_ member: JSONRawObject.Member, of object: JSONRawObject) {
        guard member.isCompact else { return output.append(json: object.value(of: member)) }
        object.source.withUnsafeBufferPointer { output.append(UnsafeBufferPointer(rebasing: $0[member.bytes])) }
    }

    /// A member of `object` under its own name, copied whole when its bytes are already compact JSON.
    public mutating func member(_ member: JSONRawObject.Member, of object: JSONRawObject) {
        guard let text = member.compactText else {
            appendKey(object.key(of: member))
            return appendValue(member, of: object)
        }
        if needsComma { output.append(0x2C) }
        needsComma = true
        object.source.withUnsafeBufferPointer { output.append(UnsafeBufferPointer(rebasing: $0[text])) }
    }

    /// The members of `object` whose keys are in neither list (see `JSONRawObject.isKey`), each under its own name.
    public mutating func members(of object: JSONRawObject, exceptKeysAmong excluded: JSONMemberNames,
                                 _ alsoExcluded: JSONMemberNames) {
        for member in object.members
        where !object.isKey(of: member, amongst: excluded) && !object.isKey(of: member, amongst: alsoExcluded) {
            self.member(member, of: object)
        }
    }

    /// Opens a member whose value is an object; its members follow, then `endObject`.
    public mutating func beginObject(_ key: JSONKey) {
        appendKey(key)
        output.append(0x7B)
        needsComma = false
    }

    public mutating func endObject() {
        output.append(0x7D)
        needsComma = true
    }

    /// Closes the object and hands over its bytes.
    public consuming func finish() -> [UInt8] {
        output.append(0x7D)
        return output.bytes()
    }

    private mutating func appendKey(_ key: String) {
        if needsComma { output.append(0x2C) }
        needsComma = true
        output.appendQuoted(key)
        output.append(0x3A)
    }

    private mutating func appendKey(_ key: JSONKey) {
        if needsComma { output.append(0x2C) }
        needsComma = true
        key.encoded.withUnsafeBufferPointer { output.append($0) }
    }
}
