#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import JobGatePosix

/// What the server hands a request to. One handler per event loop, used only on that loop's thread.
public protocol HTTPHandler: AnyObject {
    /// Handles `request`; the handler calls `responder.respond` exactly once, now or later on this loop.
    func handle(_ request: consuming HTTPRequest, responder: HTTPResponder)
    /// The response for a request that could not be read; the connection closes after it.
    func response(for error: HTTPParseError, requestID: String) -> HTTPResponse
    /// The response when a client did not finish its request in time.
    func timeoutResponse(requestID: String) -> HTTPResponse
}

public struct HTTPServerConfiguration: Sendable {
    public var address: SocketAddress
    public var limits = HTTPLimits()
    public var loopCount = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// From the first byte of a request to the end of its head (slowloris bound).
    public var headerTimeout: Interval = .seconds(10)
    /// From the end of the head to the end of the body, however the body trickles in.
    public var bodyTimeout: Interval = .seconds(30)
    /// An idle keep-alive connection is closed after this.
    public var idleTimeout: Interval = .seconds(60)
    /// A client that reads none of our pending response for this long is dropped.
    public var writeTimeout: Interval = .seconds(60)
    public var maxConnections = 10_000

    public init(address: SocketAddress) {
        self.address = address
    }
}

/// The inbound HTTP/1.1 server: one SO_REUSEPORT listener and one epoll loop per core.
public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    public private(set) var loops: [EventLoop] = []
    public private(set) var boundPort: UInt16 = 0
    let openConnections = Atomic<Int>(0)
    private var loopServers: [LoopServer] = []
    private var threads: [pthread_t] = []
    private let drained = Mutex<Int>(0)

    public init(configuration: HTTPServerConfiguration) {
        self.configuration = configuration
    }

    /// Binds every loop's listener and starts the loop threads. `makeHandler` runs on each loop's thread.
    public func start(makeHandler: @escaping @Sendable (EventLoop) -> HTTPHandler) throws(SystemError) {
        var address = configuration.address
        if address.port != 0 { try Socket.ensureAddressFree(address) }
        for index in 0..<configuration.loopCount {
            let loop = try EventLoop(index: index)
            let listener = try Socket.listen(on: address)
            if index == 0 {
                boundPort = Socket.localPort(listener.rawValue)
                if address.port == 0, let fixed = SocketAddress(parsing: "\(address.host.contains(":") ? "[\(address.host)]" : address.host):\(boundPort)") {
                    address = fixed
                }
            }
            let server = LoopServer(loop: loop, listener: listener, owner: self)
            loops.append(loop)
            loopServers.append(server)
        }
        for server in loopServers {
            let thread = try spawnThread {
                server.startOnLoop(handler: makeHandler(server.loop))
                server.loop.run()
            }
            threads.append(thread)
        }
    }

    /// Stops accepting, lets in-flight requests finish, closes idle connections. Returns when every loop has
    /// no connection left or `timeout` passed; returns whether the drain completed.
    public func drain(timeout: Interval) -> Bool {
        let deadline = MonotonicInstant.now + timeout
        for server in loopServers {
            server.loop.execute { server.beginDrain() }
        }
        while MonotonicInstant.now < deadline {
            if drained.withLock({ $0 }) == loopServers.count { return true }
            usleep(10_000)
        }
        return false
    }

    func loopDrained() {
        drained.withLock { $0 += 1 }
    }

    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }
}

/// The part of the server living on one loop: its listener, its connections, its handler.
final class LoopServer: EventHandler, @unchecked Sendable {
    let loop: EventLoop
    private let listener: FileDescriptor
    unowned let owner: HTTPServer
    var handler: HTTPHandler?
    var connections: [Int32: HTTPConnection] = [:]
    private(set) var isDraining = false
    private var dateCache = HTTPDateCache()
    private var requestIDs = RequestIDGenerator()
    var configuration: HTTPServerConfiguration { owner.configuration }

    init(loop: EventLoop, listener: FileDescriptor, owner: HTTPServer) {
        self.loop = loop
        self.listener = listener
        self.owner = owner
    }

    func startOnLoop(handler: HTTPHandler) {
        self.handler = handler
        try? loop.register(fd: listener.rawValue, events: Readiness.readable, handler: self)
        scheduleSweep()
    }

    func handleEvents(_ events: UInt32) {
        acceptPending()
    }

    private func acceptPending() {
        for _ in 0..<64 {
            let fd = accept4(listener.rawValue, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    pauseAccepting()
                }
                return
            }
            let socket = FileDescriptor(fd)
            let open = owner.openConnections.wrappingAdd(1, ordering: .relaxed).newValue
            if open > configuration.maxConnections {
                owner.openConnections.wrappingSubtract(1, ordering: .relaxed)
                rejectOverCapacity(socket)
                continue
            }
            try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let connection = HTTPConnection(socket: socket, server: self)
            do {
                try loop.register(fd: fd, events: Readiness.readable | Readiness.peerClosed, handler: connection)
                connections[fd] = connection
            } catch {
                owner.openConnections.wrappingSubtract(1, ordering: .relaxed)
            }
        }
    }

    /// Out of descriptors: stop polling the listener briefly instead of spinning on a level-triggered event.
    private func pauseAccepting() {
        loop.unregister(fd: listener.rawValue)
        loop.schedule(after: .milliseconds(100)) { [self] in
            guard !isDraining else { return }
            try? loop.register(fd: listener.rawValue, events: Readiness.readable, handler: self)
        }
    }

    private func rejectOverCapacity(_ socket: FileDescriptor) {
        guard let handler else { return }
        let requestID = requestIDs.next()
        var response = handler.response(for: .badRequest("overloaded"), requestID: requestID)
        response.status = 503
        response.headers.append(("Retry-After", "1"))
        var bytes: [UInt8] = []
        serialize(response, requestID: requestID, keepAlive: false, version: .http1_1, omitBody: false, into: &bytes)
        _ = bytes.withUnsafeBytes { send(socket.rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        socket.close()
    }

    func connectionClosed(_ connection: HTTPConnection, fd: Int32) {
        loop.unregister(fd: fd)
        connections[fd] = nil
        owner.openConnections.wrappingSubtract(1, ordering: .relaxed)
        if isDraining && connections.isEmpty { finishDrain() }
    }

    func nextRequestID() -> String { requestIDs.next() }

    func serialize(_ response: HTTPResponse, requestID: String, keepAlive: Bool, version: HTTPVersion,
                   omitBody: Bool, into output: inout [UInt8]) {
        writeResponseHead(response, requestID: requestID, keepAlive: keepAlive, version: version,
                          date: dateCache.current(), into: &output)
        if !omitBody && response.status != 204 && response.status != 304 {
            output.append(contentsOf: response.body)
        }
    }

    // MARK: Timeouts

    private func scheduleSweep() {
        loop.schedule(after: .milliseconds(250)) { [self] in
            let now = MonotonicInstant.now
            for connection in Array(connections.values) where connection.deadline <= now {
                connection.deadlinePassed()
            }
            scheduleSweep()
        }
    }

    // MARK: Drain

    func beginDrain() {
        guard !isDraining else { return }
        isDraining = true
        loop.unregister(fd: listener.rawValue)
        listener.close()
        for connection in Array(connections.values) { connection.closeWhenIdle() }
        if connections.isEmpty { finishDrain() }
    }

    private var drainReported = false
    private func finishDrain() {
        guard !drainReported else { return }
        drainReported = true
        owner.loopDrained()
    }
}
