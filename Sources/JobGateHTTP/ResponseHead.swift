private let crlf: StaticString = "\r\n"

/// "HTTP/1.1 200 OK\r\n" and its siblings, encoded once and indexed by status (empty for a status without a
/// reason phrase): an index costs nothing where hashing the status does.
private let statusLines: [[UInt8]] = {
    var lines = [[UInt8]](repeating: [], count: (reasonPhrases.keys.max() ?? 0) + 1)
    for (status, phrase) in reasonPhrases { lines[status] = Array("HTTP/1.1 \(status) \(phrase)\r\n".utf8) }
    return lines
}()

/// Writes the status line and headers; framing headers are ours, so a handler cannot desynchronise them.
func writeResponseHead(_ response: HTTPResponse, requestID: String, keepAlive: Bool, version: HTTPVersion,
                       date: [UInt8], into output: inout [UInt8]) {
    if statusLines.indices.contains(response.status), !statusLines[response.status].isEmpty {
        output.append(contentsOf: statusLines[response.status])
    } else {
        output.append(contentsOf: "HTTP/1.1 \(response.status) Status\r\n".utf8)
    }
    for (name, value) in response.headers {
        var value = value
        value.withUTF8 { value in
            guard !value.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else { return }
            output.appendUTF8(of: name)
            output.append(0x3A)
            output.append(0x20)
            output.append(contentsOf: value)
            output.append(crlf)
        }
    }
    if response.status != 204 && response.status >= 200 {
        output.append("Content-Length: ")
        output.appendUTF8(of: String(response.body.count)) // a small string: no allocation
        output.append(crlf)
    }
    output.append("Date: ")
    output.append(contentsOf: date)
    output.append("\r\nX-Request-Id: ")
    output.appendUTF8(of: requestID)
    output.append(crlf)
    if !keepAlive {
        output.append("Connection: close\r\n")
    } else if version == .http1_0 {
        output.append("Connection: keep-alive\r\n")
    }
    output.append(crlf)
}
