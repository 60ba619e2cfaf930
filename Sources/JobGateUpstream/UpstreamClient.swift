import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import JobGatePosix

/// A handle to a call in progress, for cancelling it.
public struct UpstreamCallID: Hashable, Sendable {
    fileprivate let value: UInt64
}

/// The HTTP client every vendor call goes through: one curl multi handle per event loop, driven by that loop's
/// epoll (curl_multi_socket_action with socket and timer callbacks), so no call blocks a loop thread or needs
/// a thread of its own. The multi handle's connection cache keeps upstream connections (and their TLS
/// sessions, and HTTP/2 multiplexing) alive across requests. Loop-confined: use only on `loop`'s thread.
public final class UpstreamClient {
    public let loop: EventLoop
    private let multi: UnsafeMutableRawPointer
    private var transfers: [UInt64: Transfer] = [:]
    private var sockets: [Int32: CurlSocketWatcher] = [:]
    /// Easy handles between calls, the most recently used last, each still set up for its last call's
    /// configuration (see `HandleConfiguration`); at most `maxIdleHandles`.
    private var idleHandles: [EasyHandle] = []
    private static let maxIdleHandles = 64
    private var timer: TimerID?
    private var nextID: UInt64 = 1
    private let tlsSessions = TLSSessionShare()
    /// Learned from vendors' `Keep-Alive: timeout=N` answers, by origin ("https://host:port").
    private var keepAliveByOrigin: [String: Int] = [:]

    /// libcurl's global state must be set up once, before any thread uses it.
    public static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private let proxies: ProxyEnvironment

