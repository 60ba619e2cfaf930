import CCurl

/// A curl share handle holding the TLS sessions of one client's connections, so a new connection to a vendor
/// resumes the last session instead of doing a full handshake (without a share each easy handle keeps its
/// own cache, and the pooled handles scatter the sessions). Confined to its client's loop, so it needs no
/// lock callbacks. Every easy handle using it must be cleaned up first.
final class TLSSessionShare {
    let handle: UnsafeMutableRawPointer

    init() {
        guard let handle = curl_share_init() else { fatalError("curl_share_init failed: out of memory") }
        self.handle = handle
        jg_share_setopt_long(handle, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
    }

    deinit {
        curl_share_cleanup(handle)
    }
}
