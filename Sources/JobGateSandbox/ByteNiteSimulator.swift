import JobGateHTTP
import JobGateJSON
import JobGatePosix

/// ByteNite: an API key exchanged at `/v1/auth/access_token` for an hourly token sent raw as `Authorization`;
/// updates are four `PATCH /v1/customer/jobs/{jobId}/{part}` calls, allowed only in JOB_STATE_NEW; errors are
/// gRPC-style rpcStatus bodies. Each part endpoint replaces its part whole. Answers follow the vendor's response
/// schema (openapi/bytenite.json): `numUnitsEstimation` is an int64 as a JSON string, the config's timeouts integers.
final class ByteNiteSimulator: VendorSimulator {
    static let apiKey = "sandbox-bytenite-key-c47a"
    static let staticToken = "sandbox-bytenite-static-token"
    private var tokenLifetime: TokenLifetime
    private var tokens = IssuedTokens()
    private var jobs: [String: JSONObject] = [:]

    init(tokenTTL: Int) {
        tokenLifetime = TokenLifetime(seconds: tokenTTL)
        reset()
    }

    func reset() {
        tokens.removeAll()
        tokenLifetime.reset()
        jobs = [:]
        for (id, state) in [("7c1f7a9e-1b2c-4d5e-8f90-123456789abc", "JOB_STATE_NEW"),
                            ("0d9e8f7a-6b5c-4d3e-2f10-fedcba987654", "JOB_STATE_STARTED")] {
            jobs[id] = ["id": .string(id), "templateId": "img-gen-diffusers", "name": "Sandbox job", "state": .string(state),
                        "config": ["taskTimeout": 3600, "jobTimeout": 7200, "isTestJob": false],
                        "params": ["app": ["prompt": "a lighthouse"]], "dataSource": ["dataSourceDescriptor": "bypass"],
                        "dataDestination": ["dataSourceDescriptor": "bucket"], "numUnitsEstimation": "12",
                        "createdAt": "2026-01-05T09:00:00Z"]
        }
    }

    private func status(_ http: Int, code: Int64, _ message: String) -> HTTPResponse {
        jsonResponse(http, ["code": .number(JSONNumber(code)), "message": .string(message), "details": []])
    }

    func apply(settings: JSONObject) -> String? { tokenLifetime.apply(settings) }

    func handle(_ request: SimulatedRequest) -> HTTPResponse {
        if request.path == "/v1/auth/access_token" {
            guard request.method == "POST", request.json?.objectValue?["apiKey"]?.stringValue == Self.apiKey else {
                return status(401, code: 16, "invalid api key")
            }
            let token = tokens.issue(prefix: "bn", ttlSeconds: tokenLifetime.seconds)
            return jsonResponse(200, ["token": .string(token), "expiresIn": .string(String(tokenLifetime.seconds)), "scope": "customer"])
        }
        guard let rest = request.segments(after: ["v1", "customer", "jobs"]), (1...2).contains(rest.count) else {
            return status(404, code: 5, "Not Found")
        }
        guard let token = request.headers["authorization"], tokens.isValid(token) || token == Self.staticToken else {
            return status(401, code: 16, "request unauthenticated")
        }
        let id = String(rest[0])
        guard var job = jobs[id] else { return status(404, code: 5, "job \(id) not found") }
        if rest.count == 1 {
            guard request.method == "GET" else { return status(405, code: 12, "method not allowed") }
            return answer(job)
        }
        guard request.method == "PATCH" else { return status(405, code: 12, "method not allowed") }
        guard job["state"]?.stringValue == "JOB_STATE_NEW" else {
            return status(400, code: 9, "job is not in JOB_STATE_NEW and cannot be updated")
        }
        guard let body = request.json else { return status(400, code: 3, "invalid JSON body") }
        switch rest[1] {
        case "jobname":
            guard let name = body.stringValue else { return status(400, code: 3, "the body must be a JSON string") }
            job["name"] = .string(name)
        // Each part is a protobuf message read from JSON without a field mask: the body replaces the whole part,
        // and a member it leaves out (or sends as null) is reset, as the vendor warns.
        case "params":
            guard let params = body.objectValue else { return status(400, code: 3, "params must be an object") }
            var part = JSONObject()
            for (key, isText) in [("preset", true), ("partitioner", false), ("assembler", false), ("app", false)] {
                guard let value = params[key], !value.isNull else { continue }
                guard isText ? value.stringValue != nil : value.objectValue != nil else {
                    return status(400, code: 3, "params.\(key) must be \(isText ? "a string" : "an object")")
                }
                part[key] = value
            }
            job["params"] = .object(part)
        case "configs":
            guard let configs = body.objectValue else { return status(400, code: 3, "configs must be an object") }
            // Scalars have no presence in proto3: left out, they read back as their zero values.
            var config = JSONObject()
            for key in ["taskTimeout", "jobTimeout"] {
                let value = configs[key] ?? .null
                guard let seconds = value.isNull ? 0 : value.numberValue?.int64Value ?? value.stringValue.flatMap({ Int64($0) }) else {
                    return status(400, code: 3, "\(key) must be an int64")
                }
                config[key] = .number(JSONNumber(seconds))
            }
            let test = configs["isTestJob"] ?? .null
            guard test.isNull || test.boolValue != nil else { return status(400, code: 3, "isTestJob must be a boolean") }
            config["isTestJob"] = .bool(test.boolValue ?? false)
            job["config"] = .object(config)
        case "datasource":
            guard let sources = body.objectValue else { return status(400, code: 3, "datasource must be an object") }
            for key in ["dataSource", "dataDestination"] {
                guard let value = sources[key], !value.isNull else {
                    job[key] = nil
                    continue
                }
                guard value.objectValue != nil else { return status(400, code: 3, "\(key) must be an object") }
                job[key] = value
            }
        default:
            return status(404, code: 5, "Not Found")
        }
        jobs[id] = job
        return answer(job)
    }

    private func answer(_ job: JSONObject) -> HTTPResponse {
        jsonResponse(200, ["job": .object(job), "templateInfo": ["id": "img-gen-diffusers", "owner": "bytenite",
                                                                 "description": "Image generation", "app": "diffusers"]])
    }
}
