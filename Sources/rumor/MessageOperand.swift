#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a MESSAGE that starts with `-` a message.
///
/// swift-argument-parser reads every word that starts with `-` as options: `"-dash"` as the short flags
/// `-d -a -s -h`, so `rumor send e "-dash"` printed send's help and exited 0 without sending, and a script
/// doing `rumor send e "$msg"` saw a false success. Before parsing, the words of `send` and `broadcast` are
/// scanned with the command's own option spellings: a word in MESSAGE's place that is not one of them is
/// moved, with the other operands, behind a `--`, where the parser takes it as the message. `-h`, `--help`,
/// `--version` and the command's options keep their meaning there; `--` works as before.
///
/// Elsewhere, an unknown word of one dash (`-hx`) is refused here (exit 64): the parser would read it as
/// short flags and print help when one is `h`, exiting 0 in place of a send. An unknown `--word` elsewhere is
/// left to the parser, which refuses it (or knows it: `--experimental-dump-help`).
enum MessageOperand {
    /// The option spellings of one command. MUST list every option of the command (`Send`, `Broadcast`).
    struct Spellings {
        /// Options that take the next word as their value (or `--option=value`).
        let valued: Set<String>
        /// Options that take no value.
        let flags: Set<String>
        /// How many operands come before MESSAGE.
        let operandsBeforeMessage: Int
    }

    static let commands: [String: Spellings] = [
        "send": Spellings(valued: ["--home", "--node", "--file", "--timeout"], flags: ["--lines", "--unreliable", "--json"],
                          operandsBeforeMessage: 1),
        "broadcast": Spellings(valued: ["--home", "--node", "--file"], flags: ["--json"], operandsBeforeMessage: 0),
    ]

    /// What every command accepts, from swift-argument-parser.
    static let standardFlags: Set<String> = ["-h", "--help", "--version"]

    /// Returns `arguments` (the command name first) with a dash-led MESSAGE moved behind `--`; other command
    /// lines unchanged.
    /// - Throws: `CLIFailure` (exit 64) for an unknown word of one dash outside MESSAGE's place.
    static func rewrite(_ arguments: [String]) throws -> [String] {
        guard let command = arguments.first, let spellings = commands[command] else { return arguments }
        let words = Array(arguments.dropFirst())
        let roles = try roles(of: words, spellings)
        guard roles.contains(.dashOperand) else { return arguments }
        let options = zip(words, roles).filter { $0.1 == .option }.map(\.0)
        let operands = zip(words, roles).filter { $0.1 == .operand || $0.1 == .dashOperand }.map(\.0)
        return [command] + options + ["--"] + operands
    }

    /// How the parser reads a word after the command name, once `rewrite` has run.
    enum Role: Equatable {
        /// An option or an option's value.
        case option
        case operand
        /// A dash-led word in MESSAGE's place, taken as MESSAGE.
        case dashOperand
        /// The `--` that makes the rest operands.
        case terminator
    }

    /// The role of each of `words` (the words after the command name), in order.
    /// - Throws: `CLIFailure` (exit 64) for an unknown word of one dash outside MESSAGE's place.
    static func roles(of words: [String], _ spellings: Spellings) throws -> [Role] {
        var roles: [Role] = []
        var operands = 0
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "--" {
                roles.append(.terminator)
                roles += Array(repeating: .operand, count: words.count - index)
                break
            }
            if spellings.valued.contains(word) {
                roles.append(.option)
                if index < words.count {
                    roles.append(.option)
                    index += 1
                }
            } else if spellings.flags.contains(word) || standardFlags.contains(word) || isValuedWithEquals(word, spellings) {
                roles.append(.option)
            } else if word.hasPrefix("-"), word != "-", operands == spellings.operandsBeforeMessage {
                roles.append(.dashOperand)
                operands += 1
            } else if word.hasPrefix("--") {
                roles.append(.option)
            } else if word.hasPrefix("-"), word != "-" {
                throw CLIFailure(message: "Unknown option '\(word)'", code: ExitStatus.usage)
            } else {
                roles.append(.operand)
                operands += 1
            }
        }
        return roles
    }

    /// The bytes of MESSAGE exactly as the shell passed them.
    ///
    /// `CommandLine.arguments` decodes each word as UTF-8 and puts U+FFFD in place of invalid bytes, so the
    /// parsed MESSAGE of `rumor send b $'\xff\xfe'` is not what was given, and a body may be any bytes. The words
    /// are read again from `argv` and walked as `rewrite` and the parser read them; MESSAGE's word is returned
    /// when its decoding is `message`, else (a command line this walk does not know) `message` itself.
    static func rawBytes(of message: String) -> [UInt8] {
        let raw = rawArguments()
        let words = raw.map { String(decoding: $0, as: UTF8.self) }
        var command = 0
        // `rumor --home DIR send …`: the global options before the command (as `hoistGlobalOptions` moves them).
        while command < words.count {
            if words[command] == "--home", command + 1 < words.count {
                command += 2
            } else if words[command].hasPrefix("--home=") {
                command += 1
            } else {
                break
            }
        }
        guard command < words.count, let spellings = commands[words[command]],
              let roles = try? roles(of: Array(words[(command + 1)...]), spellings) else { return Array(message.utf8) }
        let operands = roles.indices.filter { roles[$0] == .operand || roles[$0] == .dashOperand }
        guard spellings.operandsBeforeMessage < operands.count else { return Array(message.utf8) }
        let bytes = raw[command + 1 + operands[spellings.operandsBeforeMessage]]
        return Array(String(decoding: bytes, as: UTF8.self).utf8) == Array(message.utf8) ? bytes : Array(message.utf8)
    }

    /// The words of `argv` after the program's name, as bytes.
    static func rawArguments() -> [[UInt8]] {
        let argv = CommandLine.unsafeArgv
        return (1..<max(1, Int(CommandLine.argc))).map { index in
            guard let word = argv[index] else { return [] }
            return Array(UnsafeRawBufferPointer(start: word, count: strlen(word)))
        }
    }

    /// `--node=a`: a valued option with its value in the same word.
    static func isValuedWithEquals(_ word: String, _ spellings: Spellings) -> Bool {
        guard word.hasPrefix("--"), let equals = word.firstIndex(of: "=") else { return false }
        return spellings.valued.contains(String(word[..<equals]))
    }
}
