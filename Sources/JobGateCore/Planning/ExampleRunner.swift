import JobGateJSON

/// One way a mapping does not do what its example says: where in the file the example says it, what it
/// expects there and what the mapping actually gives.
public struct ExampleDifference: Sendable, Equatable {
    public let example: String
    /// A JSON pointer into the mapping file, at the example's expected value.
    public let pointer: String
    public let expected: String
    public let actual: String

    public var message: String { "example '\(example)': expected \(expected), actual \(actual)" }
}

/// Runs a mapping's examples (`jobgate check`): plans each patch with the gateway's own planner and
/// compares the calls, then plays the example's answers through the normalizer and compares the job or
/// problem the gateway would answer. Pure: nothing is sent.
public enum ExampleRunner {
    /// Every example of a mapping, as issues of its file (one per difference).
    public static func issues(for mapping: VendorMapping, file: String) -> [MappingIssue] {
        mapping.examples.flatMap { run($0, mapping: mapping) }.map { difference in
            MappingIssue(file: file, path: difference.pointer, message: difference.message, severity: .error)
        }
    }

    public static func run(_ example: MappingExample, mapping vendorMapping: VendorMapping) -> [ExampleDifference] {
        var differences: [ExampleDifference] = []
        func report(_ pointer: String, expected: String, actual: String) {
            differences.append(ExampleDifference(example: example.name, pointer: example.pointer + pointer,
                                                 expected: expected, actual: actual))
        }
        func compare(_ expected: JSONValue, _ actual: JSONValue, at pointer: String, membersGiven: Bool) {
            for found in JSONComparison.differences(expected: expected, actual: actual, at: pointer, membersGiven: membersGiven) {
                report(found.pointer, expected: JSONComparison.text(found.expected), actual: JSONComparison.text(found.actual))
            }
        }

        guard let vendorJobID = jobID(of: example, mapping: vendorMapping) else {
            report("/calls/0/path", expected: example.calls.first.map(describe) ?? "",
                   actual: "no call of the mapping with this method and path shape")
            return differences
        }
        let mapping: VendorMapping
        let planned: (patch: ValidatedPatch, calls: [PlannedCall])
        do throws(Problem) {
            mapping = try AccountSelection.mapping(for: example.account, of: vendorMapping).get()
            planned = try UpdatePlanning.calls(for: example.patch, vendorJobID: vendorJobID, mapping: mapping, returnMinimal: false)
        } catch {
            let problem = error.json()
            switch example.expectation {
            case .problem(let expected): compare(.object(expected), problem, at: "/problem", membersGiven: true)
            case .job, .callsOnly: report("", expected: "calls", actual: "the patch is refused: \(JSONComparison.text(problem))")
            }
            if !example.calls.isEmpty { report("/calls", expected: "\(example.calls.count) calls", actual: "none") }
            return differences
        }

        let replay = example.answers.map {
            ExampleReplay(calls: planned.calls, answers: $0, patch: planned.patch, vendorJobID: vendorJobID, mapping: mapping)
        }
        let currentJob = replay?.currentJob
        for index in 0..<max(example.calls.count, planned.calls.count) {
            let here = "/calls/\(index)"
            guard index < example.calls.count, index < planned.calls.count else {
                let extra = index < planned.calls.count ? planned.calls[index] : nil
                report(here, expected: example.calls.indices.contains(index) ? describe(example.calls[index]) : "no call",
                       actual: extra.map { "\($0.method) \(relativePath($0.url, mapping))" } ?? "no call")
                continue
            }
            let expected = example.calls[index], call = planned.calls[index]
            if expected.method != call.method { report(here + "/method", expected: expected.method, actual: call.method) }
            let path = relativePath(call.url, mapping)
            if expected.path != path { report(here + "/path", expected: expected.path, actual: path) }
            // A merged part is compared as it is sent: merged into the job the example's read answered.
            let body = call.mergesWithRead ? currentJob.map { Planner.merged(call, currentJob: $0, mapping: mapping) } ?? call.body : call.body
            switch (expected.body, body) {
            case (nil, nil): break
            case (let expectedBody?, let actualBody?): compare(expectedBody, actualBody, at: here + "/body", membersGiven: false)
            default: report(here + "/body", expected: JSONComparison.text(expected.body), actual: JSONComparison.text(body))
            }
        }

        guard let outcome = replay?.run() else { return differences }
        switch (outcome, example.expectation) {
        case (.unanswered(let index), _):
            report("/answers", expected: "an answer for call \(index)", actual: "\(example.answers?.count ?? 0) answers")
        case (.job(let job), .job(let expected)):
            compare(expected, job, at: "/job", membersGiven: false)
        case (.problem(let problem), .problem(let expected)):
            compare(.object(expected), problem.json(), at: "/problem", membersGiven: true)
        case (.job(let job), .problem):
            report("/problem", expected: "a problem", actual: "a job: \(JSONComparison.text(job))")
        case (.problem(let problem), .job):
            report("/job", expected: "a job", actual: "a problem: \(JSONComparison.text(problem.json()))")
        case (_, .callsOnly):
            break
        }
        return differences
    }

    private static func describe(_ call: MappingExample.ExpectedCall) -> String { "\(call.method) \(call.path)" }

    private static func relativePath(_ url: String, _ mapping: VendorMapping) -> String {
        var base = mapping.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return url.hasPrefix(base) ? String(url.dropFirst(base.count)) : url
    }

    /// The vendor's job id an example is about, read from its first call's path through the call template
    /// it matches (`/v2/jobs/241` against `/v2/jobs/{id}`), so examples need no member for it. An example
    /// that expects no call (a refused patch) gets an id its vendor accepts.
    static func jobID(of example: MappingExample, mapping: VendorMapping) -> String? {
        guard let first = example.calls.first else {
            return mapping.jobID == .uuid ? "00000000-0000-4000-8000-000000000000" : "1"
        }
        for template in mapping.calls + [mapping.read].compactMap({ $0 }) where template.method == first.method {
            let parts = template.pathParts
            guard let prefix = parts.first, let suffix = parts.last, first.path.count > prefix.count + suffix.count,
                  first.path.hasPrefix(prefix), first.path.hasSuffix(suffix) else { continue }
            let id = String(first.path.dropFirst(prefix.count).dropLast(suffix.count))
            if parts.joined(separator: id) == first.path { return id }
        }
        return nil
    }
}
