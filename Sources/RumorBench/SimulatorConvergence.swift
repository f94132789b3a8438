#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RumorMembership
import RumorSimulator
import RumorWire

/// The deterministic simulator (Sources/RumorSimulator): N membership cores, profile `lan` (with `maxMembers`
/// raised to N when N is larger), every node joining through node 0 at time zero over the simulator's default
/// LAN links. Virtual time to full membership, and
/// what that costs in wall-clock time and memory on this machine.
enum SimulatorConvergence {
    struct Result {
        var nodes: Int
        /// Virtual seconds until every node saw every node alive; nil when it did not within the bounds.
        var virtualSeconds: Double?
        var wallSeconds: Double
        var events: Int
        var datagrams: Int
        /// Resident memory of this process after the run, in MiB (the simulation is alive then).
        var rssMiB: Double
        /// At the end: the fraction of (observer, subject) pairs of live nodes where the observer sees the
        /// subject alive; 1 when converged.
        var aliveViews: Double
        /// Virtual seconds simulated before the run stopped.
        var virtualReached: Double
        var reason: String?

        /// Datagrams each node sent per second of virtual time, on average, while the mesh converged.
        var datagramsPerNodePerSecond: Double { Double(datagrams) / Double(max(1, nodes)) / max(virtualReached, 1e-9) }
    }

    /// Gives up after ten push-pull intervals of virtual time: by then every node has exchanged its full state
    /// several times, so a run that has not converged is broken, not slow.
    static func virtualLimit(_ settings: MembershipSettings) -> Duration { settings.pushPullInterval * 10 }

    /// - Parameters:
    ///   - wallLimit: gives up after this many wall-clock seconds, checked every 100 ms of virtual time.
    static func run(nodes: Int, seed: UInt64, wallLimit: Double) -> Result {
        var settings = MembershipSettings.profile(.lan)
        // Full membership of a mesh larger than the default peer table (8,192) needs a larger table.
        settings.maxMembers = max(settings.maxMembers, nodes)
        let started = monotonicNanoseconds()
        let simulation = Simulation(nodeCount: nodes, settings: settings, seed: seed)
        simulation.joinAll(through: 0)
        var outOfTime = false
        let converged = simulation.run(until: { simulation in
            if secondsSince(started) > wallLimit {
                outOfTime = true
                return true
            }
            return simulation.isConverged
        }, deadline: .zero + virtualLimit(settings), checkEvery: .milliseconds(100))
        let wall = secondsSince(started)
        let rss = ProcessSample(pid: getpid()).map { Double($0.rssKiB) / 1024 } ?? .nan
        var reason: String?
        if outOfTime {
            reason = "not converged after \(Int(wallLimit)) s of wall-clock time (virtual time reached \(simulation.now.nanoseconds / 1_000_000) ms)"
        } else if converged == nil {
            reason = "not converged within \(Int(virtualLimit(settings).seconds)) s of virtual time"
        }
        let live = simulation.liveNodes
        let views = live.reduce(0) { $0 + simulation.count(seeing: $1, as: .alive, among: live) }
        return Result(nodes: nodes, virtualSeconds: outOfTime ? nil : converged.map { Double($0.nanoseconds) / 1e9 }, wallSeconds: wall,
                      events: simulation.eventsProcessed, datagrams: simulation.totalCounters.packetsSent, rssMiB: rss,
                      aliveViews: Double(views) / Double(max(1, live.count * (live.count - 1))),
                      virtualReached: Double(simulation.now.nanoseconds) / 1e9, reason: reason)
    }
}
