#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JobGatePosix

/// The handle a handler answers through. Loop-confined; `respond` after the client left is a no-op.
public final class HTTPResponder {
    public let requestID: String
    public let receivedAt: UInt64
    /// The event loop the request arrived on; asynchronous work must come back to it before responding.
    public let loop: EventLoop
    /// Called once if the client goes away before the response is sent, so upstream work can be cancelled.
    public var onCancel: (() -> Void)?
    /// Sees the final response (for access logs and metrics), just before it is written.
    public var observer: ((HTTPResponse) -> Void)?
    fileprivate weak var connection: HTTPConnection?
    public private(set) var isDone = false

    fileprivate init(requestID: String, loop: EventLoop, connection: HTTPConnection) {
        self.requestID = requestID
        self.receivedAt = monotonicNanoseconds()
        self.loop = loop
        self.connection = connection
    }

    public func respond(_ response: HTTPResponse) {
        guard !isDone else { return }
        isDone = true
        onCancel = nil
        observer?(response)
        observer = nil
        connection?.complete(response, from: self)
    }

    fileprivate func cancel() {
        guard !isDone else { return }
        isDone = true
        let action = onCancel
        onCancel = nil
        action?()
        // 499 as nginx logs it: the client closed before we answered.
        observer?(HTTPResponse(status: 499))
        observer = nil
    }
}

/// One client connection: reads requests in order, answers them in order, one at a time.
final class HTTPConnection: EventHandler {
    private let socket: FileDescriptor
    private unowned let server: LoopServer
    private var input = ByteBuffer()
    private var parser: HTTPRequestParser
    private var output: [UInt8] = []
    private var outputSent = 0
    private var inFlight: HTTPResponder?
    private var inFlightKeepAlive = true
    private var inFlightVersion = HTTPVersion.http1_1
    private var inFlightIsHead = false
    /// Close once the pending output is written (error, Connection: close, drain).
    private var closeAfterFlush = false
    private var peerFinishedSending = false
    private var closeWhenIdleRequested = false
    private var interest: UInt32 = Readiness.readable | Readiness.peerClosed
    private var isProcessing = false
    private(set) var deadline: UInt64

    /// Above this much unsent output we stop reading requests until the client catches up.
    private static let outputHighWater = 256 * 1024
    /// Input buffered beyond the request being handled (pipelined requests) before we stop reading.
    private static let readAheadLimit = 64 * 1024

    init(socket: FileDescriptor, server: LoopServer) {
        self.socket = socket
        self.server = server
        self.parser = HTTPRequestParser(limits: server.configuration.limits)
        self.deadline = monotonicNanoseconds() &+ server.configuration.headerTimeout
    }

    private var fd: Int32 { socket.rawValue }

    func handleEvents(_ events: UInt32) {
        guard socket.isOpen else { return }
        if events & (Readiness.error | Readiness.hangUp) != 0 {
            close()
            return
        }
        if events & Readiness.writable != 0 {
            flush()
            guard socket.isOpen else { return }
        }
        if events & Readiness.readable != 0 {
            readAvailable()
        } else if events & Readiness.peerClosed != 0 && !isLingering {
            // The client shut down its side while we hold its request: treat it as gone.
            close()
        }
    }

