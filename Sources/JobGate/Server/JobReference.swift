import JobGateCore
import JobGatePosix

/// Which vendor and which of its jobs a request targets.
struct JobReference: Equatable {
    let vendor: String
    let vendorJobID: String

    static let maxIDBytes = 256

    /// `{vendor}:{vendorJobId}` (the colon may be percent-encoded), or a bare id with `Job-Vendor`.
    static func parse(rawID: Substring, vendorHeader: String?, known: [String: VendorMapping]) -> Result<JobReference, Problem> {
        // The parser admits only visible ASCII in a target, so an id without "%" is its own decoding.
        let plain = firstByteOffset(in: rawID.utf8, where: { $0 == 0x25 }) == nil
        guard rawID.utf8.count <= maxIDBytes * 3,
              let decoded = plain ? String(rawID) : percentDecoded(rawID, plusIsSpace: false) else {
            return .failure(.badRequest("The job id is not a valid percent-encoded path segment."))
        }
        guard !decoded.isEmpty, decoded.utf8.count <= maxIDBytes else {
            return .failure(.badRequest("The job id must be 1 to \(maxIDBytes) bytes."))
        }
        guard firstByteOffset(in: decoded.utf8, where: { $0 < 0x20 || $0 == 0x7F || $0 == 0x2F || $0 == 0x5C }) == nil else {
            return .failure(.badRequest("The job id contains a control character or a slash."))
        }
        let colon = firstByteOffset(in: decoded.utf8, where: { $0 == 0x3A }).map { decoded.utf8.index(decoded.utf8.startIndex, offsetBy: $0) }
        let prefix = colon.map { String(decoded[..<$0]) }
        let header = vendorHeader?.trimmingASCIIWhitespace()
        let vendor: String
        let vendorJobID: String
        if let header, !header.isEmpty {
            if let prefix, let colon, prefix == header {
                vendorJobID = String(decoded[decoded.utf8.index(after: colon)...])
            } else if let prefix, known[prefix] != nil {
                return .failure(.badRequest("Job-Vendor '\(header.prefix(64))' disagrees with the id's vendor '\(prefix)'."))
            } else {
                vendorJobID = decoded
            }
            vendor = header
        } else {
            guard let prefix, let colon else {
                return .failure(.badRequest("The id must be '{vendor}:{vendorJobId}', or send the Job-Vendor header."))
            }
            vendor = prefix
            vendorJobID = String(decoded[decoded.utf8.index(after: colon)...])
        }
        guard known[vendor] != nil else {
            return .failure(.badRequest("Unknown vendor '\(vendor.prefix(64))' (known: \(known.keys.sorted().joined(separator: ", ")))."))
        }
        guard !vendorJobID.isEmpty, vendorJobID != ".", vendorJobID != ".." else {
            return .failure(.badRequest("The vendor job id is empty or a dot segment."))
        }
        return .success(JobReference(vendor: vendor, vendorJobID: vendorJobID))
    }
}
