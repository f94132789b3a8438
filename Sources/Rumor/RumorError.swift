/// Errors of the node and its API, each with a one-line description fit for a CLI's stderr.
public enum RumorError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidName(String)
    case invalidConfiguration(String)
    case alreadyRunning(String)
    case badKeyFile(path: String, reason: String)
    case fileExists(String)
    case cannotListen(String, String)
    case cannotResolve(String)
    case unknownPeer(String)
    case ambiguousPeer(String, [String])
    case emptyPeer
    case messageTooLarge(Int, limit: Int)
    case queueFull(String)
    case timedOut(String)
    case stopped
    case io(String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "invalid node name '\(name)': use 1-64 characters from A-Z a-z 0-9 . _ - (not starting with . or -)"
        case .invalidConfiguration(let text): return "invalid configuration: \(text)"
        case .alreadyRunning(let name): return "node '\(name)' is already running (its lock is held)"
        case .badKeyFile(let path, let reason): return "key file \(path) \(reason)"
        case .fileExists(let path): return "\(path) already exists (use --force to overwrite)"
        case .cannotListen(let address, let reason): return "cannot listen on \(address): \(reason)"
        case .cannotResolve(let endpoint): return "cannot resolve \(endpoint)"
        case .unknownPeer(let peer): return "unknown peer '\(peer)': no member has that name or id prefix"
        case .ambiguousPeer(let peer, let matches):
            return "ambiguous peer '\(peer)': matches \(matches.joined(separator: ", ")); give more of the id"
        case .emptyPeer: return "empty peer name"
        case .messageTooLarge(let size, let limit): return "message of \(size) bytes is larger than the \(limit)-byte limit"
        case .queueFull(let peer): return "too many messages waiting for \(peer)"
        case .timedOut(let what): return "timed out: \(what)"
        case .stopped: return "the node has stopped"
        case .io(let text): return text
        }
    }
}
