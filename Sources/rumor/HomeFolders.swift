#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `rumor start` does around the home folder that the node's own files (`NodeFiles`) do not.
enum HomeFolders {
    /// Creates the missing folders above HOME, each with mode 0700 (`mkdir -p`), so that the first `start`
    /// can create HOME wherever it is asked to. HOME itself is left to the node, which creates it the same way.
    /// Folders that exist are not touched.
    /// - Throws: `CLIFailure` (exit 1) naming the folder that could not be created.
    static func createParents(of home: String) throws {
        let components = home.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var path = home.hasPrefix("/") ? "" : "."
        for component in components {
            path += "/" + component
            var info = stat()
            if stat(path, &info) == 0 { continue }
            guard errno == ENOENT else { break }
            if mkdir(path, 0o700) != 0, errno != EEXIST {
                throw CLIFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))", code: ExitStatus.failure)
            }
        }
    }
}
