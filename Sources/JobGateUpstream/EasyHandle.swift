#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCurl

/// What an easy handle was last set up for. Setting a handle up costs more than a call's own options (a
/// `curl_easy_reset`, then options libcurl copies or parses: the protocols, the proxies, the CA bundle), so a
/// call whose configuration is the handle's takes it as it is, and any other call resets it and sets it up
/// anew. Hence every option `EasyHandle.configure` sets follows from these fields alone, or from the client
/// (its proxies, TLS session share and socket-closing hook: the same for all its handles); what may differ
/// between two calls of one configuration is set for every call, by `Transfer.prepare`.
struct HandleConfiguration: Equatable {
    /// CURLOPT_PROTOCOLS_STR.
    var allowPlainHTTP: Bool
    /// Which of the client's proxies is used (CURLOPT_PROXY).
    var isHTTPS: Bool
    /// CURLOPT_CAINFO: set only for a vendor with its own bundle, else libcurl's default stays.
    var caFile: String?
    /// CURLOPT_HTTP_VERSION and CURLOPT_PIPEWAIT.
    var http2: Bool
    /// A GET after a PUT would still say "PUT" (CURLOPT_HTTPGET leaves CURLOPT_CUSTOMREQUEST), a call with a body
    /// after a HEAD would still expect no answer body (CURLOPT_NOBODY): calls of two kinds share no handle unreset.
    var method: MethodKind

    init(_ request: borrowing UpstreamRequest, isHTTPS: Bool) {
        allowPlainHTTP = request.options.allowPlainHTTP
        self.isHTTPS = isHTTPS
        caFile = request.options.caFile
        http2 = request.options.http2
        method = MethodKind(request.method)
    }
}

/// How libcurl is told a call's method.
enum MethodKind: Equatable {
    case get
    case head
    /// Any other method, sent with the call's body (possibly empty).
    case withBody

    init(_ method: String) {
        switch method {
        case "GET": self = .get
        case "HEAD": self = .head
        default: self = .withBody
        }
    }
}

/// A curl easy handle, and the configuration it is set up for. Used by one call at a time, idle in the client's
/// pool in between; cleaned up when the last reference goes.
final class EasyHandle {
    let easy: UnsafeMutableRawPointer
    /// What the handle is set up for; nil before it first is, and after a call that left state behind.
    private(set) var configuration: HandleConfiguration?
    /// Nothing has been set on the handle, nor has it made a call, since curl_easy_init.
    private var isPristine = true
    private var headerList = HeaderList()
    /// The per-call options the handle holds now (see `setCallOptions`); nil after a reset.
    private var callOptions: CallOptions?
    /// The origin the handle's calls go to while they are given by request target (see `RequestTarget`): what
    /// `parsedOrigin` holds and CURLOPT_URL names. Nil while calls are given whole URLs, and after a reset (which
    /// clears both options).
    private var origin: [UInt8]?
    /// The handle's own CURLU, kept across resets and calls; made for its first split URL.
    private var parsedOrigin: OpaquePointer?
    /// A plain-HTTP call through a proxy names its whole URL in the request line, which a request target set
    /// apart would replace: such calls are given whole URLs.
    private var sendsWholeURLs = false

    init?() {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
    }

    deinit {
        curl_easy_cleanup(easy)
        // After the easy handle, which may still point at it.
        if let parsedOrigin { curl_url_cleanup(parsedOrigin) }
    }

