// The embedding example shown in README.md (a test keeps the two identical). Run it next to a CLI node:
//   swift run rumor-embedding-example /tmp/mesh 127.0.0.1:7946
import Rumor

let arguments = CommandLine.arguments
let home = arguments.count > 1 ? arguments[1] : "/tmp/mesh"
let seeds = arguments.count > 2 ? [arguments[2]].compactMap(Endpoint.init(parsing:)) : []

let node = try RumorNode.start(NodeConfiguration(name: "embedded", home: home, join: seeds))
print("started \(node.name) \(node.id.short) on \(node.listenAddress)")

// Membership changes and messages arrive as an AsyncSequence.
let printer = Task {
    for await event in node.events() {
        switch event {
        case .message(let message): print("\(message.kind) from \(message.from): \(message.text ?? "<\(message.data.count) bytes>")")
        case .member(let change): print("\(change.name) is \(change.state)")
        }
    }
}

do {
    try await node.waitForAlive(2, timeout: .seconds(30))
    if let peer = await node.peers().first(where: { !$0.isSelf && $0.state == .alive }) {
        let receipt = try await node.send(Array("hello from Swift".utf8), to: peer.name)  // returns once acknowledged
        print("\(receipt.peer) acknowledged in \(receipt.roundTrip)")
    }
    try await node.broadcast(Array("hello, everyone".utf8))
} catch {
    print("rumor: \(error)")
}
await node.leave()
printer.cancel()
