import JobGateHTTP
import JobGateJSON
import JobGateCore
import JobGatePosix

/// `jobgate plan {vendor}:{id} --patch JSON|-`: the calls a PATCH would make, offline, rendered exactly as
/// the gateway's dry run renders them (`PlanRendering`), from the same gates (`UpdatePlanning`).
enum PlanCommand {
    static let help = """
    usage: jobgate plan {vendor}:{id} --patch JSON|- [--account NAME] [--mappings DIR]

    Prints, without calling the vendor, the upstream calls `PATCH /jobs/{vendor}:{id}` would make: method,
    URL, headers (credentials redacted) and body, as JSON (the `calls` of the gateway's ?dryRun=true).
      --patch JSON    the merge patch; `-` reads it from standard input
      --account NAME  plan for one of the vendor's accounts
      --mappings DIR  the mapping folder (default: JOBGATE_MAPPINGS or ./Mappings)
    Exit 0 with the plan; exit 1 with a problem+json on standard output when the gateway would refuse the
    request (invalid patch, bad id, unknown vendor or account); exit 2 on a usage error.
    """

    static func main(arguments: [String], defaultDirectory: String, environment: [String: String]) -> Int32 {
        let parsed: CommandArguments
        do {
            parsed = try CommandArguments(arguments, flags: ["--patch", "--account", "--mappings"], maxPositionals: 1)
        } catch {
            printError("jobgate plan: \(error)\n\n\(help)")
            return 2
        }
        if parsed.wantsHelp {
            print(help)
            return 0
        }
        guard let reference = parsed.positionals.first, let patchText = parsed["--patch"] else {
            printError("jobgate plan: needs a job id ({vendor}:{id}) and --patch\n\n\(help)")
            return 2
        }
        guard let patchBytes = patchText == "-" ? FileSystem.readFile("/dev/stdin", limit: 1_048_576) : Array(patchText.utf8) else {
            printError("jobgate plan: cannot read the patch from standard input")
            return 2
        }
        let directory = parsed["--mappings"] ?? defaultDirectory
        let mappings: MappingSet
        switch MappingFolder.load(directory: directory, environment: environment) {
        case .failure(let rejected):
            for issue in rejected.issues { printError("jobgate plan: \(issue)") }
            return 1
        case .success(let loaded):
            mappings = loaded
        }
        do throws(Problem) {
            print(text(try plan(reference: reference, patch: patchBytes, account: parsed["--account"], mappings: mappings)))
            return 0
        } catch {
            print(text(error.json(instance: "/jobs/" + reference)))
            return 1
        }
    }

    /// The plan document, or the problem the gateway would answer the same request with.
    static func plan(reference: String, patch: [UInt8], account: String?, mappings: MappingSet) throws(Problem) -> JSONValue {
        let target = try JobReference.parse(rawID: Substring(reference), vendorHeader: nil, known: mappings.vendors).get()
        guard let vendorMapping = mappings.vendors[target.vendor] else { throw .badRequest("Unknown vendor '\(target.vendor)'.") }
        let mapping = try AccountSelection.mapping(for: account, of: vendorMapping).get()
        let parsed: JSONValue
        do {
            parsed = try JSON.parse(patch)
        } catch {
            throw .badRequest("The patch is not valid JSON: \(error).")
        }
        guard let object = parsed.objectValue else { throw .badRequest("The patch must be a JSON object (a merge patch of a Job).") }
        let planned = try UpdatePlanning.calls(for: object, vendorJobID: target.vendorJobID, mapping: mapping, returnMinimal: false)
        return .object(PlanRendering.document(planned.calls, vendorJobID: target.vendorJobID, mapping: mapping,
                                              redactor: mappings.redactor))
    }

    private static func text(_ value: JSONValue) -> String {
        String(decoding: JSON.serialize(value), as: UTF8.self)
    }
}
