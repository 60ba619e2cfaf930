/// The proxy variables of the environment, read once. Left to itself libcurl reads them for every call (five
/// `getenv` scans of the whole environment per request); given explicitly, it reads none, with the same
/// meaning: `<scheme>_proxy` (for https also `HTTPS_PROXY`; never `HTTP_PROXY`, which a CGI parent can set
/// from a request's `Proxy:` header), else `all_proxy`/`ALL_PROXY`; `no_proxy`/`NO_PROXY` for the exceptions.
/// An empty variable counts as unset, as in libcurl.
public struct ProxyEnvironment: Sendable, Equatable {
    /// The proxy for plain-HTTP vendors and for HTTPS vendors; "" for none (libcurl's "no proxy").
    let forHTTP: String
    let forHTTPS: String
    /// Hosts reached directly; "" for none.
    let exceptions: String

    public init(_ environment: [String: String]) {
        func value(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        let fallback = value("all_proxy", "ALL_PROXY")
        forHTTP = value("http_proxy") ?? fallback ?? ""
        forHTTPS = value("https_proxy", "HTTPS_PROXY") ?? fallback ?? ""
        exceptions = value("no_proxy", "NO_PROXY") ?? ""
    }

    public static let none = ProxyEnvironment([:])

    func proxy(forHTTPS isHTTPS: Bool) -> String { isHTTPS ? forHTTPS : forHTTP }
}
