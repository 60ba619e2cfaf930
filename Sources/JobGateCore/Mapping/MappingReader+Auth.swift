import JobGateJSON

/// The `auth` section: which scheme, which credentials, and which of them are unset.
extension MappingReader {
    mutating func readAuth(_ value: JSONValue?, at path: String) -> AuthScheme {
        guard let value else { return .none }
        guard let object = objectValue(value, at: path) else { return .none }
        let scheme = string(object, "scheme", at: path) ?? ""
        switch scheme {
        case "none":
            allowOnly(["scheme"], in: object, at: path)
            return .none
        case "headers":
            allowOnly(["scheme", "headers"], in: object, at: path)
            var headers: [(name: String, value: Secret)] = []
            guard let headerObject = objectValue(object["headers"], at: path + "/headers") else { return .none }
            var unset: [String] = []
            for (name, _) in headerObject {
                let secret = credential(headerObject, name, at: "\(path)/headers/\(name)", unset: &unset)
                if !isToken(name) { report("\(path)/headers/\(name)", "not a valid header name") }
                headers.append((name, secret))
            }
            missing += unset
            return .headers(headers)
        case "bearer":
            allowOnly(["scheme", "token", "optional"], in: object, at: path)
            var unset: [String] = []
            let token = credential(object, "token", at: path + "/token", unset: &unset)
            if object["optional"]?.boolValue != true { missing += unset }
            return .bearer(token)
        case "basic":
            allowOnly(["scheme", "username", "password"], in: object, at: path)
            var unset: [String] = []
            let username = credential(object, "username", at: path + "/username", unset: &unset)
            let password = credential(object, "password", at: path + "/password", unset: &unset)
            missing += Array(Set(unset)).sorted()
            return .basic(username: username, password: password)
        case "queryKey":
            allowOnly(["scheme", "name", "value"], in: object, at: path)
            var unset: [String] = []
            let name = string(object, "name", at: path) ?? "key"
            let value = credential(object, "value", at: path + "/value", unset: &unset)
            missing += unset
            warning(path, "queryKey puts the credential in the URL; prefer a header scheme")
            return .queryKey(name: name, value: value)
        case "oauth2ClientCredentials":
            allowOnly(["scheme", "staticToken", "tokenUrl", "clientId", "clientSecret", "header", "prefix"], in: object, at: path)
            var unsetStatic: [String] = [], unsetExchange: [String] = []
            let staticToken = credential(object, "staticToken", at: path + "/staticToken", unset: &unsetStatic, required: false)
            let tokenURL = interpolated(object, "tokenUrl", at: path + "/tokenUrl", required: true) ?? ""
            if !tokenURL.isEmpty { checkURL(tokenURL, at: path + "/tokenUrl") }
            let clientID = credential(object, "clientId", at: path + "/clientId", unset: &unsetExchange)
            let clientSecret = credential(object, "clientSecret", at: path + "/clientSecret", unset: &unsetExchange)
            if staticToken.isEmpty && !unsetExchange.isEmpty { missing += unsetStatic + unsetExchange }
            return .token(TokenSource(
                staticToken: staticToken.isEmpty ? nil : staticToken,
                exchange: .clientCredentials(url: tokenURL, clientID: clientID, clientSecret: clientSecret),
                header: string(object, "header", at: path) ?? "Authorization",
                prefix: object["prefix"]?.stringValue ?? "Bearer "))
        case "tokenExchange":
            allowOnly(["scheme", "staticToken", "url", "body", "tokenPointer", "expiresInPointer", "expiry", "renewUrl", "header", "prefix"],
                      in: object, at: path)
            var unsetStatic: [String] = [], unsetExchange: [String] = []
            let staticToken = credential(object, "staticToken", at: path + "/staticToken", unset: &unsetStatic, required: false)
            let url = interpolated(object, "url", at: path + "/url", required: true) ?? ""
            if !url.isEmpty { checkURL(url, at: path + "/url") }
            var body: [(name: String, value: Secret)] = []
            if let bodyObject = objectValue(object["body"], at: path + "/body") {
                for (name, _) in bodyObject {
                    body.append((name, credential(bodyObject, name, at: "\(path)/body/\(name)", unset: &unsetExchange)))
                }
            }
            let tokenPointer = pointer(object, "tokenPointer", at: path) ?? JSONPointer("/token")!
            let expiresPointer = pointer(object, "expiresInPointer", at: path)
            var lifetime = JSONTokenExchange.Lifetime.expiresIn(expiresPointer)
            switch string(object, "expiry", at: path) {
            case nil, "expiresIn": break
            case "jwt":
                lifetime = .jwtExpiry
                if expiresPointer != nil { report(path + "/expiresInPointer", "does not apply with \"expiry\": \"jwt\"") }
            default: report(path + "/expiry", "must be expiresIn or jwt")
            }
            let renewURL = interpolated(object, "renewUrl", at: path + "/renewUrl", required: false)
            if let renewURL { checkURL(renewURL, at: path + "/renewUrl") }
            if staticToken.isEmpty && !unsetExchange.isEmpty { missing += unsetStatic + unsetExchange }
            return .token(TokenSource(
                staticToken: staticToken.isEmpty ? nil : staticToken,
                exchange: .jsonExchange(JSONTokenExchange(url: url, body: body, tokenPointer: tokenPointer,
                                                          lifetime: lifetime, renewURL: renewURL)),
                header: string(object, "header", at: path) ?? "Authorization",
                prefix: object["prefix"]?.stringValue ?? ""))
        default:
            report(path + "/scheme", "must be one of none, headers, bearer, basic, queryKey, oauth2ClientCredentials, tokenExchange")
            return .none
        }
    }

    /// One window as an object, or several as an array of them.
}
