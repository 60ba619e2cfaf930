import JobGateJSON

/// What a mapping's top level says about whom it calls as: the credential parts an account may replace.
struct CallerIdentity {
    var baseURL: String
    var auth: AuthScheme
    /// Variables the auth scheme needs that are unset.
    var unsetAuth: [String]
    var headers: [(name: String, value: String)]
    /// The `headers` objects as written (before interpolation), the account's first, for naming the
    /// variables behind an empty required header.
    var headerSources: [JSONObject]
}

/// One entry of `accounts`, read and merged over the top level.
struct AccountSettings {
    let name: String
    let identity: CallerIdentity
    /// Every variable the account needs that is unset (its auth's and its required headers').
    let missing: [String]
}

/// `headers`, `requiredHeaders` and `accounts`.
extension MappingReader {
    mutating func readHeaders(_ value: JSONValue?, at path: String) -> [(name: String, value: String)] {
        guard let headerObject = objectValue(value, at: path) else { return [] }
        var headers: [(name: String, value: String)] = []
        for (name, _) in headerObject {
            let value = interpolated(headerObject, name, at: "\(path)/\(name)", required: true) ?? ""
            if !isToken(name) { report("\(path)/\(name)", "not a valid header name") }
            if value.hasLineBreakOrNUL { report("\(path)/\(name)", "header value has a line break") }
            headers.append((name, value))
        }
        return headers
    }

    mutating func readRequiredHeaderNames(_ value: JSONValue?, at path: String) -> [String] {
        (value?.arrayValue ?? []).enumerated().compactMap { index, required in
            guard let name = required.stringValue else {
                report("\(path)/\(index)", "must be a header name")
                return nil
            }
            return name
        }
    }

    /// The variables to set for each required header that is empty: a tenant header left empty must leave
    /// the vendor (or account) unconfigured rather than send calls no tenant owns.
    func unsetRequiredHeaders(_ required: [String], of identity: CallerIdentity) -> [String] {
        required.flatMap { name -> [String] in
            guard identity.headers.first(where: { sameHeaderName($0.name, name) })?.value.isEmpty ?? true else { return [] }
            let written = identity.headerSources.lazy.compactMap { source in
                source.first { sameHeaderName($0.key, name) }?.value.stringValue
            }.first
            return variables(in: written ?? name)
        }
    }

    /// `"accounts": {"<name>": {"auth", "headers", "baseUrl"}}`, each member replacing the top level's for
    /// that account (headers merged by name).
    mutating func readAccounts(_ value: JSONValue?, at path: String, topLevel: CallerIdentity,
                               requiredHeaders: [String]) -> [AccountSettings] {
        guard let object = objectValue(value, at: path) else { return [] }
        var accounts: [AccountSettings] = []
        for (name, entry) in object {
            let here = "\(path)/\(name)"
            if !isIdentifier(name) {
                report(here, "an account name is lower-case letters, digits, '-' or '_'")
            } else if name == VendorMapping.defaultAccount {
                report(here, "'\(name)' names the top-level credentials; choose another account name")
            }
            guard let settings = objectValue(entry, at: here) else { continue }
            allowOnly(["auth", "headers", "baseUrl"], in: settings, at: here)
            var identity = topLevel
            if let baseURL = interpolated(settings, "baseUrl", at: here + "/baseUrl", required: false) {
                checkURL(baseURL, at: here + "/baseUrl")
                identity.baseURL = baseURL
            }
            if settings["auth"] != nil {
                let outer = missing
                missing = []
                identity.auth = readAuth(settings["auth"], at: here + "/auth")
                identity.unsetAuth = missing
                missing = outer
            }
            if let headerObject = settings["headers"] {
                for header in readHeaders(headerObject, at: here + "/headers") {
                    identity.headers.removeAll { sameHeaderName($0.name, header.name) }
                    identity.headers.append(header)
                }
                identity.headerSources.insert(headerObject.objectValue ?? [:], at: 0)
            }
            let missingHere = identity.unsetAuth + unsetRequiredHeaders(requiredHeaders, of: identity)
            if !missingHere.isEmpty {
                warning(here, "credentials not configured: set \(missingHere.joined(separator: ", ")) (requests for this account get 503)")
            }
            accounts.append(AccountSettings(name: name, identity: identity, missing: missingHere))
        }
        return accounts
    }

    /// Vendor ids and account names: lower-case letters, digits, `-`, `_`.
    func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { isASCIIDigit($0) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }

    private func sameHeaderName(_ lhs: String, _ rhs: String) -> Bool {
        lhs.lowercased() == rhs.lowercased()
    }
}