    /// Tells libcurl the call's URL: as a request target on the origin the handle already holds when it can
    /// (see `RequestTarget`), else whole.
    func setURL(_ url: String) {
        let count = url.utf8.count
        let split = url.withCString { cString in
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(cString).assumingMemoryBound(to: UInt8.self), count: count)
            guard !sendsWholeURLs, let start = RequestTarget.start(in: bytes),
                  holdOrigin(UnsafeBufferPointer(rebasing: bytes[..<start])) else { return false }
            // The target is the URL's tail: a C string ending where the URL's does.
            jg_easy_setopt_pointer(easy, CURLOPT_REQUEST_TARGET, cString + start)
            return true
        }
        guard !split else { return }
        if origin != nil {
            jg_easy_setopt_pointer(easy, CURLOPT_CURLU, nil)
            jg_easy_setopt_pointer(easy, CURLOPT_REQUEST_TARGET, nil)
            origin = nil
        }
        url.withCString { _ = jg_easy_setopt_pointer(easy, CURLOPT_URL, $0) }
    }

    /// Whether the handle holds `origin` now, parsed anew if it held another; false if libcurl's parser refuses it.
    private func holdOrigin(_ origin: UnsafeBufferPointer<UInt8>) -> Bool {
        if let held = self.origin, held.count == origin.count, let start = origin.baseAddress,
           held.withUnsafeBufferPointer({ $0.baseAddress.map { memcmp($0, start, origin.count) } }) == 0 {
            return true
        }
        guard let parsed = parsedOrigin ?? curl_url() else { return false }
        parsedOrigin = parsed
        let text = String(decoding: origin, as: UTF8.self)
        guard text.withCString({ curl_url_set(parsed, CURLUPART_URL, $0, 0) }) == CURLUE_OK else { return false }
        jg_easy_setopt_pointer(easy, CURLOPT_CURLU, UnsafeRawPointer(parsed))
        // Also as the URL, which libcurl otherwise writes out of the CURLU again for every call.
        text.withCString { _ = jg_easy_setopt_pointer(easy, CURLOPT_URL, $0) }
        self.origin = Array(origin)
        return true
    }

    /// Sets a call's request headers (CURLOPT_HTTPHEADER), in the handle's own buffer.
    func setHeaders(_ headers: [(name: String, value: String)], then added: [(name: String, value: String)]) {
        jg_easy_setopt_pointer(easy, CURLOPT_HTTPHEADER, headerList.build(headers, then: added))
    }

    /// The options a call may set differently from the handle's last call: each is handed to libcurl only when
    /// it differs from what the handle holds (the method's string is copied by libcurl every time it is set).
    struct CallOptions {
        var timeoutMilliseconds: Int
        var connectTimeoutMilliseconds: Int
        /// CURLOPT_MAXAGE_CONN.
        var maximumIdleSeconds: Int
        var freshConnection: Bool
        /// CURLOPT_CUSTOMREQUEST, for calls with a body.
        var method: String?
    }

    func setCallOptions(_ options: CallOptions) {
        let held = callOptions
        callOptions = options
        if held?.timeoutMilliseconds != options.timeoutMilliseconds {
            jg_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, options.timeoutMilliseconds)
        }
        if held?.connectTimeoutMilliseconds != options.connectTimeoutMilliseconds {
            jg_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMilliseconds)
        }
        if held?.maximumIdleSeconds != options.maximumIdleSeconds {
            jg_easy_setopt_long(easy, CURLOPT_MAXAGE_CONN, options.maximumIdleSeconds)
        }
        if held?.freshConnection != options.freshConnection {
            jg_easy_setopt_long(easy, CURLOPT_FRESH_CONNECT, options.freshConnection ? 1 : 0)
        }
        if let method = options.method, held?.method != method {
            method.withCString { _ = jg_easy_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, $0) }
        }
    }

    /// Has the next call set the handle up anew, from libcurl's defaults (see `Transfer.leftStateBehind`).
    func discardConfiguration() {
        configuration = nil
    }

    /// Sets up the handle for calls of `configuration`, unless it is already. `closeSocketContext` is the client,
    /// told of every socket curl closes (see `UpstreamClient.watch`); `shareHandle` keeps TLS sessions across its
    /// connections; `proxies`: see `ProxyEnvironment`.
    func configure(for configuration: HandleConfiguration, proxies: ProxyEnvironment, shareHandle: UnsafeMutableRawPointer,
                   closeSocketContext: UnsafeMutableRawPointer) {
        guard configuration != self.configuration else { return }
        // Back to libcurl's defaults: nothing an earlier configuration or call set (a CA bundle, a custom
        // method, a count of repeats) stays.
        if !isPristine { curl_easy_reset(easy) }
        callOptions = nil
        origin = nil
        sendsWholeURLs = !configuration.isHTTPS && !proxies.forHTTP.isEmpty
        isPristine = false
        self.configuration = configuration
        proxies.proxy(forHTTPS: configuration.isHTTPS).withCString { _ = jg_easy_setopt_pointer(easy, CURLOPT_PROXY, $0) }
        proxies.exceptions.withCString { _ = jg_easy_setopt_pointer(easy, CURLOPT_NOPROXY, $0) }
        // Safety rails the HARDENING notes ask for: no redirects followed, no signals, verified TLS,
        // only the protocols the vendor was configured with, nothing verbose that could print secrets.
        // Set whenever a handle is set up although some are libcurl's defaults: a few instructions buy that no
        // build's or version's default can ever turn TLS verification off.
        jg_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        jg_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        jg_easy_setopt_long(easy, CURLOPT_VERBOSE, 0)
        jg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        jg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        (configuration.allowPlainHTTP ? "http,https" : "https").withCString {
            _ = jg_easy_setopt_pointer(easy, CURLOPT_PROTOCOLS_STR, $0)
        }
        jg_easy_setopt_prereq_callback(easy, transferPrereqCallback)
        if let caFile = configuration.caFile {
            caFile.withCString { _ = jg_easy_setopt_pointer(easy, CURLOPT_CAINFO, $0) }
        }
        // The bundle alone (CAINFO: the vendor's, else the system's, which on Debian holds what the CA folder
        // does): libcurl caches a parsed CA store only when no CA folder is set, and otherwise reads and parses
        // the whole bundle again for every new TLS connection. A rotated bundle is read within the hour.
        jg_easy_setopt_pointer(easy, CURLOPT_CAPATH, nil)
        jg_easy_setopt_long(easy, CURLOPT_CA_CACHE_TIMEOUT, 3600)
        jg_easy_setopt_pointer(easy, CURLOPT_SHARE, shareHandle)
        if configuration.http2 {
            // Wait for a connection being set up rather than open another: multiplexed on it once it speaks HTTP/2.
            jg_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
            jg_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1)
        } else {
            jg_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        }
        // TCP_NODELAY is libcurl's default.
        jg_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        jg_easy_setopt_closesocket_callback(easy, curlCloseSocketCallback)
        jg_easy_setopt_pointer(easy, CURLOPT_CLOSESOCKETDATA, closeSocketContext)
        jg_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION, transferWriteCallback)
        jg_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION, transferHeaderCallback)
    }
}
