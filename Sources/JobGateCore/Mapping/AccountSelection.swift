/// Which of a vendor's credential sets an update uses: `--account` of `jobgate plan`, an example's
/// `account`, and later the `Job-Account` header. Accounts (CONTRACT §6) are not built yet, so no name
/// resolves; this is the one place that changes when they are.
public enum AccountSelection {
    /// The mapping to plan with: the vendor's own without a name, otherwise the named account's.
    public static func mapping(for account: String?, of mapping: VendorMapping) -> Result<VendorMapping, Problem> {
        guard let account else { return .success(mapping) }
        var problem = Problem(.badRequest, status: 400, title: "Unknown account",
                              detail: "Vendor '\(mapping.vendor)' has no account '\(account.prefix(64))' (it declares no accounts).")
        problem.extensions["vendor"] = .string(mapping.vendor)
        return .failure(problem)
    }
}
