// rumor-bench: the measurements behind Scripts/bench.sh (issue 7). One JSON document on stdout; progress and a
// readable table on stderr. Every Rumor figure is measured in the same run as its baseline, the two
// interleaved run by run, so a noisy neighbour slows both. Docs/PERFORMANCE.md explains each figure.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Rumor
import RumorCrypto
import RumorLink
import RumorWire

// `rumor-bench flood …` is the flooder of the flood test (Scripts/scenarios/flood.sh), not a benchmark.
if CommandLine.arguments.dropFirst().first == "flood" { exit(FloodCommand.main(Array(CommandLine.arguments.dropFirst(2)))) }

let options = BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
let plan = BenchPlan(options)
let report = Report()
let benchStart = monotonicNanoseconds()
let work: String
if let given = options.work {
    work = given
} else {
    var template = Array("/tmp/rumor-bench.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        progress("mkdtemp failed: \(String(cString: strerror(errno)))")
        exit(1)
    }
    work = String(cString: made)
}

report.set("bench", .string("rumor-bench"))
report.set("mode", .string(options.quick ? "quick" : "full"))
report.set("machine", machineDescription())
report.set("sizes", sizesDescription())
progress("mode \(options.quick ? "quick" : "full"), work directory \(work)")

if plan.wants("crypto") { CryptoSection.run(plan: plan, report: report) }
if plan.wants("datagram") || plan.wants("acked") || plan.wants("rtt") || plan.wants("profile") || plan.wants("profile-acked") || plan.wants("profile-ping") {
    ThroughputSection.run(plan: plan, report: report, home: work + "/pair")
}
if plan.wants("processes") { ProcessSection.run(plan: plan, report: report, binary: options.rumorBinary, work: work) }
if plan.wants("simulator") { SimulatorSection.run(plan: plan, report: report) }

report.set("targets", report.targetsJSON)
if !report.failures.isEmpty { report.set("failures", .array(report.failures.map { .string($0) })) }
report.set("load_average_at_end", loadAverage())
report.set("wall_s", number(secondsSince(benchStart), digits: 3))
writeAll(report.prettyText, to: 1)
report.printTable()
if options.work == nil { removeTree(work) }
exit(report.failures.isEmpty ? 0 : 1)

// MARK: - Options

struct BenchOptions {
    var quick = false
    var rumorBinary: String?
    var work: String?
    var only: Set<String>?
    var window: Double?
    var reps: Int?
    var simulatorNodes: [Int]?
    var meshNodes: [Int]?

    /// `profile`, `profile-acked` and `profile-ping` run only when named: Rumor's 64-byte fire-and-forget or
    /// acknowledged path, or its pings, alone, for `valgrind --tool=callgrind`.
    static let sections: Set<String> = ["crypto", "datagram", "acked", "rtt", "processes", "simulator", "profile", "profile-acked", "profile-ping"]
    static let usage = """
    usage: rumor-bench [--quick] [--rumor PATH] [--work DIR] [--only SECTION,...] [--window SECONDS] [--reps N]
                   [--simulator-nodes N,...] [--mesh-nodes N,...]
           rumor-bench flood --help   (the flooder of Scripts/scenarios/flood.sh)
      --quick          shorter windows, fewer repeats, a 5 s idle window (after 12 s, once the nodes have given
                       back their start-up pages), the 1,000-node simulation cut at 60 s
                       of wall-clock time, no 10,000-node simulation.
      --rumor PATH     the release `rumor` binary for the process section (skipped without it).
      --work DIR       where node homes, logs and the PID list go (default: a new directory under /tmp, removed).
      --only SECTIONS  any of crypto, datagram, acked, rtt, processes, simulator (default: all), or profile
                       (profile-acked, profile-ping): only Rumor's 64 B fire-and-forget (acknowledged, 32 in flight)
                       sends for one window (window × 1,000 pings), to run under valgrind --tool=callgrind.
      --window S       seconds per throughput run (default 1, quick 0.5); --reps N runs each (default 3).
      --simulator-nodes N,...  the simulator's mesh sizes (default 100,1000,10000; quick 100,1000), each 2…20000.
      --mesh-nodes N,...       the process section's mesh sizes (default 16,64), each 2…500.
    """

