import Testing
import RumorMembership
import RumorSimulator
import RumorWire

@Suite("Simulated mesh: restarts")
struct RestartTests {
    /// A real restart: the same identity and a fresh core. From its snapshot it starts one incarnation above
    /// the one the mesh declared dead and joins through the peers it remembers; without one it starts at 0 and
    /// MUST out-number what the seed tells it. Before the fix to `restore`, the snapshot's peers went out as
    /// `dead` claims and every member briefly declared every other dead (342 false deaths among 19 nodes).
    @Test("a crashed node restarted with or without its snapshot rejoins, and nobody else is hurt",
          arguments: [true, false])
    func restartAndRejoin(fromSnapshot: Bool) throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(20, seed: 23)
        let node = 6
        simulation.crash(node)
        let others = simulation.liveNodes
        _ = try #require(simulation.run(until: { $0.count(seeing: node, as: .dead, among: others) == others.count },
                                        deadline: simulation.now + .seconds(60)))
        let deadIncarnation = try #require(simulation.view(of: 0, about: node)?.incarnation)
        simulation.restart(node, rejoin: fromSnapshot ? .restore : .join(through: [0]))
        let restartedAt = simulation.now
        let rejoined = try #require(simulation.run(until: { $0.isConverged }, deadline: restartedAt + .seconds(30)))
        Mesh.report("restarted node back in the mesh (\(fromSnapshot ? "from its snapshot" : "through a seed"))",
                    rejoined - restartedAt, wall: stopwatch)
        #expect(simulation.core(of: node)?.myself.incarnation ?? 0 > deadIncarnation)
        #expect(simulation.falseDeaths.isEmpty, "\(simulation.falseDeaths.count) false dead, first: \(String(describing: simulation.falseDeaths.first))")
        Mesh.expectCleanWire(simulation)
    }
}
