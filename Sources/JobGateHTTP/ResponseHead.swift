/// "HTTP/1.1 200 OK\r\n" and its siblings, encoded once and indexed by status (empty for a status without a
/// reason phrase): an index costs nothing where hashing the status does.
private let statusLines: [[UInt8]] = {
    var lines = [[UInt8]](repeating: [], count: (reasonPhrases.keys.max() ?? 0) + 1)
    for (status, phrase) in reasonPhrases { lines[status] = Array("HTTP/1.1 \(status) \(phrase)\r\n".utf8) }
    return lines
}()

/// Writes the status line and headers; framing headers are ours, so a handler cannot desynchronise them. The head
/// is measured first and then written once into storage of its size, and that goes into `output` in one copy:
/// appended to an array piece by piece, each of a dozen pieces would check capacity and uniqueness again.
func writeResponseHead(_ response: HTTPResponse, requestID: String, keepAlive: Bool, version: HTTPVersion,
                       date: [UInt8], into output: inout [UInt8]) {
    var size = ByteCount()
    writeHead(response, requestID: requestID, keepAlive: keepAlive, version: version, date: date, into: &size)
    withUnsafeTemporaryAllocation(byteCount: size.total, alignment: 1) { storage in
        guard let start = storage.baseAddress else { return }
        var filling = ByteFill(next: start)
        writeHead(response, requestID: requestID, keepAlive: keepAlive, version: version, date: date, into: &filling)
        output.append(contentsOf: UnsafeRawBufferPointer(storage))
    }
}

private func writeHead(_ response: HTTPResponse, requestID: String, keepAlive: Bool, version: HTTPVersion,
                       date: [UInt8], into sink: inout some ByteSink) {
    if statusLines.indices.contains(response.status), !statusLines[response.status].isEmpty {
        sink.write(statusLines[response.status])
    } else {
        sink.write("HTTP/1.1 ")
        sink.writeDecimal(response.status)
        sink.write(" Status\r\n")
    }
    for (name, value) in response.headers {
        var value = value
        value.withUTF8 { value in
            guard !value.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else { return }
            sink.write(utf8Of: name)
            sink.write(": ")
            sink.write(UnsafeRawBufferPointer(value))
            sink.write("\r\n")
        }
    }
    if response.status != 204 && response.status >= 200 {
        sink.write("Content-Length: ")
        sink.writeDecimal(response.body.count)
        sink.write("\r\n")
    }
    sink.write("Date: ")
    sink.write(date)
    sink.write("\r\nX-Request-Id: ")
    sink.write(utf8Of: requestID)
    sink.write("\r\n")
    if !keepAlive {
        sink.write("Connection: close\r\n")
    } else if version == .http1_0 {
        sink.write("Connection: keep-alive\r\n")
    }
    sink.write("\r\n")
}

/// Where a head's bytes go: counted, or copied into place.
private protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer)
    mutating func write(utf8Of text: String)
}

extension ByteSink {
    mutating func write(_ literal: StaticString) {
        write(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    mutating func write(utf8Of text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    mutating func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// A non-negative number in decimal, without the string `description` would build.
    mutating func writeDecimal(_ number: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            var rest = max(number, 0)
            repeat {
                start -= 1
                buffer[start] = 0x30 + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            write(UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }
}

private struct ByteCount: ByteSink {
    var total = 0

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        total += bytes.count
    }

    /// A native string knows its length without lending its buffer.
    mutating func write(utf8Of text: String) {
        total += text.utf8.count
    }
}

private struct ByteFill: ByteSink {
    var next: UnsafeMutableRawPointer

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        next.copyMemory(from: source, byteCount: bytes.count)
        next += bytes.count
    }
}