    static func parse(_ arguments: [String]) -> BenchOptions {
        var options = BenchOptions()
        var rest = arguments[...]
        func value(_ flag: String) -> String {
            guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick": options.quick = true
            case "--rumor": options.rumorBinary = value(argument)
            case "--work": options.work = value(argument)
            case "--only":
                let names = Set(value(argument).split(separator: ",").map(String.init))
                guard names.isSubset(of: sections) else { fail("unknown section in --only: \(names.subtracting(sections).sorted())") }
                options.only = names
            case "--window":
                guard let seconds = Double(value(argument)), seconds > 0, seconds <= 60 else { fail("--window must be in (0, 60]") }
                options.window = seconds
            case "--reps":
                guard let count = Int(value(argument)), (1...20).contains(count) else { fail("--reps must be 1…20") }
                options.reps = count
            case "--simulator-nodes":
                let sizes = value(argument).split(separator: ",").map { Int($0) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0.map { (2...20_000).contains($0) } ?? false }) else {
                    fail("--simulator-nodes must be a list of sizes in 2…20000")
                }
                options.simulatorNodes = sizes.compactMap { $0 }
            case "--mesh-nodes":
                let sizes = value(argument).split(separator: ",").map { Int($0) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0.map { (2...500).contains($0) } ?? false }) else {
                    fail("--mesh-nodes must be a list of sizes in 2…500")
                }
                options.meshNodes = sizes.compactMap { $0 }
            case "-h", "--help":
                print(BenchOptions.usage)
                exit(0)
            default: fail("unknown argument \(argument)")
            }
        }
        return options
    }

    static func fail(_ message: String) -> Never {
        writeAll("rumor-bench: \(message)\n\(BenchOptions.usage)\n", to: 2)
        exit(64)
    }
}

/// How long and how often each section measures, by mode.
struct BenchPlan {
    var only: Set<String>?
    var quick: Bool
    var window: Double
    var reps: Int
    var roundTrips: Int
    var cryptoSeconds: Double
    var meshSizes: [Int]
    var meshSettle: Double
    var meshIdle: Double
    var simulatorSizes: [Int]
    var simulatorWallLimit: Double

    init(_ options: BenchOptions) {
        only = options.only
        quick = options.quick
        window = options.window ?? (quick ? 0.5 : 1.0)
        reps = options.reps ?? 3
        roundTrips = quick ? 1500 : 6000
        cryptoSeconds = quick ? 0.3 : 1.0
        meshSizes = options.meshNodes ?? [16, 64]
        // Quick runs still settle past `rumor start`'s release of its start-up pages (10 s after start at the
        // earliest, once membership has settled; Docs/PERFORMANCE.md, "RSS"), so their RSS is the idle node's.
        meshSettle = quick ? 12 : 5
        meshIdle = quick ? 5 : 60
        simulatorSizes = options.simulatorNodes ?? (quick ? [100, 1000] : [100, 1000, 10_000])
        simulatorWallLimit = quick ? 60 : 900
    }

    func wants(_ section: String) -> Bool { only?.contains(section) ?? !section.hasPrefix("profile") }
}

// MARK: - Context

func machineDescription() -> JSON {
    var names = utsname()
    uname(&names)
    let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    return .object([("cpus", .number(Double(sysconf(Int32(_SC_NPROCESSORS_ONLN))))), ("kernel", .string(release)),
                    ("load_average_at_start", loadAverage())])
}

/// The 1-, 5- and 15-minute load averages: a shared machine's noise, next to the figures it disturbs.
func loadAverage() -> JSON {
    guard let text = readTextFile("/proc/loadavg") else { return .null }
    return .array(text.split(separator: " ").prefix(3).compactMap { Double($0) }.map { .number($0) })
}

/// What "64 B" and "1,200 B" mean for each side.
func sizesDescription() -> JSON {
    func datagram(_ payload: Int) -> Double {
        let body = PacketBody(sender: NodeID(words: 0, 0, 0, 0), frames: [.datagram([UInt8](repeating: 0, count: payload)[...])])
        return Double(TransportHeader.size + ChaCha20Poly1305.tagSize + body.encodedSize)
    }
    return .object([
        ("raw_small_datagram_bytes", .number(64)),
        ("raw_large_datagram_bytes", .number(1200)),
        ("rumor_small_payload_bytes", .number(64)),
        ("rumor_small_datagram_bytes", .number(datagram(64))),
        ("rumor_large_payload_bytes", .number(Double(Frame.maxDatagramPayload))),
        ("rumor_large_datagram_bytes", .number(datagram(Frame.maxDatagramPayload))),
        ("note", .string("Rumor's \"1,200 B\" case sends the largest fire-and-forget payload (Frame.maxDatagramPayload); the raw baseline sends 1,200-byte datagrams. Acknowledged messages carry exactly 64, 1,200 and 65,536 payload bytes.")),
    ])
}

/// Removes a directory tree this bench created (node homes, sockets, logs).
func removeTree(_ path: String) {
    guard let directory = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name != ".", name != ".." else { continue }
        let child = path + "/" + name
        if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(child) } else { unlink(child) }
    }
    closedir(directory)
    rmdir(path)
}
