import ArgumentParser
import Rumor
import RumorWire

struct HomeOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The home directory holding one folder per node.", valueName: "DIR"))
    var home: String?

    func validate() throws {
        // An empty --home would quietly mean ~/.rumor, another home than the one the user named.
        if home?.isEmpty == true { throw ValidationError("--home must not be empty") }
    }

    var resolved: String { NodeFiles.defaultHome(explicit: home) }
}

struct NodeOption: ParsableArguments {
    @OptionGroup var home: HomeOption

    @Option(name: .long, help: ArgumentHelp("The node to talk to, by name.", valueName: "NAME"))
    var node: String

    func validate() throws {
        guard NodeName.isValid(node) else { throw ValidationError("invalid node name '\(node)'") }
    }

    var files: NodeFiles { NodeFiles(home: home.resolved, name: node) }

    /// Connects to the node's control socket, or fails with exit 69.
    func connect() throws -> ControlClient {
        try ControlClient(files: files)
    }
}

/// Parses `--timeout SECONDS`: seconds from 0 (or from just above 0 where `positive`) to 86,400, fractions allowed.
func parseTimeout(_ value: Double?, default fallback: Double, positive: Bool = false) throws -> Double {
    let timeout = value ?? fallback
    guard timeout.isFinite, timeout <= 86_400, positive ? timeout > 0 : timeout >= 0 else {
        throw ValidationError("--timeout must be a number of seconds \(positive ? "above 0" : "from 0") up to 86400")
    }
    return timeout
}
