/// A call's URL but for the job id: the base URL (trailing slashes trimmed) and the path, split where
/// `{id}` goes, joined when the mapping is read rather than on every call.
struct CallURL: Sendable {
    /// One more than the `{id}`s in the path; the first begins with the base URL.
    let pieces: [String]
    private let fixedLength: Int

    init(baseURL: String, template: CallTemplate) {
        var base = baseURL
        while base.utf8.last == 0x2F { base.removeLast() }
        var pieces = template.pathParts // never empty: a path without `{id}` is one piece
        pieces[0] = base + pieces[0]
        self.pieces = pieces
        fixedLength = pieces.reduce(0) { $0 + $1.utf8.count }
    }

    /// The URL for a job id already percent-encoded. Written byte by byte into one allocation: appending
    /// strings to a string costs several times more.
    func url(encodedID: String) -> String {
        var id = encodedID
        return id.withUTF8 { id in
            String(unsafeUninitializedCapacity: fixedLength + (pieces.count - 1) * id.count) { buffer in
                var offset = 0
                func write(_ bytes: UnsafeBufferPointer<UInt8>) {
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[offset...]).initialize(fromContentsOf: bytes)
                    offset += bytes.count
                }
                for (index, piece) in pieces.enumerated() {
                    if index > 0 { write(id) }
                    var piece = piece
                    piece.withUTF8(write)
                }
                return offset
            }
        }
    }
}
