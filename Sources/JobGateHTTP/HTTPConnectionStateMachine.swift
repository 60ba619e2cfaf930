import JobGatePosix

/// Everything one client connection decides, without touching a socket: which request may be read next, when
/// reading stops, how a response is framed, which deadline applies, and when the connection closes.
///
/// `HTTPConnection` owns the socket, the buffers and the parser; it reports what happened (a parse outcome,
/// a response from the handler, output written or blocked, end of input, a passed deadline, a drain) and
/// performs what comes back. Requests are answered one at a time and in order; pipelined requests wait in the
/// input buffer. Each deadline lives in the state it bounds, so a deadline always means one thing.
struct HTTPConnectionStateMachine {
    struct Timeouts: Sendable {
        /// From the first byte of a request (or from accepting the connection) to the end of its head.
        var header: Interval
        /// From the end of the head (or a 100 Continue) to the end of the body.
        var body: Interval
        /// Between requests, once the last response is written.
        var idle: Interval
        /// Output blocked without progress for this long means the client stopped reading.
        var write: Interval
        /// How long a closing connection keeps reading and dropping input after its last response.
        var linger: Interval = .seconds(2)
    }

    struct Deadline: Equatable {
        enum Reason: Equatable { case header, body, idle, write, linger }
        var reason: Reason
        var instant: MonotonicInstant
    }

    /// How the response to the request being handled is written.
    struct ResponseFraming: Equatable {
        var keepAlive: Bool
        var version: HTTPVersion
        var omitsBody: Bool

        /// Error and timeout answers: not tied to a request we could read, so plain HTTP/1.1, then close.
        static let closing = ResponseFraming(keepAlive: false, version: .http1_1, omitsBody: false)
    }

    /// Where the parser stopped when it asked for more bytes.
    enum ParserProgress: Equatable {
        case betweenRequests
        case inHead
        case inBody

        init(of parser: HTTPRequestParser) {
            self = parser.isReadingBody ? .inBody : parser.isMidRequest ? .inHead : .betweenRequests
        }
    }

    /// The request side of an open connection: at most one request is between "parsed" and "answered".
    enum RequestState: Equatable {
        case awaitingRequest(Deadline)
        case readingHead(Deadline)
        case readingBody(Deadline)
        /// No deadline, not even for blocked output. `handlerIsRunning` is true while `handle` is on the
        /// stack, so a response given synchronously is written by the loop that dispatched it.
        case handling(ResponseFraming, handlerIsRunning: Bool)
        /// No further request will be read: close once the output is written.
        case closingAfterOutput
    }

    enum State: Equatable {
        /// `writeBlocked` is set while response bytes wait for the client to read: it then bounds the
        /// connection instead of the request side's deadline.
        case open(RequestState, writeBlocked: Deadline?)
        /// Our side is shut down; input is read and dropped until the client closes or the deadline passes.
        case lingering(Deadline)
        case closed
    }

    enum InputAction: Equatable {
        case parse
        case discard
    }

    enum PeerAction: Equatable {
        /// Buffered requests may still be complete; once they are parsed the connection closes after output.
        case parseRemaining
        case close(cancellingRequest: Bool)
        case none
    }

    enum FlushedAction: Equatable {
        case none
        case shutdownWriteAndLinger
    }

    enum TimeoutAction: Equatable {
        case none
        case close(cancellingRequest: Bool)
        /// The client is mid-request and we owe it nothing else: answer 408, then close after output.
        case answerTimeout
    }

    enum DrainAction: Equatable {
        case none
        case close
    }

    /// Above this much unsent output we stop reading requests until the client catches up.
    static let outputHighWater = 256 * 1024
    /// Input buffered beyond the request being handled (pipelined requests) before we stop reading.
    static let readAheadLimit = 64 * 1024

    let timeouts: Timeouts
    private(set) var state: State
    /// The client shut down its sending side: whatever is not a complete request by now never will be.
    private(set) var peerFinishedSending = false
    /// The server is draining: the request in flight is answered with Connection: close, no new one starts.
    private(set) var isDraining = false

    init(timeouts: Timeouts, now: MonotonicInstant) {
        self.timeouts = timeouts
        state = .open(.awaitingRequest(Deadline(reason: .header, instant: now + timeouts.header)), writeBlocked: nil)
    }

