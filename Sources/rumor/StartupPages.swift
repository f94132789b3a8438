#if canImport(Glibc)
import Glibc

/// Gives back the pages of code and read-only data that only start-up used (issue 7, Docs/PERFORMANCE.md).
///
/// Starting a node runs argument parsing, the dynamic loader's relocation and symbol lookups, the Swift
/// runtime's type lookups and the join, across the binary and its libraries; the kernel maps 64 KiB of
/// cached file pages around each page faulted in. An idle node runs a small part of that code, but every
/// page stays mapped, and counted in its RSS, until the process ends. `MADV_DONTNEED` on a private file
/// mapping unmaps its pages from this process only: they stay in the page cache for the other nodes, and any
/// page the node runs again is mapped back on its next use, with a minor fault.
///
/// Only mappings that are not writable and hold no anonymous (copied-on-write) page qualify: those pages
/// are exactly the file's, so dropping them loses nothing. A read-only mapping cannot gain a copied page
/// later, so the check cannot go stale. The relocated read-only data (RELRO) and every writable mapping are
/// left alone.
enum StartupPages {
    /// Not before this long after the ready line: the first exchanges with the mesh run start-up code too.
    static let earliest: Duration = .seconds(10)
    /// Once the member counts have not changed for this long, the join is over.
    static let settled: Duration = .seconds(5)
    /// At the latest, in a mesh whose membership keeps changing.
    static let latest: Duration = .seconds(60)
    /// Control requests served after that map their code back in; it goes again once the control socket has
    /// been quiet this long with no client connected (a `watch` holds its connection, and its pages, open).
    static let afterRequests: Duration = .seconds(3)

    /// Unmaps the clean read-only file mappings of this process and returns the bytes of address space
    /// advised, 0 when /proc/self/smaps cannot be read. Never fails otherwise: a mapping the kernel refuses
    /// (locked, for one) is kept.
    @discardableResult
    static func release() -> Int {
        var released = 0
        for range in cleanReadOnlyFileMappings() {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.start) else { continue }
            if madvise(start, range.length, MADV_DONTNEED) == 0 { released += range.length }
        }
        return released
    }

    struct Range {
        var start: UInt
        var length: Int
    }

    /// Reads /proc/self/smaps a line at a time (no copy of the whole file) and returns the private,
    /// non-writable mappings of a file whose `Anonymous:` count is 0.
    ///
    /// Into a buffer of our own with `fgets`, not `getline`: glibc's `getline` allocates the line inside libc,
    /// where AddressSanitizer does not see it, so freeing it from here aborted a sanitized node at its first
    /// release. A line longer than the buffer (a path near PATH_MAX) comes in pieces; a piece that is not the
    /// start of a line has no `START-END` range and no `Anonymous:` label, so it is skipped.
    static func cleanReadOnlyFileMappings() -> [Range] {
        guard let file = fopen("/proc/self/smaps", "re") else { return [] }
        defer { fclose(file) }
        var ranges: [Range] = []
        var candidate: Range?
        let capacity = 4_096
        let line = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { line.deallocate() }
        while fgets(line, Int32(capacity), file) != nil {
            let length = strlen(line)
            let bytes = UnsafeRawBufferPointer(start: line, count: length).bindMemory(to: UInt8.self)
            let fields = bytes.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            if fields.count >= 5, let range = parseRange(fields[0]) {
                let path = fields.count >= 6 ? fields[5] : bytes[bytes.endIndex...]
                let readOnly = fields[1].elementsEqual("r--p".utf8) || fields[1].elementsEqual("r-xp".utf8)
                candidate = readOnly && path.first == UInt8(ascii: "/") ? range : nil
            } else if let current = candidate, fields.count >= 2, fields[0].elementsEqual("Anonymous:".utf8) {
                if fields[1].elementsEqual("0".utf8) { ranges.append(current) }
                candidate = nil
            }
        }
        return ranges
    }

    /// `START-END` in hex, as a mapping's line begins; nil for anything else.
    static func parseRange(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Range? {
        guard let dash = text.firstIndex(of: UInt8(ascii: "-")),
              let start = UInt(String(decoding: text[..<dash], as: UTF8.self), radix: 16),
              let end = UInt(String(decoding: text[(dash + 1)...], as: UTF8.self), radix: 16),
              end > start, let length = Int(exactly: end - start) else { return nil }
        return Range(start: start, length: length)
    }
}
#else
enum StartupPages {
    static let earliest: Duration = .seconds(10)
    static let settled: Duration = .seconds(5)
    static let latest: Duration = .seconds(60)
    @discardableResult
    static func release() -> Int { 0 }
}
#endif
