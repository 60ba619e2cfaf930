/// "Did you mean …": the known name closest to a mistyped one, for the command line's errors.
public enum Spelling {
    /// The candidate within a few edits of `name` (Levenshtein distance, at most a third of its length and
    /// never more than 3), nearest first; nil when nothing is close enough to be a plausible typo.
    public static func closest(to name: String, among candidates: some Sequence<String>) -> String? {
        let limit = min(3, max(1, name.count / 3))
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(Array(name.lowercased()), Array(candidate.lowercased()))
            if distance <= limit && distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// " (did you mean 'x'?)" or nothing, to end an error message with.
    public static func suggestion(for name: String, among candidates: some Sequence<String>) -> String {
        closest(to: name, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for (i, charA) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, charB) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (charA == charB ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
