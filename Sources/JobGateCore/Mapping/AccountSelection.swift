/// Which of a vendor's credential sets a request uses: the `Job-Account` header, `--account` of
/// `jobgate plan`, an example's `account`. Never a fallback: a name the mapping does not declare is refused,
/// so one account's credentials are never sent for another's request.
public enum AccountSelection {
    /// The mapping to call with: the top level without a name (or with `default`), otherwise the named
    /// account's; a 400 naming the declared accounts for any other name.
    public static func mapping(for account: String?, of mapping: VendorMapping) -> Result<VendorMapping, Problem> {
        guard let account, account != VendorMapping.defaultAccount else { return .success(mapping) }
        if let named = mapping.accounts[account] { return .success(named) }
        let declared = mapping.accounts.keys.sorted()
        let known = declared.isEmpty ? "it declares no accounts" : "accounts: \(declared.joined(separator: ", "))"
        var problem = Problem(.badRequest, status: 400, title: "Unknown account",
                              detail: "Vendor '\(mapping.vendor)' has no account '\(account.prefix(64))' (\(known)).")
        problem.extensions["vendor"] = .string(mapping.vendor)
        return .failure(problem)
    }
}
