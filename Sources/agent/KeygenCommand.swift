import Age
import AgentSupport
import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `agent keygen [--out FILE]`: a new age X25519 identity in age-keygen's format.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a new age identity (secret key) and print its recipient (public key).",
        discussion: """
            Run it on an admin's machine, not on the server: the server needs only the recipient \
            (`encrypt_to = ["age1…"]`). The file is in age-keygen's format (mode 0600) and decrypts \
            with the stock `age -d -i FILE`. Without --out the identity is printed on stdout.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Write the identity to this new file (mode 0600; an existing file is never overwritten).", valueName: "file"))
    var out: String?

    @Flag(name: .long, help: "Print one JSON document on stdout as the final result (needs --out).")
    var json = false

    func validate() throws {
        if json && out == nil { throw ValidationError("--json needs --out FILE: the identity is a secret and is not printed in JSON") }
    }

    func run() throws {
        Output.jsonMode = json
        guard AgePrimitives.available, let identity = AgeIdentity.generate() else {
            throw AgentError(.rejected, "this OpenSSL lacks X25519 or its random generator failed; no key was made", hint: "install OpenSSL 3 (libssl3) and run `agent keygen` again", exit: .failed)
        }
        let recipient = identity.recipient.encoded
        let text = "# created: \(Timestamp.iso8601(Timestamp.now()))\n# public key: \(recipient)\n\(identity.secretEncoding)\n"
        guard let out else {
            Output.line(String(text.dropLast()))
            Output.diagnostic("Public key: \(recipient)")
            return
        }
        let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno
            if reason == EEXIST {
                throw AgentError(.outputExists, "\(out) already exists; it was left as it is", hint: "choose another --out file, or move the old identity away first (files encrypted to it need it)")
            }
            throw AgentError(.rejected, "cannot create \(out): \(String(cString: strerror(reason)))", hint: "check that the directory exists and is writable", exit: .failed)
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(out)
            throw AgentError(.rejected, "cannot write \(out)", hint: "check free space", exit: .failed)
        }
        if json {
            Output.emit(.object([("ok", .bool(true)), ("file", .string(out)), ("recipient", .string(recipient))]))
        } else {
            Output.line("Public key: \(recipient)")
        }
    }
}
