import JobGateJSON

/// An example's answers played through an update's calls the way the gateway plays a vendor's: in plan
/// order, stopping at the first failure, the merge-base read feeding the merged bodies, a failed read-back
/// after landed writes still answering the job. No clock, no retries, no tokens: one answer per call.
struct ExampleReplay {
    let calls: [PlannedCall]
    let answers: [MappingExample.Answer]
    let patch: ValidatedPatch
    let vendorJobID: String
    let mapping: VendorMapping

    enum Outcome {
        case job(JSONValue)
        case problem(Problem)
        /// The answers ran out before the calls did: index of the first call without one.
        case unanswered(Int)
    }

    private struct Step {
        let call: PlannedCall
        let status: Int
        let applied: Bool
    }

    /// The job as the merge-base read answered it, when the plan has one and its answer holds a job.
    var currentJob: JSONValue? {
        guard let index = calls.firstIndex(where: { $0.purpose == .mergeBase }), index < answers.count,
              (200..<300).contains(answers[index].status),
              let body = try? JSON.parse(answers[index].body) else { return nil }
        return mapping.response.job.value(in: body).flatMap { $0.objectValue == nil ? nil : $0 }
    }

    func run() -> Outcome {
        var steps: [Step] = []
        var lastJSON: JSONValue?
        for (index, call) in calls.enumerated() {
            guard index < answers.count else { return .unanswered(index) }
            let answer = answers[index]
            let succeeded = (200..<300).contains(answer.status)
            steps.append(Step(call: call, status: answer.status, applied: succeeded && call.purpose == .write))
            guard succeeded else {
                let summary = Normalizer.summarize(answer, mapping: mapping, redactor: Redactor(mapping.secrets), now: 0)
                return fail(UpstreamProblems.problem(for: summary, vendor: mapping.vendor), in: call, steps: steps, lastJSON: lastJSON)
            }
            let body = answer.body.isEmpty ? nil : try? JSON.parse(answer.body, limits: JSONLimits(maxDepth: 64))
            if !answer.body.isEmpty && body == nil || call.purpose == .mergeBase && currentJob == nil {
                return fail(UpstreamProblems.malformedBody(vendor: mapping.vendor), in: call, steps: steps, lastJSON: lastJSON)
            }
            if call.purpose != .mergeBase, let body { lastJSON = body }
        }
        guard let lastJSON, let job = Normalizer.job(from: lastJSON, vendorJobID: vendorJobID, mapping: mapping) else {
            return .problem(UpstreamProblems.malformedBody(vendor: mapping.vendor))
        }
        return .job(job)
    }

    private func fail(_ problem: Problem, in call: PlannedCall, steps: [Step], lastJSON: JSONValue?) -> Outcome {
        if call.purpose == .readBack && steps.contains(where: \.applied) {
            let known = lastJSON.flatMap { Normalizer.job(from: $0, vendorJobID: vendorJobID, mapping: mapping) }
            return .job(Normalizer.withReadBackFailure(
                known ?? Normalizer.job(from: patch, vendorJobID: vendorJobID, mapping: mapping), problem))
        }
        guard calls.count > 1 else { return .problem(problem) }
        // As the gateway reports a multi-call update that failed part-way (CONTRACT §5).
        var problem = problem
        problem.extensions["steps"] = .array(steps.map { step in
            ["call": .string(step.call.name), "method": .string(step.call.method),
             "status": .number(JSONNumber(Int64(step.status))), "applied": .bool(step.applied)]
        })
        problem.extensions["applied"] = .array(steps.filter(\.applied).map { .string($0.call.name) })
        if let last = steps.last, !(200..<300).contains(last.status) { problem.extensions["failed"] = .string(call.name) }
        if steps.contains(where: \.applied) {
            problem.detail += " Some calls were applied before the failure: see 'applied'."
        }
        return .problem(problem)
    }
}
