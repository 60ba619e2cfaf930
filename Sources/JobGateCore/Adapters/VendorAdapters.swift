/// What a mapping file cannot say about a vendor lives in a small Swift adapter, named by the mapping's
/// `adapter` key. Vendors whose rules fit the mapping format (bigchange, shopplanr, lilt, bytenite) need none.
protocol VendorAdapter: Sendable {
    /// Rules on a patch that already passed the mapping's checks.
    func validate(_ patch: ValidatedPatch, mapping: VendorMapping) -> FieldErrors
}

enum VendorAdapters {
    private static let all: [String: any VendorAdapter] = ["deck": DeckAdapter()]

    static var names: [String] { all.keys.sorted() }

    static func named(_ name: String) -> (any VendorAdapter)? { all[name] }
}
