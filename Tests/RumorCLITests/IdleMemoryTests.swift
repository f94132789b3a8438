#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// An idle node gives back the pages of code that only start-up ran, and again those a burst of control requests
/// (`rumor status`, `peers`, …) mapped back in, once its control socket has been quiet a few seconds
/// (Docs/PERFORMANCE.md, "RSS"). Without the second release a node asked its status once sat about 2.5 MiB
/// higher for good.
@Suite("rumor start: idle memory", .timeLimit(.minutes(1)))
struct IdleMemoryTests {
    /// RssFile of `pid` in KiB, from /proc: the resident pages of mapped files, which the release gives back.
    /// Not VmRSS: its anonymous part moves with the heap, and under AddressSanitizer (CI runs these tests
    /// sanitized) by tens of MiB with the sanitizer's own bookkeeping.
    static func residentFileKiB(_ pid: Int32) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("RssFile:") }),
              let kib = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) }) else {
            throw HarnessError("no RssFile line in /proc/\(pid)/status")
        }
        return kib
    }

    @Test("pages mapped by control requests are given back once the control socket is quiet")
    func controlRequestPagesAreReleased() throws {
        let home = try RumorHome()
        defer { home.shutdown() }
        let node = try home.start("a", options: ["--log-level", "debug"])
        try eventually("the release of start-up pages", within: .seconds(30), every: .milliseconds(200)) { () -> Probe<Void> in
            home.log(of: "a").contains("released start-up pages") ? .met(()) : .pending("no release logged yet")
        }
        let idle = try Self.residentFileKiB(node.pid)
        for _ in 0..<3 {
            #expect(try home.client("status", node: "a").exitCode == 0)
            #expect(try home.client("peers", node: "a", ["--json"]).exitCode == 0)
        }
        let busy = try Self.residentFileKiB(node.pid)
        try eventually("the release of the pages the requests mapped", within: .seconds(15), every: .milliseconds(200)) { () -> Probe<Void> in
            home.log(of: "a").contains("released pages mapped by control requests") ? .met(()) : .pending("no second release logged yet")
        }
        let after = try Self.residentFileKiB(node.pid)
        // At least half of what the requests mapped is gone again. Not all: the idle loop faults its own pages
        // back in the seconds after each release, the first one included (measured: 0.1-0.7 MiB).
        #expect(busy > idle, "the requests mapped nothing: \(idle) KiB before, \(busy) KiB after; this test shows nothing")
        #expect(busy - after >= (busy - idle) / 2,
                "\(after) KiB of file pages after the release, \(idle) KiB before the requests, \(busy) KiB with them")
    }
}