    /// The deadline in force; `nil` while a request is being handled (the handler bounds its own work).
    var deadline: Deadline? {
        switch state {
        case .open(.handling, _), .open(.closingAfterOutput, nil), .closed: nil
        case .open(_, writeBlocked: let blocked?): blocked
        case .open(.awaitingRequest(let deadline), nil), .open(.readingHead(let deadline), nil),
             .open(.readingBody(let deadline), nil), .lingering(let deadline): deadline
        }
    }

    var isClosed: Bool { state == .closed }

    /// Whether the next buffered request may be parsed now.
    func mayParse(unsentOutput: Int) -> Bool {
        guard case .open(let request, _) = state else { return false }
        return request.acceptsInput && unsentOutput < Self.outputHighWater
    }

    /// Whether to poll for input: reading stays on while a request is handled (up to a bounded read-ahead), so
    /// a keep-alive cycle costs no epoll_ctl calls and a client that leaves meanwhile is still noticed.
    func wantsToRead(bufferedInput: Int, unsentOutput: Int) -> Bool {
        switch state {
        case .open(.closingAfterOutput, _), .closed: false
        case .open: unsentOutput < Self.outputHighWater && bufferedInput < Self.readAheadLimit
        case .lingering: true
        }
    }

    // MARK: Input

    mutating func bytesArrived() -> InputAction {
        switch state {
        case .open(.closingAfterOutput, _), .lingering, .closed: .discard
        case .open: .parse
        }
    }

    mutating func needMoreInput(_ progress: ParserProgress, now: MonotonicInstant) {
        guard case .open(let request, let blocked) = state else { preconditionFailure("parsed input in \(state)") }
        var next = request
        switch (request, progress) {
        case (.awaitingRequest, .betweenRequests), (.readingHead, .inHead), (.readingBody, .inBody):
            break
        case (.readingHead(let deadline), .betweenRequests):
            // Only line ends arrived, which RFC 9112 §2.2 lets a server skip before a request.
            next = .awaitingRequest(deadline)
        case (.awaitingRequest, .inHead):
            next = .readingHead(Deadline(reason: .header, instant: now + timeouts.header))
        case (.awaitingRequest, .inBody), (.readingHead, .inBody):
            next = .readingBody(Deadline(reason: .body, instant: now + timeouts.body))
        case (.readingBody, .betweenRequests), (.readingBody, .inHead), (.handling, _), (.closingAfterOutput, _):
            preconditionFailure("parser at \(progress) in \(request)")
        }
        if peerFinishedSending || (isDraining && progress == .betweenRequests) { next = .closingAfterOutput }
        state = .open(next, writeBlocked: blocked)
    }

    /// The head asked for 100-continue: the body's deadline starts with the interim response.
    mutating func continueRequested(now: MonotonicInstant) {
        guard case .open(let request, let blocked) = state, request.acceptsInput else {
            preconditionFailure("100-continue in \(state)")
        }
        state = .open(.readingBody(Deadline(reason: .body, instant: now + timeouts.body)), writeBlocked: blocked)
    }

    /// A complete request: hand it to the handler. Call `handlerReturned` once `handle` returns.
    mutating func requestParsed(keepAlive: Bool, version: HTTPVersion, isHead: Bool) {
        guard case .open(let request, let blocked) = state, request.acceptsInput else {
            preconditionFailure("request parsed in \(state)")
        }
        let framing = ResponseFraming(keepAlive: keepAlive && !isDraining, version: version, omitsBody: isHead)
        state = .open(.handling(framing, handlerIsRunning: true), writeBlocked: blocked)
    }

    mutating func handlerReturned() {
        guard case .open(.handling(let framing, handlerIsRunning: true), let blocked) = state else { return }
        state = .open(.handling(framing, handlerIsRunning: false), writeBlocked: blocked)
    }

    /// The input cannot be framed: answer the error, then close; what follows cannot be trusted.
    mutating func parseFailed() -> ResponseFraming {
        guard case .open(let request, let blocked) = state, request.acceptsInput else {
            preconditionFailure("parse error in \(state)")
        }
        state = .open(.closingAfterOutput, writeBlocked: blocked)
        return .closing
    }

    /// Read returned end of file.
    mutating func peerFinishedSendingInput() -> PeerAction {
        switch state {
        case .open(.handling, _):
            // The client shut down its side while we hold its request: treat it as gone.
            state = .closed
            return .close(cancellingRequest: true)
        case .open(.closingAfterOutput, _), .closed:
            return .none
        case .open:
            peerFinishedSending = true
            return .parseRemaining
        case .lingering:
            state = .closed
            return .close(cancellingRequest: false)
        }
    }

