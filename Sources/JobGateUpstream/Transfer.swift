#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCurl
import JobGatePosix

/// One call on a pooled easy handle (see `EasyHandle`), and the response it collects.
final class Transfer {
    let id: UInt64
    let handle: EasyHandle
    var easy: UnsafeMutableRawPointer { handle.easy }
    let request: UpstreamRequest
    let completion: (Result<UpstreamResponse, UpstreamFailure>) -> Void
    private var status = 0
    /// Field lines of the final response head, LF-separated (see `UpstreamResponse.headers`).
    private var headerLines: [UInt8] = []
    private var body: [UInt8] = []
    private var exceededCap = false
    private var malformedHeader = false
    /// Attempts libcurl started (see `beginAttempt`).
    private var attempts = 0
    /// Set when a repeat was stopped: whether the first attempt's request had left.
    private var refusedRepeatAfterSending: Bool?
    /// What the vendor said in `Keep-Alive: timeout=N`, for the client to remember per origin.
    private(set) var advertisedKeepAliveSeconds: Int?

    init(id: UInt64, handle: EasyHandle, request: UpstreamRequest,
         completion: @escaping (Result<UpstreamResponse, UpstreamFailure>) -> Void) {
        self.id = id
        self.handle = handle
        self.request = request
        self.completion = completion
    }

    /// Sets what may differ between two calls of the handle's configuration (the rest is the handle's, see
    /// `HandleConfiguration`). Every option here is set for every call, or left as the handle's last call set it
    /// where that is the same value (`EasyHandle.setCallOptions`), so none stays from the handle's last call.
    /// `idleReuseSeconds`: a pooled connection idle this long or longer is not reused.
    func prepare(idleReuseSeconds: Int) {
        let options = request.options
        let me = Unmanaged.passUnretained(self).toOpaque()
        jg_easy_setopt_pointer(easy, CURLOPT_PRIVATE, UnsafeRawPointer(bitPattern: UInt(id)))
        handle.setURL(request.url)
        jg_easy_setopt_pointer(easy, CURLOPT_PREREQDATA, me)
        let kind = MethodKind(request.method)
        handle.setCallOptions(EasyHandle.CallOptions(
            // The call's own timeouts: a retry's, or a call's near its caller's deadline, are cut short.
            timeoutMilliseconds: max(1, Int(clamping: options.timeout.nanoseconds / 1_000_000)),
            connectTimeoutMilliseconds: max(1, Int(clamping: min(options.connectTimeout, options.timeout).nanoseconds / 1_000_000)),
            // curl checks idle time in whole seconds, and reuses while it is at most MAXAGE: MAXAGE = window - 1.
            maximumIdleSeconds: max(0, idleReuseSeconds - 1),
            // A vendor that drops idle connections within a second: a write cannot be sure of any of them.
            freshConnection: idleReuseSeconds < 1 && !options.idempotent,
            method: kind == .withBody ? request.method : nil))

        switch kind {
        case .get:
            jg_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .head:
            jg_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        case .withBody:
            jg_easy_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            // COPYPOSTFIELDS copies the bytes, so the body's lifetime is curl's problem, not ours.
            request.body.withUnsafeBytes { buffer in
                let empty: StaticString = ""
                _ = jg_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS,
                                           buffer.baseAddress ?? UnsafeRawPointer(empty.utf8Start))
            }
        }

