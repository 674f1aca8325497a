import AgentSupport
import ArgumentParser
import Config
import Logging
import Restore
import Upload

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete this host's offsite backups past retention.",
        discussion: """
            Only backups whose offsite manifest names this host are touched. A backup stays when any rule keeps it: younger than \
            --keep-days, one of the --keep-last newest (the newest backup is always kept), or the newest of one of the last N days, \
            ISO weeks, months or years that have a backup (--keep-daily/--keep-weekly/--keep-monthly/--keep-yearly, as restic's \
            forget; UTC calendar). Each flag overrides the vault's keep_* setting of the same name. --dry-run shows the rule keeping \
            each backup. Its manifest is deleted first. Objects under Object Lock or a legal hold are reported and left.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault to prune (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "Delete backups older than this many days.")
    var keepDays: Int?

    @Option(name: .long, help: "Always keep at least this many newest backups.")
    var keepLast: Int?

    @Option(name: .long, help: "Keep the newest backup of each of the last N days that have one.")
    var keepDaily: Int?

    @Option(name: .long, help: "Keep the newest backup of each of the last N ISO weeks that have one.")
    var keepWeekly: Int?

    @Option(name: .long, help: "Keep the newest backup of each of the last N months that have one.")
    var keepMonthly: Int?

    @Option(name: .long, help: "Keep the newest backup of each of the last N years that have one.")
    var keepYearly: Int?

    @Flag(name: .long, help: "List what would be deleted and which rule keeps each other backup; delete nothing.")
    var dryRun = false

    /// Accepted --keep-days / --keep-last values.
    static let allowed = 1...100_000

    func validate() throws {
        if let d = keepDays, !Self.allowed.contains(d) { throw ValidationError("--keep-days must be between 1 and \(Self.allowed.upperBound)") }
        if let k = keepLast, !Self.allowed.contains(k) {
            throw ValidationError("--keep-last must be between 1 and \(Self.allowed.upperBound) (prune never deletes the newest backup)")
        }
        for (flag, value) in [("--keep-daily", keepDaily), ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly), ("--keep-yearly", keepYearly)] {
            if let v = value, !Self.allowed.contains(v) { throw ValidationError("\(flag) must be between 1 and \(Self.allowed.upperBound)") }
        }
    }

    func run() throws {
        global.apply()
        let (config, resolved, session) = try VaultAccess.open(global, vault: vault, quiet: global.json)
        let vaultPolicy = Self.policy(of: resolved)
        let policy = RetentionPolicy(
            keepDays: keepDays ?? vaultPolicy.keepDays, keepLast: keepLast ?? vaultPolicy.keepLast, keepDaily: keepDaily ?? vaultPolicy.keepDaily,
            keepWeekly: keepWeekly ?? vaultPolicy.keepWeekly, keepMonthly: keepMonthly ?? vaultPolicy.keepMonthly, keepYearly: keepYearly ?? vaultPolicy.keepYearly)
        guard policy.isSet else {
            throw AgentError(
                .usage, "no retention for vault \(session.vault): nothing says which backups to delete",
                hint: "pass --keep-days N, --keep-last K or --keep-daily/--keep-weekly/--keep-monthly/--keep-yearly N, or set keep_days, keep_last, keep_daily, keep_weekly, keep_monthly or keep_yearly in [vaults.\(session.vault)]",
                exit: .usage)
        }
        let report = try Pruner(session: session, stateDir: config.stateDir, host: Runtime.hostname()).prune(policy: policy, dryRun: dryRun)
        if global.json {
            Output.emit(report.json())
            return
        }
        Output.result(Self.summary(report))
    }

    /// The vault's own keep_* settings.
    static func policy(of vault: ResolvedVault) -> RetentionPolicy {
        RetentionPolicy(
            keepDays: vault.keepDays, keepLast: vault.keepLast, keepDaily: vault.keepDaily, keepWeekly: vault.keepWeekly, keepMonthly: vault.keepMonthly,
            keepYearly: vault.keepYearly)
    }

    static func summary(_ report: PruneReport) -> String {
        var lines: [String] = []
        let verb = report.dryRun ? "would delete" : "deleted"
        for b in report.deleted {
            lines.append("\(verb) \(b.id) (\(b.date.map(Timestamp.iso8601) ?? "undated"), \(Units.formatSize(b.size)), \(b.fileCount) files)")
        }
        for l in report.locked {
            lines.append("kept, under Object Lock retention (\(l.mode)) until \(Timestamp.iso8601(l.retainUntil)): \(l.backup.id)")
        }
        if report.dryRun {
            for b in report.kept {
                lines.append("keep \(b.id) (\(b.date.map(Timestamp.iso8601) ?? "undated")): \((report.keptBy[b.id] ?? ["Object Lock retention"]).joined(separator: ", "))")
            }
        }
        for h in report.held {
            lines.append("protected, left in place: \(h.key) (\(h.reason))")
        }
        lines.append(
            "vault \(report.vault), host \(report.host): \(verb) \(report.deleted.count) backups, kept \(report.kept.count) (\(report.policy.description))"
                + (report.dryRun ? "; --dry-run: nothing was deleted" : ""))
        return lines.joined(separator: "\n")
    }

    /// `upload --prune`: prunes each vault every upload to it succeeded, by the vault's keep_days/keep_last.
    /// The upload's result is already printed; prune reports on stderr and can only worsen the exit status.
    static func afterUpload(config: AgentConfig, vaults: [ResolvedVault], outcomes: [(backup: String, vault: String, result: Result<UploadResult, AgentError>)]) {
        let logger = Logger(label: "offsite-agent")
        for vault in vaults {
            let mine = outcomes.filter { $0.vault == vault.name }
            guard !mine.isEmpty, mine.allSatisfy({ if case .success = $0.result { return true } else { return false } }) else { continue }
            let policy = policy(of: vault)
            guard policy.isSet else {
                logger.warning(
                    "upload --prune: vault \(vault.name) has no keep_days, keep_last or keep_daily/weekly/monthly/yearly; nothing pruned",
                    metadata: ["operation": "prune", "vault": .string(vault.name)])
                continue
            }
            do {
                let session = try VaultAccess.session(vault, logger: logger)
                let report = try Pruner(session: session, stateDir: config.stateDir, host: Runtime.hostname()).prune(policy: policy, dryRun: false)
                for line in summary(report).split(separator: "\n") {
                    logger.info(
                        "upload --prune: \(line)",
                        metadata: ["operation": "prune", "deleted": .stringConvertible(report.deleted.count), "kept": .stringConvertible(report.kept.count)])
                }
            } catch let error as AgentError {
                Output.diagnostic("error: \(error.code): prune after upload: \(error.message)\nhint: \(error.hint)")
                Output.exitStatus = ExitStatus.worst([Output.exitStatus, error.exitStatus])
            } catch {
                Output.diagnostic("error: prune after upload: \(error)")
                Output.exitStatus = ExitStatus.worst([Output.exitStatus, .failed])
            }
        }
    }
}
