/// A strict RFC 8259 reader over bytes. Recursion depth is bounded by `limits.maxDepth`, checked before
/// descending, so hostile nesting cannot exhaust the stack.
struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let limits: JSONLimits
    private var index = 0
    private var depth = 0
    /// The keys of the objects being read (see `KeyStack`).
    private var openKeys = KeyStack()

    init(_ bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        guard bytes.count <= limits.maxBytes else { throw JSONParseError(.tooLarge, at: limits.maxBytes) }
        skipWhitespace()
        guard index < bytes.count else { throw JSONParseError(bytes.isEmpty ? .empty : .unexpectedEnd, at: index) }
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw JSONParseError(.trailingData, at: index) }
        return value
    }

    /// The members of a document that is an object, read by `sink`; false, with nothing read, when the
    /// document is something else.
    mutating func readObjectDocument(into sink: inout some JSONMemberSink) throws(JSONParseError) -> Bool {
        guard bytes.count <= limits.maxBytes else { throw JSONParseError(.tooLarge, at: limits.maxBytes) }
        skipWhitespace()
        guard index < bytes.count else { throw JSONParseError(bytes.isEmpty ? .empty : .unexpectedEnd, at: index) }
        guard bytes[index] == 0x7B else { return false }
        try readMembers(into: &sink)
        skipWhitespace()
        guard index == bytes.count else { throw JSONParseError(.trailingData, at: index) }
        return true
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        switch bytes[index] {
        case 0x7B: return try parseObject()
        case 0x5B: return try parseArray()
        case 0x22: return .string(try parseString { text, _ in String(decoding: text, as: UTF8.self) })
        case 0x74: try expect("true"); return .bool(true)
        case 0x66: try expect("false"); return .bool(false)
        case 0x6E: try expect("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try parseNumber())
        default: throw JSONParseError(.unexpectedByte, at: index)
        }
    }

    private mutating func expect(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw JSONParseError(.unexpectedByte, at: index + offset)
        }
        index += count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= limits.maxDepth else { throw JSONParseError(.tooDeep, at: index) }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        var object = JSONObject()
        try readMembers(into: &object)
        return .object(object)
    }

    /// Reads the object at `index`, each member's value read by `sink`.
    mutating func readMembers(into sink: inout some JSONMemberSink) throws(JSONParseError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == 0x7D {
            index += 1
            return
        }
        // The document's own object is the job, whose dozen or more members would otherwise grow the storage
        // 1, 2, 4, 8, 16; nested objects are mostly small.
        sink.reserveCapacity(depth == 1 ? 16 : 4)
        guard openKeys.hasRoom else {
            // The outermost object lends its keys (and those of the objects inside it) room on the stack.
            let read = withUnsafeTemporaryAllocation(of: ScannedKey.self, capacity: KeyStack.roomCapacity) { room in
                openKeys.lend(room)
                defer { openKeys.takeBack() }
                return Result { () throws(JSONParseError) in try readMemberList(into: &sink) }
            }
            return try read.get()
        }
        try readMemberList(into: &sink)
    }

    /// The members of the object being read, from its first key on.
    private mutating func readMemberList(into sink: inout some JSONMemberSink) throws(JSONParseError) {
        let base = openKeys.count
        defer { openKeys.pop(to: base) }
        var keys = ObjectKeys()
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            guard bytes[index] == 0x22 else { throw JSONParseError(.unexpectedByte, at: index) }
            let keyOffset = index
            let fingerprint = try parseString { text, isPlain in isPlain ? keyFingerprint(text) : nil }
            let key = ScannedKey(bytes: (keyOffset + 1)..<(index - 1), fingerprint: fingerprint)
            if openKeys.withKeys(from: base, { keys.isDuplicate(key, of: $0, in: bytes) }) {
                throw JSONParseError(.duplicateKey, at: keyOffset, note: Self.text(of: key, in: bytes))
            }
            openKeys.push(key)
            skipWhitespace()
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            guard bytes[index] == 0x3A else { throw JSONParseError(.unexpectedByte, at: index) }
            index += 1
            skipWhitespace()
            try sink.readValue(for: key, from: &self)
            skipWhitespace()
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            switch bytes[index] {
            case 0x2C: index += 1
            case 0x7D: index += 1; return
            default: throw JSONParseError(.unexpectedByte, at: index)
            }
        }
    }

    /// A key's text in this document (for a sink that keeps keys as strings).
    func text(of key: ScannedKey) -> String {
        Self.text(of: key, in: bytes)
    }

    /// A key's text in `document`: its bytes when plain, else the string read again with its escapes (it was
    /// valid the first time).
    static func text(of key: ScannedKey, in document: UnsafeBufferPointer<UInt8>) -> String {
        let bytes = UnsafeBufferPointer(rebasing: document[key.bytes])
        guard key.fingerprint == nil else { return String(decoding: bytes, as: UTF8.self) }
        var scanner = JSONScanner(document, limits: .default)
        scanner.index = key.bytes.lowerBound - 1
        return (try? scanner.parseString { text, _ in String(decoding: text, as: UTF8.self) }) ?? String(decoding: bytes, as: UTF8.self)
    }

    /// The value at `index` as a tree (for a member sink).
    mutating func readValue() throws(JSONParseError) -> JSONValue {
        try parseValue()
    }

    /// Checks the value at `index` as `readValue` would, without building it; its bytes, and whether they are
    /// already what the serializer writes for it (a number, a literal, a string of plain ASCII, and an object or
    /// array of such values under plain keys without whitespace: its length is then its parts' and separators').
    /// A vendor's nested objects and arrays are then copied as bytes instead of parsed and written again.
    mutating func skipValue() throws(JSONParseError) -> (bytes: Range<Int>, isCompact: Bool) {
        let start = index
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        switch bytes[index] {
        case 0x22:
            let isCompact = try parseString { _, isASCII in isASCII }
            return (start..<index, isCompact)
        case 0x2D, 0x30...0x39:
            return (try skipNumber(), true)
        case 0x7B:
            // Checked by the same rules (duplicate keys included) without building what is only passed on.
            var members = SkippedMembers()
            try readMembers(into: &members)
            let separated = 2 + members.compactBytes + max(0, members.count - 1)
            return (start..<index, members.allCompact && index - start == separated)
        case 0x5B:
            var count = 0, elementBytes = 0, allCompact = true
            try readElements { scanner throws(JSONParseError) in
                let (bytes, isCompact) = try scanner.skipValue()
                count += 1
                elementBytes += bytes.count
                allCompact = allCompact && isCompact
            }
            return (start..<index, allCompact && index - start == 2 + elementBytes + max(0, count - 1))
        default:
            _ = try parseValue()
            return (start..<index, true)
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        var array: [JSONValue] = []
        try readElements { scanner throws(JSONParseError) in
            // Vendor arrays (labels, components) are mostly short: growing 1, 2, 4 would cost three allocations.
            if array.isEmpty { array.reserveCapacity(4) }
            array.append(try scanner.parseValue())
        }
        return .array(array)
    }

    /// Reads the array at `index`, each element read by `element`.
    private mutating func readElements(_ element: (inout JSONScanner) throws(JSONParseError) -> Void) throws(JSONParseError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == 0x5D {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            switch bytes[index] {
            case 0x2C: index += 1
            case 0x5D: index += 1; return
            default: throw JSONParseError(.unexpectedByte, at: index)
            }
        }
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        JSONNumber(unchecked: String(decoding: UnsafeBufferPointer(rebasing: bytes[try skipNumber()]), as: UTF8.self))
    }

    /// Checks the number at `index` and moves past it; its bytes.
    private mutating func skipNumber() throws(JSONParseError) -> Range<Int> {
        let start = index
        let end = try scanNumberEnd()
        index = end
        let literalBytes = UnsafeBufferPointer(rebasing: bytes[start..<end])
        // Grammar-valid but beyond a double (1e999999) cannot be represented anywhere downstream. Only an
        // exponent or more than 308 digits can get there, so the costly conversion is left to those.
        let mayOverflow = literalBytes.count > 308 || literalBytes.contains { $0 == 0x65 || $0 == 0x45 }
        if mayOverflow, let value = Double(String(decoding: literalBytes, as: UTF8.self)), !value.isFinite {
            throw JSONParseError(.numberOverflow, at: start)
        }
        return start..<end
    }

    /// Validates the number starting at `index`, returning the offset just past it.
    mutating func scanNumberEnd() throws(JSONParseError) -> Int {
        var i = index
        func digit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= 0x30 && bytes[at] <= 0x39 }
        if i < bytes.count && bytes[i] == 0x2D { i += 1 }
        guard digit(i) else { throw JSONParseError(.invalidNumber, at: i) }
        if bytes[i] == 0x30 {
            i += 1
            if digit(i) { throw JSONParseError(.invalidNumber, at: i) }
        } else {
            while digit(i) { i += 1 }
        }
        if i < bytes.count && bytes[i] == 0x2E {
            i += 1
            guard digit(i) else { throw JSONParseError(.invalidNumber, at: i) }
            while digit(i) { i += 1 }
        }
        if i < bytes.count && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            i += 1
            if i < bytes.count && (bytes[i] == 0x2B || bytes[i] == 0x2D) { i += 1 }
            guard digit(i) else { throw JSONParseError(.invalidNumber, at: i) }
            while digit(i) { i += 1 }
        }
        return i
    }

    // MARK: Strings

    /// Reads the string at `index`; `result` gets its text as UTF-8 (unescaped), and whether it is known to be
    /// all ASCII, which also means it had no escapes: its text is its source bytes.
    @inline(__always)
    private mutating func parseString<Result>(
        _ result: (UnsafeBufferPointer<UInt8>, _ isASCII: Bool) -> Result
    ) throws(JSONParseError) -> Result {
        index += 1
        let start = index
        var isASCII = true
        // Fast path: no escapes, so the text is the input bytes, validated here as they are scanned.
        while index < bytes.count {
            if index + 8 <= bytes.count, let base = bytes.baseAddress {
                let word = ByteWord(loadingFrom: base + index)
                let flags = word.nonASCII | word.below(0x20) | word.equal(0x22) | word.equal(0x5C)
                if flags == 0 {
                    index += 8
                    continue
                }
                index += ByteWord.offsetOfFirst(flags)
            }
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x80 && byte != 0x22 && byte != 0x5C {
                index += 1
                continue
            }
            if byte == 0x22 {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return result(raw, isASCII)
            }
            if byte == 0x5C { break }
            if byte < 0x20 { throw JSONParseError(.invalidString, at: index) }
            isASCII = false
            try skipUTF8Sequence()
        }
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        var unescaped = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x22:
                index += 1
                // Escaped strings are rare: not worth tracking what the escapes produced.
                return unescaped.withUnsafeBufferPointer { result($0, false) }
            case 0x5C:
                try appendEscape(into: &unescaped)
            case 0..<0x20:
                throw JSONParseError(.invalidString, at: index)
            case 0..<0x80:
                unescaped.append(byte)
                index += 1
            default:
                let sequenceStart = index
                try skipUTF8Sequence()
                unescaped.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[sequenceStart..<index]))
            }
        }
        throw JSONParseError(.unexpectedEnd, at: index)
    }

    /// Checks one multi-byte UTF-8 sequence at `index` (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw JSONParseError(.invalidUTF8, at: index)
        }
        guard index + length <= bytes.count else { throw JSONParseError(.invalidUTF8, at: index) }
        let second = bytes[index + 1]
        guard second >= low && second <= high else { throw JSONParseError(.invalidUTF8, at: index + 1) }
        for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 {
            throw JSONParseError(.invalidUTF8, at: index + offset)
        }
        index += length
    }

    private mutating func appendEscape(into output: inout [UInt8]) throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        let code = bytes[index]
        index += 1
        switch code {
        case 0x22: output.append(0x22)
        case 0x5C: output.append(0x5C)
        case 0x2F: output.append(0x2F)
        case 0x62: output.append(0x08)
        case 0x66: output.append(0x0C)
        case 0x6E: output.append(0x0A)
        case 0x72: output.append(0x0D)
        case 0x74: output.append(0x09)
        case 0x75:
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else {
                    throw JSONParseError(.loneSurrogate, at: escapeStart)
                }
                index += 2
                let low = try readHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw JSONParseError(.loneSurrogate, at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONParseError(.loneSurrogate, at: escapeStart)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw JSONParseError(.invalidEscape, at: escapeStart) }
            output.append(contentsOf: UTF8.encode(unicode)!)
        default:
            throw JSONParseError(.invalidEscape, at: escapeStart)
        }
    }

    private mutating func readHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x37)
            case 0x61...0x66: digit = UInt32(byte - 0x57)
            default: throw JSONParseError(.invalidEscape, at: index)
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
