import Testing
import RumorMembership
import RumorSimulator
import RumorWire

@Suite("Simulated mesh: leaving and names")
struct LeaveAndConflictTests {
    @Test("a graceful leave propagates as left, never as dead")
    func leave() throws {
        let stopwatch = Stopwatch()
        let simulation = try Mesh.converged(20, seed: 17)
        let leaver = 7
        let leftAt = simulation.now
        simulation.leave(leaver)
        // The process exits a second after announcing its departure.
        simulation.run(for: .seconds(1))
        simulation.crash(leaver)
        let seen = try #require(simulation.run(until: { $0.count(seeing: leaver, as: .left) == 19 }, deadline: leftAt + .seconds(10)))
        Mesh.report("leave seen by all 19", seen - leftAt, wall: stopwatch)
        simulation.run(for: .seconds(120))
        #expect(simulation.count(seeing: leaver, as: .left) == 19, "still remembered as left, not dead")
        #expect(simulation.deathMarks(of: leaver) == 0)
        #expect(simulation.falseDeaths.isEmpty)
        #expect(simulation.isConverged)
        Mesh.expectCleanWire(simulation)
    }

    @Test("a different id claiming a live member's name is refused and enters no table")
    func nameConflict() throws {
        let simulation = try Mesh.converged(5, seed: 19)
        let holder = 2
        let impostor = simulation.addNode(name: simulation.nodes[holder].name)
        simulation.join(impostor, through: [0])
        simulation.run(for: .seconds(60))
        let impostorID = simulation.nodes[impostor].id
        let refusals = simulation.conflicts.filter { $0.conflict.claimant == impostorID }
        #expect(!refusals.isEmpty)
        for refusal in refusals {
            #expect(refusal.conflict.holder == simulation.nodes[holder].id)
            #expect(refusal.conflict.name == simulation.nodes[holder].name)
        }
        for observer in 0..<5 {
            #expect(simulation.core(of: observer)?.members[impostorID] == nil, "node \(observer) let the impostor in")
        }
        #expect(simulation.everyone(in: Array(0..<5), sees: Array(0..<5), as: .alive), "the holder keeps its name")
        Mesh.expectCleanWire(simulation)
    }
}
