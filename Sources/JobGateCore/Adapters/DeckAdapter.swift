/// Deck replaces the whole job definition on update and documents no way to read one, so a patch cannot be
/// completed by merging with the current state: it must carry every required member itself. We never invent
/// or guess the rest (CONTRACT.md §3).
struct DeckAdapter: VendorAdapter {
    static let requiredFields: [PatchField] = [
        .canonical(.name), .vendor("code"), .vendor("input_schema"), .vendor("output_schema"),
    ]
    /// Nullable, but an omitted member is cleared like any other: the caller must say which it means.
    static let presentFields: [PatchField] = [.vendor("prompts")]

    func validate(_ patch: ValidatedPatch, mapping: VendorMapping) -> FieldErrors {
        var errors = FieldErrors()
        for field in Self.requiredFields where !patch.contains(field) || patch[field]?.isNull == true {
            errors.add(field.description, "required: deck replaces the whole job definition, so every update must carry name, vendorFields.code, vendorFields.input_schema and vendorFields.output_schema")
        }
        for field in Self.presentFields where !patch.contains(field) {
            errors.add(field.description, "required (a value or null): deck replaces the whole job definition and clears an omitted \(field.description)")
        }
        return errors
    }
}
