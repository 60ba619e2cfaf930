/// A growable byte queue: bytes are appended at the end and consumed from the front.
/// Consumed space is reclaimed lazily so that pipelined requests do not cost a copy each.
public struct ByteBuffer: Sendable {
    public private(set) var storage: [UInt8] = []
    public private(set) var readerIndex = 0

    public init() {}

    public init(_ bytes: some Sequence<UInt8>) {
        storage = Array(bytes)
    }

    public var readableCount: Int { storage.count - readerIndex }
    public var isEmpty: Bool { readerIndex == storage.count }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        storage.append(contentsOf: bytes)
    }

    public mutating func consume(_ count: Int) {
        readerIndex += count
        if readerIndex >= storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 64 * 1024)
            readerIndex = 0
        }
    }

    /// Removes and returns the next `count` readable bytes.
    public mutating func read(_ count: Int) -> ArraySlice<UInt8> {
        let slice = storage[readerIndex..<readerIndex + count]
        consume(count)
        return slice
    }

    public subscript(offset: Int) -> UInt8 { storage[readerIndex + offset] }

    /// The first `count` readable bytes, in place (valid only inside `body`).
    public func withReadableBytes<T, E: Error>(count: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        precondition(count <= readableCount)
        let result: Result<T, E> = storage.withUnsafeBytes { all in
            Result { () throws(E) in try body(UnsafeRawBufferPointer(rebasing: all[readerIndex..<readerIndex + count])) }
        }
        return try result.get()
    }

    /// Moves the next `count` readable bytes to the end of `array`.
    public mutating func move(_ count: Int, appendingTo array: inout [UInt8]) {
        withReadableBytes(count: count) { array.append(contentsOf: $0) }
        consume(count)
    }

    private mutating func compactIfWorthIt() {
        guard readerIndex > 0, readerIndex >= storage.count / 2 else { return }
        storage.removeSubrange(0..<readerIndex)
        readerIndex = 0
    }
}
