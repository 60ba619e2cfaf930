/// A member's key as the scanner found it, without making a string of it.
struct ScannedKey {
    /// The key's bytes in the document, between its quotes.
    let bytes: Range<Int>
    /// Set when the key is plain (ASCII without escapes), so its bytes are its text.
    let fingerprint: UInt64?
}

/// The keys of the objects being read, the innermost object's last: one stack serves the whole document rather
/// than a list per object. The first `roomCapacity` keys go in room the outermost object's read lends from its
/// stack frame, so a document of ordinary size allocates nothing for its keys; past that, all of them go on in
/// an array, at the same positions.
struct KeyStack {
    static let roomCapacity = 24
    private var room = UnsafeMutableBufferPointer<ScannedKey>(start: nil, count: 0)
    private var spilled: [ScannedKey] = []
    private var isSpilled = false
    private(set) var count = 0

    var hasRoom: Bool { room.baseAddress != nil }

    /// Room valid until `takeBack`, which comes before it goes out of scope.
    mutating func lend(_ room: UnsafeMutableBufferPointer<ScannedKey>) {
        self.room = room
    }

    mutating func takeBack() {
        room = UnsafeMutableBufferPointer(start: nil, count: 0)
        isSpilled = false
        spilled.removeAll(keepingCapacity: true)
        count = 0
    }

    mutating func push(_ key: ScannedKey) {
        if !isSpilled && count == room.count {
            spilled.reserveCapacity(2 * count)
            spilled.append(contentsOf: room[..<count])
            isSpilled = true
        }
        if isSpilled { spilled.append(key) } else { room[count] = key }
        count += 1
    }

    /// Forgets the keys from `base` on (an object's, when it is read).
    mutating func pop(to base: Int) {
        if isSpilled { spilled.removeLast(count - base) }
        count = base
    }

    /// The keys from `base` on.
    func withKeys<Result>(from base: Int, _ body: (UnsafeBufferPointer<ScannedKey>) -> Result) -> Result {
        if isSpilled { return spilled.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[base...])) } }
        return body(UnsafeBufferPointer(rebasing: room[base..<count]))
    }
}

/// The duplicate-key rule for one object as it is read. Duplicates are a smuggling risk (parsers disagree on
/// first or last), so they are refused. Plain keys (ASCII, no escapes) are equal exactly when their bytes are,
/// so they are compared as bytes where their fingerprints match. Strings are equal when canonically equivalent
/// ("K" and the Kelvin sign), which bytes do not show: once a key is not plain, every key of the object is
/// compared as a string. Objects of 16 keys and more are checked through a set, whose seeded hashing no
/// crafted run of keys can degrade.
struct ObjectKeys {
    /// A bit per plain key below 16, picked by its fingerprint: a key whose bit is not set yet repeats none.
    private var fingerprintBits: UInt64 = 0
    /// The object's plain keys, from its 16th key on.
    private var plainKeySet = Set<PlainKey>()
    /// Every key so far as a string, from the first key that is not plain on (empty while all are plain).
    private var keyTexts: [String] = []
    /// The same, from the 16th key on.
    private var keyTextSet = Set<String>()

    /// Whether `key` repeats one of `earlier`, the object's keys before it in `document`.
    mutating func isDuplicate(_ key: ScannedKey, of earlier: UnsafeBufferPointer<ScannedKey>, in document: UnsafeBufferPointer<UInt8>) -> Bool {
        if keyTexts.isEmpty, let fingerprint = key.fingerprint {
            if earlier.count >= 16 {
                if plainKeySet.isEmpty { plainKeySet = Set(earlier.map { PlainKey(document, $0.bytes) }) }
                return !plainKeySet.insert(PlainKey(document, key.bytes)).inserted
            }
            // Most keys differ from every earlier one: the bits tell so without a look at them.
            let bit: UInt64 = 1 << (fingerprint >> 58)
            defer { fingerprintBits |= bit }
            guard fingerprintBits & bit != 0 else { return false }
            let plain = PlainKey(document, key.bytes)
            return earlier.contains { $0.fingerprint == fingerprint && PlainKey(document, $0.bytes) == plain }
        }
        // From here on `keyTexts` holds every key, this one included, so it is never empty again.
        if keyTexts.isEmpty { keyTexts = earlier.map { JSONScanner.text(of: $0, in: document) } }
        let text = JSONScanner.text(of: key, in: document)
        if earlier.count >= 16 {
            if keyTextSet.isEmpty { keyTextSet = Set(keyTexts) }
            return !keyTextSet.insert(text).inserted
        }
        defer { keyTexts.append(text) }
        return keyTexts.contains(text)
    }
}

/// A plain key's bytes, compared as bytes and hashed with the standard library's seeded hasher.
private struct PlainKey: Hashable {
    let text: UnsafeBufferPointer<UInt8>

    init(_ document: UnsafeBufferPointer<UInt8>, _ bytes: Range<Int>) {
        text = UnsafeBufferPointer(rebasing: document[bytes])
    }

    static func == (lhs: PlainKey, rhs: PlainKey) -> Bool { lhs.text.elementsEqual(rhs.text) }
    func hash(into hasher: inout Hasher) { hasher.combine(bytes: UnsafeRawBufferPointer(text)) }
}
