#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import RumorMembership
import RumorSimulator
import RumorWire

/// Shared set-up and checks for the simulated-mesh tests.
enum Mesh {
    /// `count` nodes that joined through node 0 and converged within `deadline` of virtual time.
    static func converged(_ count: Int, profile: MembershipSettings.Profile = .lan, seed: UInt64,
                          link: LinkConditions = .lan, deadline: Duration = .seconds(60)) throws -> Simulation {
        let simulation = Simulation(nodeCount: count, settings: .profile(profile), seed: seed, link: link)
        simulation.joinAll(through: 0)
        try #require(simulation.run(until: { $0.isConverged }, deadline: simulation.now + deadline) != nil,
                     "\(count) nodes did not converge within \(deadline)")
        return simulation
    }

    /// The datagrams were honest: each fit a sealed datagram and decoded back.
    static func expectCleanWire(_ simulation: Simulation, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(simulation.oversizedPackets == 0, "datagrams over the size limit", sourceLocation: sourceLocation)
        #expect(simulation.undecodablePackets == 0, "datagrams that did not decode", sourceLocation: sourceLocation)
        #expect(simulation.largestPacket <= PacketBody.maxFramesSize + NodeID.byteCount, sourceLocation: sourceLocation)
    }

    /// Records one measurement in the test output: `[sim] what: 1.23 s virtual (wall 0.45 s)`.
    static func report(_ what: String, _ virtual: Duration, wall stopwatch: Stopwatch) {
        print("[sim] \(what): \(rounded(virtual)) s virtual (wall \(rounded(stopwatch.elapsed)) s)")
    }

    static func rounded(_ duration: Duration) -> Double { (duration.seconds * 100).rounded() / 100 }
}

/// Wall-clock time since creation, for the test log.
struct Stopwatch {
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init() { start = clock.now }

    var elapsed: Duration { clock.now - start }
}

extension Instant {
    /// The time since the simulation's epoch.
    var sinceStart: Duration { self - .zero }
}

extension Simulation {
    func partition(_ sides: [Int]...) { network.partition(sides) }
}