    public init(loop: EventLoop, proxies: ProxyEnvironment = .none, maxCachedConnections: Int = 256) {
        _ = Self.globalInit
        self.loop = loop
        self.proxies = proxies
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        self.multi = multi
        let context = Unmanaged.passUnretained(self).toOpaque()
        jg_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        jg_multi_setopt_socket_callback(multi, curlSocketCallback)
        jg_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
        jg_multi_setopt_timer_callback(multi, curlTimerCallback)
        jg_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxCachedConnections)
        // Many calls in flight on one HTTP/2 connection for vendors whose mapping asks for HTTP/2, one TLS handshake.
        jg_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
    }

    deinit {
        for transfer in transfers.values { curl_multi_remove_handle(multi, transfer.easy) }
        // The easy handles go with their last references, here: before the multi and share handles.
        transfers.removeAll()
        idleHandles.removeAll()
        if let timer { loop.cancel(timer) }
        for watcher in sockets.values { loop.unregister(fd: watcher.fd) }
        sockets.removeAll()
        curl_multi_cleanup(multi)
    }

    /// Calls currently running (for metrics and leak tests).
    public var activeCalls: Int { transfers.count }
    /// Sockets registered with the loop, parked ones included (for tests).
    var watchedSockets: Int { sockets.count }
    /// Easy handles kept for reuse.
    public var pooledHandles: Int { idleHandles.count }

    /// Starts a call; `completion` runs later on this loop, exactly once, unless the call is cancelled first.
    @discardableResult
    public func send(_ request: consuming UpstreamRequest,
                     completion: @escaping (Result<UpstreamResponse, UpstreamFailure>) -> Void) -> UpstreamCallID {
        loop.assertInLoopThread()
        let id = nextID
        nextID += 1
        let isHTTPS = asciiCaseInsensitiveHasPrefix(request.url, "https://")
        guard isHTTPS || request.options.allowPlainHTTP && asciiCaseInsensitiveHasPrefix(request.url, "http://") else {
            loop.schedule(after: .zero) { completion(.failure(.protocolNotAllowed)) }
            return UpstreamCallID(value: id)
        }
        let configuration = HandleConfiguration(request, isHTTPS: isHTTPS)
        guard let handle = takeIdleHandle(for: configuration) ?? EasyHandle() else {
            loop.schedule(after: .zero) { completion(.failure(.other(code: Int(CURLE_OUT_OF_MEMORY.rawValue)))) }
            return UpstreamCallID(value: id)
        }
        handle.configure(for: configuration, proxies: proxies, shareHandle: tlsSessions.handle,
                         closeSocketContext: Unmanaged.passUnretained(self).toOpaque())
        let idleReuseSeconds = idleReuseSeconds(for: request)
        // The request moves into its transfer: a copy would count a reference to each of its strings and lists.
        let transfer = Transfer(id: id, handle: handle, request: request, completion: completion)
        transfer.prepare(idleReuseSeconds: idleReuseSeconds)
        transfers[id] = transfer
        if curl_multi_add_handle(multi, handle.easy) != CURLM_OK {
            transfers[id] = nil
            loop.schedule(after: .zero) { completion(.failure(.other(code: -1))) }
        }
        return UpstreamCallID(value: id)
    }

    /// Abandons a call: its completion never runs and its handle is reclaimed now.
    public func cancel(_ call: UpstreamCallID) {
        loop.assertInLoopThread()
        guard let transfer = transfers.removeValue(forKey: call.value) else { return }
        curl_multi_remove_handle(multi, transfer.easy)
        // Stopped midway, it may have been repeated (see `Transfer.leftStateBehind`).
        recycle(transfer, setUpAgain: true)
    }

    /// How long an idle pooled connection is trusted by a call that may be repeated (nginx's upstream
    /// `keepalive_timeout`). Should the vendor have closed it, libcurl repeats the call on a new connection,
    /// which costs no more than opening one at once; bounded, so that a connection a NAT or a firewall dropped
    /// without a word is not trusted for long.
    static let repeatableIdleReuseSeconds = 60

    /// A pooled connection idle this long is not reused. A call that must not be repeated keeps clear of the
    /// vendor's idle timer: one second less than the vendor said it keeps idle connections open, else the
    /// mapping's setting. One that may be repeated trusts connections for longer, so that a vendor called now
    /// and then does not pay a new connection and TLS handshake for every call after a pause.
    private func idleReuseSeconds(for request: UpstreamRequest) -> Int {
        if request.options.idempotent {
            return max(request.options.keepAliveSeconds, Self.repeatableIdleReuseSeconds)
        }
        guard !keepAliveByOrigin.isEmpty, let advertised = keepAliveByOrigin[String(origin(of: request.url))] else {
            return request.options.keepAliveSeconds
        }
        return min(advertised - 1, request.options.keepAliveSeconds)
    }

    private func remember(keepAliveSeconds: Int, for url: String) {
        // Bounded by the vendors' origins; a reload that moves them all cannot grow it without end.
        if keepAliveByOrigin.count >= 256 { keepAliveByOrigin.removeAll() }
        keepAliveByOrigin[String(origin(of: url))] = keepAliveSeconds
    }

    /// An idle handle set up for `configuration` if there is one; else the one idle longest, to be set up anew.
    private func takeIdleHandle(for configuration: HandleConfiguration) -> EasyHandle? {
        if let index = idleHandles.lastIndex(where: { $0.configuration == configuration }) {
            return idleHandles.remove(at: index)
        }
        return idleHandles.isEmpty ? nil : idleHandles.removeFirst()
    }

    /// Keeps the call's handle for the next call, set up as it is unless `setUpAgain`; a handle over the bound
    /// is cleaned up.
    private func recycle(_ transfer: Transfer, setUpAgain: Bool) {
        if setUpAgain { transfer.handle.discardConfiguration() }
        if idleHandles.count < Self.maxIdleHandles { idleHandles.append(transfer.handle) }
    }

    // MARK: Driving curl from the loop

    fileprivate func socketAction(_ fd: Int32, _ events: Int32) {
        var running: Int32 = 0
        curl_multi_socket_action(multi, fd, events, &running)
        collectFinished()
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            var raw: UnsafeMutableRawPointer?
            jg_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &raw)
            curl_multi_remove_handle(multi, easy)
            guard let raw else { continue }
            let id = UInt64(UInt(bitPattern: raw))
            guard let transfer = transfers.removeValue(forKey: id) else { continue }
            if let seconds = transfer.advertisedKeepAliveSeconds { remember(keepAliveSeconds: seconds, for: transfer.request.url) }
            let result = transfer.result(code: code)
            let completion = transfer.completion
            recycle(transfer, setUpAgain: transfer.leftStateBehind(code: code))
            completion(result)
        }
    }

    /// A socket curl stops watching is usually an idle keep-alive connection that the next call reuses, so
    /// it stays registered ("parked") instead of costing an epoll_ctl pair per call. Readiness on a parked
    /// socket (the vendor closed it, or sent stray bytes) drops the registration; curl's own liveness check
    /// then discards the connection before any reuse. Closes come through `socketClosing`.
    fileprivate func watch(fd: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            sockets[fd]?.isParked = true
            return
        }
        var events: UInt32 = 0
        if what == CURL_POLL_IN || what == CURL_POLL_INOUT { events |= Readiness.readable }
        if what == CURL_POLL_OUT || what == CURL_POLL_INOUT { events |= Readiness.writable }
        if let watcher = sockets[fd] {
            watcher.isParked = false
            if watcher.events != events {
                watcher.events = events
                loop.modify(fd: fd, events: events)
            }
        } else {
            let watcher = CurlSocketWatcher(fd: fd, events: events, client: self)
            do {
                try loop.register(fd: fd, events: events, handler: watcher)
                sockets[fd] = watcher
            } catch {
                // Leave it to curl's timeout: the call fails as a timeout rather than hanging.
            }
        }
    }

    fileprivate func forget(_ watcher: CurlSocketWatcher) {
        guard sockets[watcher.fd] === watcher else { return }
        sockets[watcher.fd] = nil
        loop.unregister(fd: watcher.fd)
    }

    /// curl is about to close `fd`: a parked registration must go first, or a later descriptor with the same
    /// number would be taken for it.
    fileprivate func socketClosing(_ fd: Int32) {
        if let watcher = sockets[fd] { forget(watcher) }
    }

    fileprivate func setTimer(milliseconds: Int) {
        if let timer { loop.cancel(timer) }
        timer = nil
        guard milliseconds >= 0 else { return }
        // curl must not be re-entered from its own callback: act from the loop, even for a 0 ms timeout.
        timer = loop.schedule(after: .milliseconds(milliseconds), timerFired)
    }

    /// Made once: curl resets its timer a few times per call, and a fresh closure each time is an allocation.
    private lazy var timerFired: () -> Void = { [unowned self] in
        timer = nil
        socketAction(CURL_SOCKET_TIMEOUT, 0)
    }
}