    /// The client half-closed while we were not reading, so its last bytes can never be read.
    mutating func peerHalfClosedWhileNotReading() -> PeerAction {
        if case .lingering = state { return .none }
        return closeNow()
    }

    /// Reset, socket error, or a failed read or write.
    mutating func peerReset() -> PeerAction {
        closeNow()
    }

    private mutating func closeNow() -> PeerAction {
        guard !isClosed else { return .none }
        let wasHandling = if case .open(.handling, _) = state { true } else { false }
        state = .closed
        return .close(cancellingRequest: wasHandling)
    }

    // MARK: Output

    /// The handler answered. `closesConnection` is set for a response written verbatim, whose framing is not
    /// ours. Returns how to frame it, and whether to go on reading: not while the dispatching loop still runs.
    mutating func responseReady(closesConnection: Bool, now: MonotonicInstant) -> (framing: ResponseFraming, resumeInput: Bool) {
        guard case .open(.handling(var framing, let handlerIsRunning), let blocked) = state else {
            preconditionFailure("response without a request in \(state)")
        }
        framing.keepAlive = framing.keepAlive && !isDraining && !closesConnection
        let next: RequestState = framing.keepAlive
            ? .awaitingRequest(Deadline(reason: .idle, instant: now + timeouts.idle))
            : .closingAfterOutput
        // Output held up while the handler worked is judged from now: the client had nothing to read meanwhile.
        let restarted = blocked.map { _ in Deadline(reason: .write, instant: now + timeouts.write) }
        state = .open(next, writeBlocked: restarted)
        return (framing, !handlerIsRunning)
    }

    /// Bytes are still waiting for the client. The write deadline restarts whenever some went out.
    mutating func outputBlocked(afterProgress: Bool, now: MonotonicInstant) {
        guard case .open(let request, let blocked) = state else { preconditionFailure("output blocked in \(state)") }
        if afterProgress || blocked == nil {
            state = .open(request, writeBlocked: Deadline(reason: .write, instant: now + timeouts.write))
        }
    }

    mutating func outputFlushed(now: MonotonicInstant) -> FlushedAction {
        switch state {
        case .open(.closingAfterOutput, _):
            // Closing at once with unread input makes the kernel send RST, which can destroy the response.
            state = .lingering(Deadline(reason: .linger, instant: now + timeouts.linger))
            return .shutdownWriteAndLinger
        case .open(.awaitingRequest, _):
            state = .open(.awaitingRequest(Deadline(reason: .idle, instant: now + timeouts.idle)), writeBlocked: nil)
            return .none
        case .open(let request, _):
            state = .open(request, writeBlocked: nil)
            return .none
        case .lingering, .closed:
            preconditionFailure("output flushed in \(state)")
        }
    }

    // MARK: Time and drain

    mutating func timerFired(now: MonotonicInstant) -> TimeoutAction {
        guard let deadline, deadline.instant <= now else { return .none }
        switch state {
        case .open(.handling, _), .open(.closingAfterOutput, nil), .closed:
            preconditionFailure("deadline \(deadline) in \(state)")
        case .open(.readingHead, nil), .open(.readingBody, nil):
            state = .open(.closingAfterOutput, writeBlocked: nil)
            return .answerTimeout
        case .open(.awaitingRequest, _), .open(_, writeBlocked: .some), .lingering:
            state = .closed
            return .close(cancellingRequest: false)
        }
    }

    /// Finish what is in flight, then close; close now if nothing is.
    mutating func drainRequested() -> DrainAction {
        isDraining = true
        switch state {
        case .open(.awaitingRequest, nil):
            state = .closed
            return .close
        case .open(.awaitingRequest, let blocked?):
            // The keep-alive response already went out framed as such; closing after it is still allowed.
            state = .open(.closingAfterOutput, writeBlocked: blocked)
            return .none
        case .open, .lingering, .closed:
            return .none
        }
    }
}

extension HTTPConnectionStateMachine.RequestState {
    /// Whether the parser may be run: no request is being handled and more may come.
    fileprivate var acceptsInput: Bool {
        switch self {
        case .awaitingRequest, .readingHead, .readingBody: true
        case .handling, .closingAfterOutput: false
        }
    }
}
