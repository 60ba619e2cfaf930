extension JSON {
    /// Compact JSON, members in order, numbers as their literal text.
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
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
        var utf8 = string.utf8.makeIterator()
        var pending: [UInt8] = []
        while let byte = utf8.next() {
            switch byte {
            case 0x22: buffer.append(contentsOf: [0x5C, 0x22])
            case 0x5C: buffer.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: buffer.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: buffer.append(contentsOf: [0x5C, 0x72])
            case 0x09: buffer.append(contentsOf: [0x5C, 0x74])
            case 0x08: buffer.append(contentsOf: [0x5C, 0x62])
            case 0x0C: buffer.append(contentsOf: [0x5C, 0x66])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            case 0xE2:
                // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
                pending = [byte]
                if let second = utf8.next() { pending.append(second) }
                if let third = utf8.next() { pending.append(third) }
                if pending.count == 3 && pending[1] == 0x80 && (pending[2] == 0xA8 || pending[2] == 0xA9) {
                    buffer.append(contentsOf: Array("\\u202".utf8) + [pending[2] == 0xA8 ? 0x38 : 0x39])
                } else {
                    buffer.append(contentsOf: pending)
                }
            default:
                buffer.append(byte)
            }
        }
        buffer.append(0x22)
    }
}
