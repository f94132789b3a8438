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

    /// The CPU of the calling thread and of the sending end, and of the answering end (-1: any CPU).
    var cpus: (sender: Int32, answerer: Int32) {
        switch self {
        case .crossCore: (0, 1)
        case .sameCore: (0, 0)
        case .any: (-1, -1)
        }
    }

    /// The placements this machine can pin: cross-core needs two online CPUs.
    static var measurable: [Placement] {
        sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 ? [.crossCore, .sameCore] : [.sameCore]
    }

    /// The JSON key suffix of this placement's figures when it is not the primary one.
    var suffix: String { "_" + String(rawValue.map { $0 == "-" ? "_" : $0 }) }

    /// Confines the calling thread to the sender's CPU.
    func pinCaller() { _ = rumor_pin_thread(0, cpus.sender) }

    /// Confines the calling thread to the answerer's CPU (a raw echo thread calls it first thing).
    func pinAnswerer() { _ = rumor_pin_thread(0, cpus.answerer) }
}