        handle.setHeaders(request.headers, then: request.addedHeaders)
        jg_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        jg_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
    }

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // CURLOPT_MAXFILESIZE does not stop chunked bodies in this libcurl, so the cap is enforced here.
        guard body.count + bytes.count <= request.options.maxResponseBytes else {
            exceededCap = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// libcurl is about to send the request (again, if this is not the first attempt: it re-sends on a new
    /// connection when a pooled one died before answering; that connection is already open, and is closed
    /// unused when the repeat is stopped). A call that is not idempotent is not sent again.
    fileprivate func beginAttempt() -> Bool {
        attempts += 1
        guard attempts > 1, !request.options.idempotent else { return true }
        // The first attempt's request size is still recorded: more than zero means it left on the dead connection.
        var requestSize = 0
        jg_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestSize)
        refusedRepeatAfterSending = requestSize > 0
        return false
    }

    /// Whether the handle must be set up anew, from libcurl's defaults, before its next call: libcurl counts the
    /// repeats a handle made, across its calls, and after five gives up repeating; only curl_easy_reset clears
    /// the count. A call that failed may have been repeated without the repeat reaching `beginAttempt`.
    func leftStateBehind(code: CURLcode) -> Bool {
        attempts > 1 || code != CURLE_OK
    }

    fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: bytes[0..<end])
        guard !line.isEmpty else { return }
        if hasPrefix(line, "HTTP/") {
            // A new status line (after a 1xx interim response) starts the header set again.
            headerLines.removeAll(keepingCapacity: true)
            guard let space = line.firstIndex(of: 0x20), space + 4 <= line.count,
                  line[(space + 1)..<(space + 4)].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                malformedHeader = true
                return
            }
            status = line[(space + 1)..<(space + 4)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
            return
        }
        // A bare LF inside a line would split it in two when the lines are read back: such a line is dropped.
        guard let start = line.baseAddress, memchr(start, 0x0A, line.count) == nil else { return }
        if line[0] | 0x20 == UInt8(ascii: "k") { advertisedKeepAliveSeconds = Self.keepAliveTimeout(line) ?? advertisedKeepAliveSeconds }
        if headerLines.isEmpty { headerLines.reserveCapacity(512) }
        headerLines.append(contentsOf: line)
        headerLines.append(0x0A)
    }

    /// N of a `Keep-Alive: ..., timeout=N, ...` field line (RFC 2068's hint of how long the server keeps an idle
    /// connection), nil for any other line.
    static func keepAliveTimeout(_ line: UnsafeRawBufferPointer) -> Int? {
        let name = "keep-alive:".utf8
        guard line.count > name.count, zip(line, name).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        let parameter = "timeout=".utf8
        var index = name.count
        while index + parameter.count < line.count {
            if zip(line[index...], parameter).allSatisfy({ $0 | 0x20 == $1 }) {
                let digits = line[(index + parameter.count)...].prefix { $0 >= 0x30 && $0 <= 0x39 }.prefix(6)
                return digits.isEmpty ? nil : digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            }
            index += 1
        }
        return nil
    }

    func result(code: CURLcode) -> Result<UpstreamResponse, UpstreamFailure> {
        var requestSize = 0
        jg_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestSize)
        let sent = requestSize > 0
        switch code {
        case CURLE_OK:
            break
        case CURLE_WRITE_ERROR where exceededCap:
            return .failure(.bodyTooLarge)
        case CURLE_ABORTED_BY_CALLBACK where refusedRepeatAfterSending != nil:
            return .failure(.closedBeforeAnswer(requestSent: refusedRepeatAfterSending ?? true))
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .failure(.dnsFailure)
        case CURLE_COULDNT_CONNECT:
            return .failure(.connectionRefused)
        case CURLE_OPERATION_TIMEDOUT:
            return .failure(.timeout(requestSent: sent))
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            return .failure(.tlsFailure)
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE:
            return .failure(.connectionReset(requestSent: sent))
        case CURLE_HTTP2_STREAM where status == 0:
            // The vendor closed or reset the call's stream before any answer: as a reset connection is for HTTP/1.1.
            return .failure(.connectionReset(requestSent: sent))
        case CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_BAD_CONTENT_ENCODING,
             CURLE_UNSUPPORTED_PROTOCOL: // what 7.88 says for an HTTP/0.9-style (garbage) reply
            return .failure(.malformedResponse)
        default:
            return .failure(.other(code: Int(code.rawValue)))
        }
        guard !malformedHeader, (100...599).contains(status) else { return .failure(.malformedResponse) }
        var version = 0
        jg_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        return .success(UpstreamResponse(status: status, rawHeaderLines: headerLines, body: body,
                                         httpVersion: version == Int(CURL_HTTP_VERSION_2_0) ? "2" : "1.1"))
    }
}

// libcurl calls these only while the transfer runs, and the client holds every running transfer: each call
// borrows it, without a reference count of its own.
func transferWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                   _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context, let data else { return 0 }
    let length = size * count
    return Unmanaged<Transfer>.fromOpaque(context)._withUnsafeGuaranteedRef {
        $0.receiveBody(UnsafeRawBufferPointer(start: data, count: length))
    } ? length : 0
}

func transferHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                    _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context, let data else { return 0 }
    let length = size * count
    Unmanaged<Transfer>.fromOpaque(context)._withUnsafeGuaranteedRef {
        $0.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
    }
    return length
}

func transferPrereqCallback(_ context: UnsafeMutableRawPointer?, _ primaryIP: UnsafeMutablePointer<CChar>?,
                                    _ localIP: UnsafeMutablePointer<CChar>?, _ primaryPort: Int32, _ localPort: Int32) -> Int32 {
    guard let context else { return CURL_PREREQFUNC_OK }
    return Unmanaged<Transfer>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.beginAttempt() }
        ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT
}
