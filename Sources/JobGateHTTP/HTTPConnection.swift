#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JobGatePosix

/// Sees a request's final response, just before it is written (access logs, metrics). An object rather than a
/// closure: the handler's per-request record observes, without a closure context allocated beside it.
public protocol HTTPResponseObserver: AnyObject {
    func observe(_ response: HTTPResponse, of responder: HTTPResponder)
}

/// The handle a handler answers through. Loop-confined; `respond` after the client left is a no-op.
public final class HTTPResponder {
    public let requestID: String
    public let receivedAt: MonotonicInstant
    /// The event loop the request arrived on; asynchronous work must come back to it before responding.
    public let loop: EventLoop
    /// Called once if the client goes away before the response is sent, so upstream work can be cancelled.
    public var onCancel: (() -> Void)?
    /// Sees the final response, once.
    public var observer: HTTPResponseObserver?
    /// Strong, and let go as soon as the request ends (answered, cancelled, or its connection closed): a weak
    /// reference would give every connection a side table, and put each of its retains on the slow path.
    fileprivate var connection: HTTPConnection?
    public private(set) var isDone = false

    fileprivate init(requestID: String, loop: EventLoop, connection: HTTPConnection) {
        self.requestID = requestID
        self.receivedAt = .now
        self.loop = loop
        self.connection = connection
    }

    public func respond(_ response: HTTPResponse) {
        guard !isDone else { return }
        isDone = true
        onCancel = nil
        observer?.observe(response, of: self)
        observer = nil
        let connection = self.connection
        self.connection = nil
        connection?.complete(response, from: self)
    }

    fileprivate func cancel() {
        connection = nil
        guard !isDone else { return }
        isDone = true
        let action = onCancel
        onCancel = nil
        action?()
        // 499 as nginx logs it: the client closed before we answered.
        observer?.observe(HTTPResponse(status: 499), of: self)
        observer = nil
    }
}

/// One client connection: the socket, its buffers and its parser. Every decision is the state machine's;
/// this class reports what happened to it and carries out what it answers.
final class HTTPConnection: EventHandler {
    private typealias Machine = HTTPConnectionStateMachine
    private let socket: FileDescriptor
    private unowned let server: LoopServer
    private var machine: Machine
    private var input = ByteBuffer()
    private var parser: HTTPRequestParser
    private var output: [UInt8] = []
    private var outputSent = 0
    /// The handle of the request being handled; the machine is in `.handling` exactly while it is set.
    private var inFlight: HTTPResponder?
    private var interest: UInt32 = Readiness.readable | Readiness.peerClosed

    init(socket: FileDescriptor, server: LoopServer) {
        self.socket = socket
        self.server = server
        self.parser = HTTPRequestParser(limits: server.configuration.limits)
        let configuration = server.configuration
        let timeouts = Machine.Timeouts(header: configuration.headerTimeout, body: configuration.bodyTimeout,
                                        idle: configuration.idleTimeout, write: configuration.writeTimeout)
        self.machine = Machine(timeouts: timeouts, now: MonotonicInstant.now)
    }

    private var fd: Int32 { socket.rawValue }
    private var unsentOutput: Int { output.count - outputSent }

    /// When the server's sweep should call `deadlinePassed`.
    var deadline: MonotonicInstant { machine.deadline?.instant ?? MonotonicInstant(nanoseconds: .max) }

    func handleEvents(_ events: UInt32) {
        guard !machine.isClosed else { return }
        if events & (Readiness.error | Readiness.hangUp) != 0 {
            perform(machine.peerReset())
            return
        }
        if events & Readiness.writable != 0 {
            writeOutput()
            // Output that backed up may have held pipelined requests back.
            if output.isEmpty && !input.isEmpty && machine.mayParse(unsentOutput: 0) { processInput() }
            guard !machine.isClosed else { return }
        }
        if events & Readiness.readable != 0 {
            readAvailable()
        } else if events & Readiness.peerClosed != 0 {
            perform(machine.peerHalfClosedWhileNotReading())
        }
    }

    private func readAvailable() {
        let count = server.loop.readScratch.withUnsafeMutableBytes { buffer in
            read(fd, buffer.baseAddress, buffer.count)
        }
        if count > 0 {
            guard machine.bytesArrived() == .parse else { return }
            server.loop.readScratch.withUnsafeBytes { buffer in
                input.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            processInput()
        } else if count == 0 {
            perform(machine.peerFinishedSendingInput())
        } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
            perform(machine.peerReset())
        }
    }

