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
        var options = [command]
        var operands: [String] = []
        var messageMoved = false
        var index = 1
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" {
                operands += arguments[index...]
                break
            }
            if spellings.valued.contains(word) {
                options.append(word)
                if index < arguments.count {
                    options.append(arguments[index])
                    index += 1
                }
            } else if spellings.flags.contains(word) || standardFlags.contains(word) || isValuedWithEquals(word, spellings) {
                options.append(word)
            } else if word.hasPrefix("-"), word != "-", operands.count == spellings.operandsBeforeMessage {
                operands.append(word)
                messageMoved = true
            } else if word.hasPrefix("--") {
                options.append(word)
            } else if word.hasPrefix("-"), word != "-" {
                throw CLIFailure(message: "Unknown option '\(word)'", code: ExitStatus.usage)
            } else {
                operands.append(word)
            }
        }
        return messageMoved ? options + ["--"] + operands : arguments
    }

    /// `--node=a`: a valued option with its value in the same word.
    static func isValuedWithEquals(_ word: String, _ spellings: Spellings) -> Bool {
        guard word.hasPrefix("--"), let equals = word.firstIndex(of: "=") else { return false }
        return spellings.valued.contains(String(word[..<equals]))
    }
}
