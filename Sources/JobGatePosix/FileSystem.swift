#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small file-system reads for configuration, without pulling Foundation (and its ICU data) into the process.
public enum FileSystem {
    public static func readFile(_ path: String, limit: Int = 16 * 1024 * 1024) -> [UInt8]? {
        let fd = FileDescriptor(open(path, O_RDONLY | O_CLOEXEC))
        guard fd.isOpen else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return nil
    }

    /// Names in a directory (no "." or ".."), or nil if it cannot be read.
    public static func listDirectory(_ path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }
}