    private func readAvailable() {
        if isLingering {
            discardInput()
            return
        }
        let count = server.loop.readScratch.withUnsafeMutableBytes { buffer in
            read(fd, buffer.baseAddress, buffer.count)
        }
        if count > 0 {
            server.loop.readScratch.withUnsafeBytes { buffer in
                input.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            processInput()
        } else if count == 0 {
            peerFinishedSending = true
            if inFlight != nil { close(); return }
            processInput()
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            close()
        }
    }

    /// Parses and dispatches buffered requests until one is in flight, output backs up, or input runs out.
    private func processInput() {
        guard !isProcessing else { return }
        isProcessing = true
        defer { isProcessing = false }
        while socket.isOpen && inFlight == nil && !closeAfterFlush && output.count - outputSent < Self.outputHighWater {
            let wasMidRequest = parser.isMidRequest
            let wasReadingBody = parser.isReadingBody
            let result: HTTPRequestParser.Result
            do {
                result = try parser.parse(&input)
            } catch {
                fail(error)
                break
            }
            switch result {
            case .needMore:
                if peerFinishedSending {
                    closeAfterFlush = true
                } else if parser.isReadingBody && !wasReadingBody {
                    deadline = monotonicNanoseconds() &+ server.configuration.bodyTimeout
                } else if parser.isMidRequest && !wasMidRequest {
                    deadline = monotonicNanoseconds() &+ server.configuration.headerTimeout
                }
                if !parser.isMidRequest && closeWhenIdleRequested { closeAfterFlush = true }
                flush()
                return
            case .sendContinue:
                output.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
                deadline = monotonicNanoseconds() &+ server.configuration.bodyTimeout
            case .request(let request):
                dispatch(request)
            }
        }
        flush()
    }

    private func dispatch(_ request: HTTPRequest) {
        let requestID: String
        if let given = request.headers["x-request-id"], RequestIDGenerator.isAcceptable(given) {
            requestID = given
        } else {
            requestID = server.nextRequestID()
        }
        let responder = HTTPResponder(requestID: requestID, loop: server.loop, connection: self)
        inFlight = responder
        inFlightKeepAlive = request.keepAlive && !server.isDraining
        inFlightVersion = request.version
        inFlightIsHead = request.method == "HEAD"
        deadline = .max
        server.handler?.handle(request, responder: responder)
    }

    fileprivate func complete(_ response: HTTPResponse, from responder: HTTPResponder) {
        guard inFlight === responder, socket.isOpen else { return }
        inFlight = nil
        if let verbatim = response.verbatim {
            output.append(contentsOf: verbatim)
            closeAfterFlush = true
            if !isProcessing { processInput() }
            return
        }
        let keepAlive = inFlightKeepAlive && !server.isDraining && !closeWhenIdleRequested
        server.serialize(response, requestID: responder.requestID, keepAlive: keepAlive, version: inFlightVersion,
                         omitBody: inFlightIsHead, into: &output)
        if !keepAlive { closeAfterFlush = true }
        deadline = monotonicNanoseconds() &+ server.configuration.idleTimeout
        if isProcessing { return }
        processInput()
    }

    private func fail(_ error: HTTPParseError) {
        let requestID = server.nextRequestID()
        let response = server.handler?.response(for: error, requestID: requestID) ?? HTTPResponse(status: error.status)
        server.serialize(response, requestID: requestID, keepAlive: false, version: .http1_1,
                         omitBody: false, into: &output)
        closeAfterFlush = true
    }

    // MARK: Output

    private func flush() {
        while outputSent < output.count {
            let written = output.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + outputSent, buffer.count - outputSent, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                outputSent += written
                if inFlight == nil { deadline = monotonicNanoseconds() &+ server.configuration.writeTimeout }
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                updateInterest()
                return
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                close()
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        outputSent = 0
        if closeAfterFlush {
            startLingering()
            return
        }
        if inFlight == nil && !parser.isMidRequest {
            deadline = monotonicNanoseconds() &+ server.configuration.idleTimeout
        }
        updateInterest()
        if !isProcessing && inFlight == nil && !input.isEmpty { processInput() }
    }

    private func updateInterest() {
        guard socket.isOpen else { return }
        let backedUp = output.count - outputSent >= Self.outputHighWater
        var wanted = Readiness.peerClosed
        // Reading stays on while a request is in flight (up to a bounded read-ahead), so a keep-alive
        // request/response cycle costs no epoll_ctl calls; a client that closes meanwhile is still noticed.
        if !backedUp && !closeAfterFlush && input.readableCount < Self.readAheadLimit { wanted |= Readiness.readable }
        if outputSent < output.count { wanted |= Readiness.writable }
        if wanted != interest {
            interest = wanted
            server.loop.modify(fd: fd, events: wanted)
        }
    }

    // MARK: Lifecycle

    /// After our last response: half-close, then read and drop whatever the client still sends for a moment.
    /// Closing at once with unread input makes the kernel send RST, which can destroy the response in flight.
    private var isLingering = false

    private func startLingering() {
        isLingering = true
        shutdown(fd, Int32(SHUT_WR))
        deadline = monotonicNanoseconds() &+ 2_000_000_000
        interest = Readiness.readable | Readiness.peerClosed
        server.loop.modify(fd: fd, events: interest)
    }

    private func discardInput() {
        let count = server.loop.readScratch.withUnsafeMutableBytes { buffer in
            read(fd, buffer.baseAddress, buffer.count)
        }
        if count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR) { close() }
    }

    func deadlinePassed() {
        guard inFlight == nil else { return }
        if isLingering {
            close()
            return
        }
        if parser.isMidRequest && output.count == outputSent {
            let requestID = server.nextRequestID()
            if let response = server.handler?.timeoutResponse(requestID: requestID) {
                server.serialize(response, requestID: requestID, keepAlive: false, version: .http1_1,
                                 omitBody: false, into: &output)
                closeAfterFlush = true
                flush()
                return
            }
        }
        close()
    }

    /// Drain: finish what is in flight, then close; close now if nothing is.
    func closeWhenIdle() {
        closeWhenIdleRequested = true
        if inFlight == nil && !parser.isMidRequest && output.count == outputSent {
            close()
        }
    }

    func close() {
        guard socket.isOpen else { return }
        let fd = self.fd
        inFlight?.cancel()
        inFlight = nil
        server.connectionClosed(self, fd: fd)
        socket.close()
    }
}
