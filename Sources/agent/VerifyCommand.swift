import AgentSupport
import ArgumentParser
import Restore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an offsite copy against its manifest.",
        discussion:
            "Every file must exist with its size (HEAD); where the server keeps the file's full-object CRC-32C (uploaded with x-amz-checksum-crc32c), it is compared with the manifest's without downloading. --deep downloads every object and compares its SHA-256 (or each part's) with the manifest. Exit 0 when all match, 1 (VERIFY_MISMATCH) otherwise."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup id.")
    var backupID: String

    @Option(name: .long, help: "Vault to check (default: default_vault).")
    var vault: String?

    @Flag(name: .long, help: "Download and re-hash every file.")
    var deep = false

    @Option(name: .long, help: ArgumentHelp("age identity file that opens an encrypted backup (default: the vault's identity_file).", valueName: "file"))
    var identity: String?

    @Flag(name: .long, help: "With --json: JSON lines progress events on stderr.")
    var progress = false

    func run() throws {
        global.apply()
        let (_, resolved, session) = try VaultAccess.open(global, vault: vault, quiet: global.json && progress)
        let verifier = BackupVerifier(session: session)
        if deep { verifier.identities = try VaultAccess.identities(identity, vault: resolved) }
        let manifest = try session.requireManifest(of: backupID)
        let reporter = ProgressReporter(
            label: "verify \(backupID) <- \(session.vault)", total: deep ? manifest.totalBytes : 0, logger: session.logger, json: global.json, jsonProgress: progress,
            wire: { session.http.bytesReceived })
        verifier.onProgress = { reporter.add($0) }
        session.http.onTick = { reporter.tick() }
        let report = try verifier.verify(manifest, deep: deep)
        reporter.finish()
        if let error = report.error { Output.exitStatus = error.exitStatus }
        if global.json {
            Output.emit(report.json())
            if let error = report.error { Output.diagnostic("error: \(error.code): \(error.message)\nhint: \(error.hint)") }
            return
        }
        for f in report.files {
            let lock = f.retention.map { " [locked \($0.mode) until \($0.retainUntil.map(Timestamp.iso8601) ?? $0.retainUntilText)]" } ?? ""
            let how = f.status != .ok ? "" : f.checkedBy == "crc32c" ? " (checksum: stored CRC-32C)" : f.checkedBy == "download" ? " (downloaded and re-hashed)" : " (size only)"
            Output.line(
                "\(f.status == .ok ? "ok      " : f.status == .missing ? "MISSING " : "MISMATCH") \(f.path)\(how)\(lock)\(f.problems.isEmpty ? "" : ": " + f.problems.joined(separator: "; "))")
        }
        if let error = report.error {
            Output.diagnostic("error: \(error.code): \(error.message)")
            Output.diagnostic("hint: \(error.hint)")
        } else {
            let byChecksum = report.files.filter { $0.checkedBy == "crc32c" }.count
            let how =
                deep
                ? "every byte re-hashed against the manifest"
                : byChecksum == report.files.count
                    ? "each by the server's stored CRC-32C"
                    : byChecksum > 0
                        ? "\(byChecksum) by the server's stored CRC-32C, \(report.files.count - byChecksum) by size only (HEAD); --deep re-hashes every byte"
                        : "sizes checked (HEAD); --deep re-hashes every byte"
            let locked = report.retainUntil.map { "; every file under Object Lock retention until at least \(Timestamp.iso8601($0))" } ?? ""
            Output.line("backup \(backupID) in vault \(session.vault): \(report.files.count) files ok (\(how))\(locked)")
        }
    }
}
