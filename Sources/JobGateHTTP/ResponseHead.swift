private let crlf: [UInt8] = [0x0D, 0x0A]

/// "HTTP/1.1 200 OK\r\n" and its siblings, encoded once.
private let statusLines: [Int: [UInt8]] = reasonPhrases.reduce(into: [:]) { lines, entry in
    lines[entry.key] = Array("HTTP/1.1 \(entry.key) \(entry.value)\r\n".utf8)
}

/// Writes the status line and headers; framing headers are ours, so a handler cannot desynchronise them.
func writeResponseHead(_ response: HTTPResponse, requestID: String, keepAlive: Bool, version: HTTPVersion,
                       date: [UInt8], into output: inout [UInt8]) {
    if let statusLine = statusLines[response.status] {
        output.append(contentsOf: statusLine)
    } else {
        output.append(contentsOf: "HTTP/1.1 \(response.status) Status\r\n".utf8)
    }
    for (name, value) in response.headers {
        guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else { continue }
        output.append(contentsOf: name.utf8)
        output.append(0x3A)
        output.append(0x20)
        output.append(contentsOf: value.utf8)
        output.append(contentsOf: crlf)
    }
    if response.status != 204 && response.status >= 200 {
        output.append(contentsOf: "Content-Length: ".utf8)
        output.append(contentsOf: String(response.body.count).utf8) // a small string: no allocation
        output.append(contentsOf: crlf)
    }
    output.append(contentsOf: "Date: ".utf8)
    output.append(contentsOf: date)
    output.append(contentsOf: "\r\nX-Request-Id: ".utf8)
    output.append(contentsOf: requestID.utf8)
    output.append(contentsOf: crlf)
    if !keepAlive {
        output.append(contentsOf: "Connection: close\r\n".utf8)
    } else if version == .http1_0 {
        output.append(contentsOf: "Connection: keep-alive\r\n".utf8)
    }
    output.append(contentsOf: crlf)
}
