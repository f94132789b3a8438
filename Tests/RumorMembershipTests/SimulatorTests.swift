import Testing
import RumorMembership
import RumorSimulator
import RumorWire

/// The simulator's own machinery, so the protocol tests can trust it.
@Suite("Simulator machinery")
struct SimulatorTests {
    @Test("ids, names and addresses are distinct, and an address leads back to its node")
    func identities() {
        let indexes = Array(0..<5000) + [SimulatedIdentity.maxNodes - 1]
        #expect(Set(indexes.map(SimulatedIdentity.id(of:))).count == indexes.count)
        for index in indexes {
            let address = SimulatedIdentity.address(of: index)
            #expect(SimulatedIdentity.index(of: address) == index)
            #expect(address.family == .ipv4 && address.port == 7946 && address.addressBytes[0] == 10)
        }
        #expect(SimulatedIdentity.address(of: 0).description == "10.0.0.1:7946")
        #expect(SimulatedIdentity.id(of: 42).short == "0000002a")
        #expect(SimulatedIdentity.name(of: 7) == "node-7")
        #expect(SimulatedIdentity.index(of: PeerAddress(ipv4: [10, 0, 0, 1], port: 7947)) == nil)
        #expect(SimulatedIdentity.index(of: PeerAddress(ipv4: [192, 168, 0, 1], port: 7946)) == nil)
    }

    @Test("FNV-1a known answers")
    func digest() {
        var empty = TraceDigest()
        #expect(empty.value == 0xCBF2_9CE4_8422_2325)
        empty.combine([])
        #expect(empty.value == 0xCBF2_9CE4_8422_2325)
        var a = TraceDigest()
        a.combine(Array("a".utf8))
        #expect(a.value == 0xAF63_DC4C_8601_EC8C)
        var foobar = TraceDigest()
        foobar.combine(Array("foobar".utf8))
        #expect(foobar.value == 0x8594_4171_F739_67E8)
    }

    @Test("a lossy link loses about the share it is told to")
    func lossRate() {
        let simulation = Simulation(nodeCount: 10, settings: .profile(.local), seed: 3, link: LinkConditions(loss: 0.3))
        simulation.joinAll(through: 0)
        simulation.run(for: .seconds(120))
        let total = simulation.totalCounters
        let share = Double(total.packetsLost) / Double(total.packetsSent)
        #expect(total.packetsSent > 5000)
        #expect(abs(share - 0.3) < 0.02, "lost \(share)")
        let delivered = total.packetsSent - total.packetsLost
        #expect(total.packetsReceived <= delivered && total.packetsReceived > delivered - 50, "only the last few are in flight")
    }

    @Test("a partition stops datagrams between sides, and a heal lets them through again")
    func partitionAndHeal() throws {
        let simulation = try Mesh.converged(4, seed: 9)
        simulation.partition([0, 1], [2, 3])
        #expect(simulation.network.canReach(0, 1) && simulation.network.canReach(2, 3))
        #expect(!simulation.network.canReach(1, 2) && !simulation.network.canReach(3, 0))
        let before = simulation.nodes[2].counters.packetsReceived
        let sentAcross = simulation.nodes[0].counters.packetsLost
        simulation.run(for: .seconds(30))
        #expect(simulation.nodes[0].counters.packetsLost > sentAcross, "node 0 kept trying the other side")
        #expect(simulation.everyone(in: [0, 1], sees: [2, 3], as: .dead))
        #expect(simulation.nodes[2].counters.packetsReceived > before, "each side still talks within itself")
        simulation.network.heal()
        #expect(simulation.network.canReach(1, 2))
        #expect(simulation.run(until: { $0.isConverged }, deadline: simulation.now + .seconds(60)) != nil)
    }

    @Test("a crashed node sends nothing and drops what reaches it; a restart brings it back")
    func crashAndRestart() throws {
        let simulation = try Mesh.converged(5, seed: 4)
        simulation.crash(3)
        #expect(!simulation.nodes[3].isRunning && simulation.core(of: 3) == nil)
        let sent = simulation.nodes[3].counters.packetsSent
        simulation.run(for: .seconds(20))
        #expect(simulation.nodes[3].counters.packetsSent == sent)
        #expect(simulation.nodes[3].counters.packetsDroppedWhileDown > 0)
        simulation.restart(3, rejoin: .join(through: [0]))
        #expect(simulation.nodes[3].isRunning && simulation.nodes[3].starts == 2)
        #expect(simulation.run(until: { $0.isConverged }, deadline: simulation.now + .seconds(30)) != nil)
    }

    @Test("a lagging node reads its datagrams late and in order")
    func receiveLag() throws {
        let simulation = try Mesh.converged(3, seed: 8)
        simulation.setReceiveLag(.seconds(3), for: 1)
        var arrivals: [Instant] = []
        simulation.onDelivery = { _, receiver, _, now in if receiver == 1 { arrivals.append(now) } }
        let lagStart = simulation.now
        simulation.run(for: .seconds(10))
        // Datagrams already in flight land within a few milliseconds; everything sent later waits 3 s.
        let inFlight = arrivals.filter { $0 < lagStart + .milliseconds(5) }
        let lagged = arrivals.dropFirst(inFlight.count)
        #expect(!lagged.isEmpty)
        #expect(lagged.allSatisfy { $0 >= lagStart + .seconds(3) })
        #expect(arrivals == arrivals.sorted())
    }
}
