#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CRumorSys

/// Where the two ends of a round trip run. Left to the scheduler, a ping-pong on this 2-core VM lands in one of
/// two regimes from run to run: both ends on one core (a raw round trip of about 11 µs), or one end per core,
/// where each hop waits for an idle core to wake (about 50 µs). The ratio of two figures measured in different
/// regimes means nothing (it swung from 0.58 to 2.5 between back-to-back runs), so the round-trip section pins
/// both the raw ping-pong and Rumor's nodes to the same placement, and measures each placement it can.
enum Placement: String, CaseIterable {
    /// One end per core, as two hosts are: the caller and the pinging node (or the raw client) on CPU 0, the
    /// answering node (or the raw echo thread) on CPU 1. The placement `ratios.rtt_p50` is judged on.
    case crossCore = "cross-core"
    /// Both ends on CPU 0: each end's work waits for the other's, and the hop costs a context switch, not a wake-up.
    case sameCore = "same-core"
    /// Wherever the scheduler puts them (the earlier, unpinned measure).
    case any

    /// The CPUs this process may run on, as it started (a container or `taskset` may leave fewer than are online).
    static let allowedCPUs: [Int32] = {
        var cpus = [Int32](repeating: 0, count: 1024)
        let count = rumor_allowed_cpus(&cpus, Int32(cpus.count))
        return count > 0 ? Array(cpus.prefix(Int(count))) : []
    }()

    /// The CPU of the calling thread and of the sending end, and of the answering end (-1: any allowed CPU): the
    /// first two CPUs this process may use.
    var cpus: (sender: Int32, answerer: Int32) {
        let allowed = Self.allowedCPUs
        guard let first = allowed.first else { return (-1, -1) }
        switch self {
        case .crossCore: return (first, allowed.count > 1 ? allowed[1] : first)
        case .sameCore: return (first, first)
        case .any: return (-1, -1)
        }
    }

    /// The placements this machine can pin: cross-core needs two CPUs this process may use.
    static var measurable: [Placement] {
        switch allowedCPUs.count {
        case 0: [.any]
        case 1: [.sameCore]
        default: [.crossCore, .sameCore]
        }
    }

    /// The JSON key suffix of this placement's figures when it is not the primary one.
    var suffix: String { "_" + String(rawValue.map { $0 == "-" ? "_" : $0 }) }

    /// Confines the calling thread to the sender's CPU; false if the kernel refused.
    @discardableResult
    func pinCaller() -> Bool { rumor_pin_thread(0, cpus.sender) == 0 }

    /// Confines the calling thread to the answerer's CPU (a raw echo thread calls it first thing).
    @discardableResult
    func pinAnswerer() -> Bool { rumor_pin_thread(0, cpus.answerer) == 0 }
}
