import CCurl

/// A call's request headers as the `curl_slist` CURLOPT_HTTPHEADER takes, laid out in one buffer that an easy
/// handle keeps from call to call: curl_slist_append would cost two allocations a line, every call. libcurl
/// neither copies nor frees the list, and reads it only while a call runs: so it is rewritten only by the next
/// call on the same handle, and freed with the handle.
struct HeaderList: ~Copyable {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    /// "Expect:" stops curl's automatic 100-continue round trip on larger bodies.
    private static let expectNothing: StaticString = "Expect:"

    init() {}

    deinit {
        storage?.deallocate()
    }

    /// The list of `headers`, then `added`, as "name: value" lines, then "Expect:"; valid until the next `build`.
    mutating func build(_ headers: [(name: String, value: String)],
                        then added: [(name: String, value: String)]) -> UnsafeMutablePointer<curl_slist> {
        let lineCount = headers.count + added.count + 1
        let nodesSize = lineCount * MemoryLayout<curl_slist>.stride
        func textSize(_ lines: [(name: String, value: String)]) -> Int {
            lines.reduce(0) { $0 + $1.name.utf8.count + 2 + $1.value.utf8.count + 1 }
        }
        let textSize = textSize(headers) + textSize(added) + Self.expectNothing.utf8CodeUnitCount + 1
        if nodesSize + textSize > capacity {
            storage?.deallocate()
            capacity = max(nodesSize + textSize, 2 * capacity)
            storage = .allocate(byteCount: capacity, alignment: MemoryLayout<curl_slist>.alignment)
        }
        guard let storage else { preconditionFailure("no header buffer after allocating one") }
        let nodes = storage.bindMemory(to: curl_slist.self, capacity: lineCount)
        let text = (storage + nodesSize).bindMemory(to: CChar.self, capacity: textSize)
        var end = 0
        func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let start = bytes.baseAddress else { return }
            UnsafeMutableRawPointer(text + end).copyMemory(from: start, byteCount: bytes.count)
            end += bytes.count
        }
        func append(_ literal: StaticString) {
            append(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
        }
        var index = 0
        func appendLines(_ lines: [(name: String, value: String)]) {
            for header in lines {
                nodes[index] = curl_slist(data: text + end, next: nodes + index + 1)
                index += 1
                var name = header.name, value = header.value
                name.withUTF8 { append($0) }
                append(": ")
                value.withUTF8 { append($0) }
                append("\0")
            }
        }
        appendLines(headers)
        appendLines(added)
        nodes[lineCount - 1] = curl_slist(data: text + end, next: nil)
        append(Self.expectNothing)
        append("\0")
        return nodes
    }
}