/// Forwards readiness of one curl socket to curl.
private final class CurlSocketWatcher: EventHandler {
    let fd: Int32
    var events: UInt32
    /// curl no longer watches the socket (an idle pooled connection); see `UpstreamClient.watch`.
    var isParked = false
    unowned let client: UpstreamClient

    init(fd: Int32, events: UInt32, client: UpstreamClient) {
        self.fd = fd
        self.events = events
        self.client = client
    }

    func handleEvents(_ events: UInt32) {
        if isParked {
            client.forget(self)
            return
        }
        var flags: Int32 = 0
        if events & Readiness.readable != 0 { flags |= CURL_CSELECT_IN }
        if events & Readiness.writable != 0 { flags |= CURL_CSELECT_OUT }
        if events & (Readiness.error | Readiness.hangUp) != 0 { flags |= CURL_CSELECT_ERR }
        client.socketAction(fd, flags)
    }
}

/// "scheme://authority" of a URL (the whole URL without "://"): what the vendor says about keeping connections
/// holds per origin.
func origin(of url: String) -> Substring {
    guard let end = url.utf8.withContiguousStorageIfAvailable({ RequestTarget.authority(in: $0)?.end }) ?? nil else {
        return url[...]
    }
    return Substring(url.utf8.prefix(end))
}

// The socket and timer callbacks come from the client's multi handle, which it owns: they borrow the client.
private func curlSocketCallback(_ easy: UnsafeMutableRawPointer?, _ fd: curl_socket_t, _ what: Int32,
                                _ context: UnsafeMutableRawPointer?, _ socketContext: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<UpstreamClient>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.watch(fd: fd, what: what) }
    return 0
}

func curlCloseSocketCallback(_ context: UnsafeMutableRawPointer?, _ fd: curl_socket_t) -> Int32 {
    // Without a retain: curl_multi_cleanup in the client's deinit closes its connections through here.
    if let context {
        Unmanaged<UpstreamClient>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.socketClosing(fd) }
    }
    return close(fd)
}

private func curlTimerCallback(_ multi: UnsafeMutableRawPointer?, _ milliseconds: Int, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    Unmanaged<UpstreamClient>.fromOpaque(context)._withUnsafeGuaranteedRef { $0.setTimer(milliseconds: milliseconds) }
    return 0
}
