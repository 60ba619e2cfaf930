import JobGateCore
import JobGatePosix

/// Which vendor and which of its jobs a request targets.
struct JobReference: Equatable {
    let vendor: String
    let vendorJobID: String

    static let maxIDBytes = 256

    private static var notEncoded: Problem { .badRequest("The job id is not a valid percent-encoded path segment.") }

    /// `{vendor}:{vendorJobId}` (the colon may be percent-encoded), or a bare id with `Job-Vendor`.
    static func parse(rawID: Substring, vendorHeader: String?, known: [String: VendorMapping]) -> Result<JobReference, Problem> {
        guard rawID.utf8.count <= maxIDBytes * 3 else { return .failure(notEncoded) }
        // Read as bytes: a Substring's own byte searches go through the standard library's unspecialized code.
        var id = rawID
        return id.withUTF8 { raw in
            // The parser admits only visible ASCII in a target, so an id without "%" is its own decoding.
            guard raw.contains(0x25) else { return reference(raw, vendorHeader: vendorHeader, known: known) }
            guard var decoded = percentDecoded(rawID, plusIsSpace: false) else { return .failure(notEncoded) }
            return decoded.withUTF8 { reference($0, vendorHeader: vendorHeader, known: known) }
        }
    }

    /// The reference in a decoded id. Split at the first colon, an ASCII byte: both sides are whole UTF-8.
    private static func reference(_ id: UnsafeBufferPointer<UInt8>, vendorHeader: String?,
                                  known: [String: VendorMapping]) -> Result<JobReference, Problem> {
        guard !id.isEmpty, id.count <= maxIDBytes else {
            return .failure(.badRequest("The job id must be 1 to \(maxIDBytes) bytes."))
        }
        guard !id.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0x2F || $0 == 0x5C }) else {
            return .failure(.badRequest("The job id contains a control character or a slash."))
        }
        func text(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: bytes), as: UTF8.self)
        }
        let colon = id.firstIndex(of: 0x3A)
        let prefix = colon.map { text(id[..<$0]) }
        let header = vendorHeader?.trimmingASCIIWhitespace()
        let vendor: String
        let vendorJobID: String
        if let header, !header.isEmpty {
            if let prefix, let colon, prefix == header {
                vendorJobID = text(id[(colon + 1)...])
            } else if let prefix, known[prefix] != nil {
                return .failure(.badRequest("Job-Vendor '\(header.prefix(64))' disagrees with the id's vendor '\(prefix)'."))
            } else {
                vendorJobID = text(id[...])
            }
            vendor = header
        } else {
            guard let prefix, let colon else {
                return .failure(.badRequest("The id must be '{vendor}:{vendorJobId}', or send the Job-Vendor header."))
            }
            vendor = prefix
            vendorJobID = text(id[(colon + 1)...])
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
