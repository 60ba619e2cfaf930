extension JSON {
    /// Compact JSON, members in order, numbers as their literal text.
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512) // a typical canonical Job fits; growing 256 → 512 was a copy per response
        serialize(value, into: &buffer)
        return buffer
    }

    public static func serialize(_ value: JSONValue, into buffer: inout [UInt8]) {
        switch value {
        case .null: buffer.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): buffer.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): buffer.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .number(let number): buffer.append(contentsOf: number.literal.utf8)
        case .string(let string): serialize(string: string, into: &buffer)
        case .array(let array):
            buffer.append(0x5B)
            for (offset, element) in array.enumerated() {
                if offset > 0 { buffer.append(0x2C) }
                serialize(element, into: &buffer)
            }
            buffer.append(0x5D)
        case .object(let object):
            buffer.append(0x7B)
            var first = true
            for (key, member) in object {
                if !first { buffer.append(0x2C) }
                first = false
                serialize(string: key, into: &buffer)
                buffer.append(0x3A)
                serialize(member, into: &buffer)
            }
            buffer.append(0x7D)
        }
    }

    /// A quoted string; controls, quote and backslash escaped, U+2028/2029 escaped for JavaScript consumers.
    public static func serialize(string: String, into buffer: inout [UInt8]) {
        buffer.append(0x22)
        var string = string
        string.withUTF8 { appendEscaped($0, into: &buffer) }
        buffer.append(0x22)
    }

    /// Copies runs of plain bytes whole; only the bytes that need an escape are handled one by one.
    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout [UInt8]) {
        var runStart = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let isLineOrParagraphSeparator = byte == 0xE2 && index + 2 < bytes.count && bytes[index + 1] == 0x80
                && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9)
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C || isLineOrParagraphSeparator else {
                index += 1
                continue
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            switch byte {
            case 0x22: buffer.append(contentsOf: [0x5C, 0x22])
            case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: buffer.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: buffer.append(contentsOf: [0x5C, 0x72])
            case 0x09: buffer.append(contentsOf: [0x5C, 0x74])
            case 0x08: buffer.append(contentsOf: [0x5C, 0x62])
            case 0x0C: buffer.append(contentsOf: [0x5C, 0x66])
            case 0xE2:
                buffer.append(contentsOf: [0x5C, 0x75, 0x32, 0x30, 0x32, bytes[index + 2] == 0xA8 ? 0x38 : 0x39])
                index += 2
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
            index += 1
            runStart = index
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
    }
}
