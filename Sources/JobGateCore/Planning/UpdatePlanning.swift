import JobGateJSON

/// The pure gates of an update that decide its calls, each with the problem it answers: the gateway's
/// flow, `jobgate plan` and the example runner go through the same ones, so they cannot disagree.
public enum UpdatePlanning {
    /// Job id rule, validation and plan, in the order the gateway applies them.
    public static func calls(for patch: JSONObject, vendorJobID: String, mapping: VendorMapping,
                             returnMinimal: Bool) throws(Problem) -> (patch: ValidatedPatch, calls: [PlannedCall]) {
        try checkJobID(vendorJobID, mapping: mapping)
        let validated = try validate(patch, mapping: mapping)
        return (validated, try plan(validated, vendorJobID: vendorJobID, mapping: mapping, returnMinimal: returnMinimal))
    }

    /// `GET /jobs/{id}`: the vendor's read call alone, or 405 for a vendor that has none.
    public static func read(vendorJobID: String, mapping: VendorMapping) throws(Problem) -> [PlannedCall] {
        try checkReadable(mapping)
        try checkJobID(vendorJobID, mapping: mapping)
        return Planner.read(vendorJobID: vendorJobID, mapping: mapping, purpose: .read).map { [$0] } ?? []
    }

    public static func checkReadable(_ mapping: VendorMapping) throws(Problem) {
        guard !mapping.isReadable else { return }
        var problem = Problem.methodNotAllowed(allow: allowedMethods(mapping))
        problem.detail = "\(mapping.vendor) has no call to read a job; its jobs can only be updated (PATCH)."
        problem.extensions["vendor"] = .string(mapping.vendor)
        throw problem
    }

    /// The methods `/jobs/{id}` serves for a vendor, as an `Allow` header says them.
    public static func allowedMethods(_ mapping: VendorMapping) -> String {
        mapping.isReadable ? "GET, PATCH" : "PATCH"
    }

    public static func checkJobID(_ vendorJobID: String, mapping: VendorMapping) throws(Problem) {
        if let violation = mapping.jobID.violation(vendorJobID) {
            throw .badRequest("Job id '\(vendorJobID.prefix(64))' for \(mapping.vendor) \(violation).")
        }
    }

    public static func validate(_ patch: JSONObject, mapping: VendorMapping) throws(Problem) -> ValidatedPatch {
        switch PatchValidator.validate(patch, mapping: mapping) {
        case .failure(let errors):
            var problem = Problem(.validation, status: 422, title: "Invalid patch",
                                  detail: "The patch cannot be applied to a \(mapping.vendor) job; see 'errors'.")
            problem.extensions["vendor"] = .string(mapping.vendor)
            problem.extensions["errors"] = errors.json
            throw problem
        case .success(let validated):
            return validated
        }
    }

    public static func plan(_ patch: ValidatedPatch, vendorJobID: String, mapping: VendorMapping,
                            returnMinimal: Bool) throws(Problem) -> [PlannedCall] {
        guard let calls = Planner.update(patch, vendorJobID: vendorJobID, mapping: mapping, returnMinimal: returnMinimal) else {
            var problem = Problem(.validation, status: 422, title: "Nothing to update",
                                  detail: "The patch sets no field, and \(mapping.vendor) has no read call to answer with the current job.")
            problem.extensions["vendor"] = .string(mapping.vendor)
            throw problem
        }
        return calls
    }
}