    private func perform(_ action: Machine.PeerAction) {
        switch action {
        case .none: break
        case .parseRemaining: processInput()
        case .close(let cancellingRequest): close(cancellingRequest: cancellingRequest)
        }
    }

    /// Parses and dispatches buffered requests while the machine allows, then writes what they produced.
    private func processInput() {
        parsing: while machine.mayParse(unsentOutput: unsentOutput) {
            do {
                switch try parser.parse(&input) {
                case .needMore:
                    machine.needMoreInput(Machine.ParserProgress(of: parser), now: MonotonicInstant.now)
                    break parsing
                case .sendContinue:
                    output.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
                    machine.continueRequested(now: MonotonicInstant.now)
                case .request(let request):
                    dispatch(request)
                    machine.handlerReturned()
                }
            } catch {
                queueErrorResponse(for: error, framing: machine.parseFailed())
            }
        }
        writeOutput()
    }

    private func dispatch(_ request: consuming HTTPRequest) {
        let requestID: String
        if let given = request.headers["x-request-id"], RequestIDGenerator.isAcceptable(given) {
            requestID = given
        } else {
            requestID = server.nextRequestID()
        }
        let responder = HTTPResponder(requestID: requestID, loop: server.loop, connection: self)
        inFlight = responder
        machine.requestParsed(keepAlive: request.keepAlive, version: request.version, isHead: request.method == "HEAD")
        server.handler?.handle(request, responder: responder)
    }

    fileprivate func complete(_ response: HTTPResponse, from responder: HTTPResponder) {
        guard inFlight === responder else { return }
        inFlight = nil
        let (framing, resumeInput) = machine.responseReady(closesConnection: response.verbatim != nil,
                                                           now: MonotonicInstant.now)
        if let verbatim = response.verbatim {
            output.append(contentsOf: verbatim)
        } else {
            queue(response, requestID: responder.requestID, framing: framing)
        }
        if resumeInput { processInput() }
    }

    private func queue(_ response: HTTPResponse, requestID: String, framing: Machine.ResponseFraming) {
        server.serialize(response, requestID: requestID, keepAlive: framing.keepAlive, version: framing.version,
                         omitBody: framing.omitsBody, into: &output)
    }

    private func queueErrorResponse(for error: HTTPParseError, framing: Machine.ResponseFraming) {
        let requestID = server.nextRequestID()
        let response = server.handler?.response(for: error, requestID: requestID) ?? HTTPResponse(status: error.status)
        queue(response, requestID: requestID, framing: framing)
    }

    // MARK: Output

    private func writeOutput() {
        var progressed = false
        while outputSent < output.count {
            let written = output.withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress! + outputSent, buffer.count - outputSent, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                outputSent += written
                progressed = true
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                machine.outputBlocked(afterProgress: progressed, now: MonotonicInstant.now)
                updateInterest()
                return
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                perform(machine.peerReset())
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        outputSent = 0
        switch machine.outputFlushed(now: MonotonicInstant.now) {
        case .none:
            updateInterest()
        case .shutdownWriteAndLinger:
            shutdown(fd, Int32(SHUT_WR))
            updateInterest()
        }
    }

    private func updateInterest() {
        var wanted = Readiness.peerClosed
        if machine.wantsToRead(bufferedInput: input.readableCount, unsentOutput: unsentOutput) {
            wanted |= Readiness.readable
        }
        if unsentOutput > 0 { wanted |= Readiness.writable }
        if wanted != interest {
            interest = wanted
            server.loop.modify(fd: fd, events: wanted)
        }
    }

    // MARK: Lifecycle

    func deadlinePassed() {
        switch machine.timerFired(now: MonotonicInstant.now) {
        case .none:
            break
        case .close(let cancellingRequest):
            close(cancellingRequest: cancellingRequest)
        case .answerTimeout:
            let requestID = server.nextRequestID()
            let response = server.handler?.timeoutResponse(requestID: requestID) ?? HTTPResponse(status: 408)
            queue(response, requestID: requestID, framing: .closing)
            writeOutput()
        }
    }

    /// Drain: finish what is in flight, then close; close now if nothing is.
    func closeWhenIdle() {
        switch machine.drainRequested() {
        case .none: break
        case .close: close(cancellingRequest: false)
        }
    }

    /// The machine is already `.closed`; this releases the socket and tells whoever waits on the request.
    private func close(cancellingRequest: Bool) {
        let fd = self.fd
        if cancellingRequest { inFlight?.cancel() }
        inFlight?.connection = nil
        inFlight = nil
        server.connectionClosed(self, fd: fd)
        socket.close()
    }
}
