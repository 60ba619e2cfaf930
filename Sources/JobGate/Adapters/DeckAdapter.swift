/// Deck replaces the whole job definition on update and documents no way to read one, so a patch cannot be
/// completed by merging with the current state: it must carry every required member itself. We never invent
/// or guess the rest (CONTRACT.md §3).
struct DeckAdapter: VendorAdapter {
    static let requiredFields: [PatchField] = [
        .canonical(.name), .vendor("code"), .vendor("input_schema"), .vendor("output_schema"),
    ]

    func validate(_ patch: ValidatedPatch, mapping: VendorMapping) -> FieldErrors {
        var errors = FieldErrors()
        for field in Self.requiredFields where !patch.contains(field) || patch[field]?.isNull == true {
            errors.add(field.description, "required: deck replaces the whole job definition, so every update must carry name, vendorFields.code, vendorFields.input_schema and vendorFields.output_schema")
        }
        return errors
    }
}
