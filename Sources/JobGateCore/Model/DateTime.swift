
/// RFC 3339 date-times without Foundation: validation, and conversion to and from Unix epoch seconds.
public enum RFC3339 {
    /// Epoch seconds (with fraction) of a valid RFC 3339 date-time, or nil if `text` is not one.
    public static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for i in start..<start + count {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard b.count >= 20,
              let year = digits(0, 4), b[4] == 0x2D, let month = digits(5, 2), b[7] == 0x2D,
              let day = digits(8, 2), b[10] == 0x54 || b[10] == 0x74,
              let hour = digits(11, 2), b[13] == 0x3A, let minute = digits(14, 2), b[16] == 0x3A,
              let second = digits(17, 2) else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 0x30 && b[index] <= 0x39 {
                fraction += Double(b[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        var offset = 0
        switch b[index] {
        case 0x5A, 0x7A:
            index += 1
        case 0x2B, 0x2D:
            guard let offsetHour = digits(index + 1, 2), index + 3 < b.count, b[index + 3] == 0x3A,
                  let offsetMinute = digits(index + 4, 2), offsetHour <= 23, offsetMinute <= 59 else { return nil }
            offset = (offsetHour * 60 + offsetMinute) * 60 * (b[index] == 0x2D ? -1 : 1)
            index += 6
        default:
            return nil
        }
        guard index == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset) + fraction
    }

    /// Formats epoch seconds as "YYYY-MM-DDTHH:MM:SSZ", with milliseconds when there are any or when
    /// `alwaysMilliseconds` (the form of JavaScript's toISOString, which log readers and vendors expect).
    public static func format(epochSeconds: Double, alwaysMilliseconds: Bool = false) -> String {
        let whole = Int64(epochSeconds.rounded(.down))
        let milliseconds = min(Int(((epochSeconds - Double(whole)) * 1000).rounded()), 999)
        let days = Int(whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400)
        let secondOfDay = Int(whole - Int64(days) * 86_400)
        let (year, month, day) = civil(fromDays: days)
        // Digits written into the string's own storage: every access-log line has a timestamp, and building
        // it from padded pieces cost more than the rest of the line.
        return String(unsafeUninitializedCapacity: 48) { text in
            var count = 0
            func put(_ byte: UInt8) {
                text[count] = byte
                count += 1
            }
            /// `value` in decimal, zero-padded to `width`, written from its last digit back.
            func put(_ value: Int, width: Int) {
                if value < 0 { put(UInt8(ascii: "-")) }
                var magnitude = value.magnitude
                var length = 1
                var probe = magnitude
                while probe >= 10 { probe /= 10; length += 1 }
                let total = max(length, width)
                for offset in stride(from: total - 1, through: 0, by: -1) {
                    text[count + offset] = UInt8(magnitude % 10) + 0x30
                    magnitude /= 10
                }
                count += total
            }
            put(year, width: 4); put(UInt8(ascii: "-")); put(month, width: 2); put(UInt8(ascii: "-")); put(day, width: 2)
            put(UInt8(ascii: "T")); put(secondOfDay / 3600, width: 2); put(UInt8(ascii: ":"))
            put(secondOfDay / 60 % 60, width: 2); put(UInt8(ascii: ":")); put(secondOfDay % 60, width: 2)
            if milliseconds > 0 || alwaysMilliseconds {
                put(UInt8(ascii: "."))
                put(milliseconds, width: 3)
            }
            put(UInt8(ascii: "Z"))
            return count
        }
    }

    /// The civil date of a day number since 1970-01-01 (Howard Hinnant's algorithm, the inverse of
    /// `daysFromCivil`).
    private static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
