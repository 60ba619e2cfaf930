#if canImport(Glibc)
import Glibc
#endif
import CMimalloc

/// The executable links mimalloc (Debian's libmimalloc2.0), whose shared library defines malloc and free: listed
/// before libc, it serves every allocation in the process, the Swift runtime's and libcurl's alike. Under load
/// glibc's allocator took the slow path for most of a request's ~50 allocations, locking its arena for each: its
/// per-thread cache holds seven blocks of a size, and 64 requests in flight free far more than that.
enum Allocator {
    /// "mimalloc 2.0.9", or what runs instead when the override did not take (a link order that put libc first).
    static var description: String {
        let version = Int(mi_version())
        let name = "mimalloc \(version / 100).\(version / 10 % 10).\(version % 10)"
        guard let block = malloc(16) else { return "unknown (malloc failed)" }
        defer { free(block) }
        return mi_is_in_heap_region(block) ? name : "glibc malloc (\(name) is linked but does not serve malloc)"
    }
}
