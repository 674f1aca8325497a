import AgentSupport
import Metrics
import Upload

#if canImport(Glibc)
    import Glibc
#endif

/// The journal's checks: when each vault last got a backup, unfinished or failed uploads and the
/// multipart uploads they hold open, and agents holding upload locks without progress.
extension Doctor {
    /// One check per vault: its newest successful upload (journal and metrics file) within `maxAge`.
    func lastSuccessChecks() -> [DoctorCheck] {
        let metrics = config.metricsFile.map { MetricsRecorder(stateDir: config.stateDir, file: $0).load() } ?? [:]
        return config.vaultNames.map { vault in
            let fromJournal = journal.entries.filter { $0.vault == vault && $0.state == .completed }.map(\.updated).max()
            let fromMetrics = metrics[vault].map(\.lastSuccess).flatMap { $0 > 0 ? $0 : nil }
            let id = "last_success:\(vault)"
            let fix =
                "check the post-backup hook (it runs `agent upload`) and the resume timer (`systemctl list-timers offsite-agent-resume.timer`, `journalctl -u offsite-agent-resume`); `agent status` lists recent uploads and `agent upload --pending --vault \(vault)` sends what is waiting"
            guard let last = [fromJournal, fromMetrics].compactMap({ $0 }).max() else {
                return DoctorCheck(id, .fail, code: "BACKUP_OVERDUE", "vault \(vault) has no successful upload on record (journal or metrics file)", fix: fix)
            }
            let age = options.now - last
            if Double(age) > options.maxAge {
                return DoctorCheck(
                    id, .fail, code: "BACKUP_OVERDUE",
                    "vault \(vault)'s newest successful upload was \(Doctor.age(age)) ago (\(Timestamp.iso8601(last))), more than the allowed \(Doctor.age(Int64(options.maxAge)))",
                    fix: fix)
            }
            return DoctorCheck(id, .pass, "vault \(vault)'s newest successful upload was \(Doctor.age(age)) ago (\(Timestamp.iso8601(last)))")
        }
    }

    /// Unfinished (interrupted or killed) and failed uploads, and the multipart uploads they own.
    func uploadsCheck() -> DoctorCheck {
        var unfinished: [String] = []
        var failed: [String] = []
        var openMultipart = 0
        var vaults: Set<String> = []
        let holders = Self.flockHolders(root: options.systemRoot)
        for e in journal.entries where !e.isFinished {
            if e.state == .uploading, journal.lockHolder(e.id, holders: holders) != nil { continue }  // running right now
            let open = e.files.filter { $0.uploadID != nil && $0.state != .done }.count
            openMultipart += open
            vaults.insert(e.vault)
            let detail =
                "\(e.id) (\(e.backup) -> \(e.vault), \(Units.formatSize(e.bytesDone)) of \(Units.formatSize(e.bytesTotal)) sent, last update \(Timestamp.iso8601(e.updated))\(e.lastError.map { ", last error: \($0)" } ?? ""))"
            if e.state == .failed { failed.append(detail) } else { unfinished.append(detail) }
        }
        let held = openMultipart > 0 ? "; they hold \(openMultipart) multipart upload(s) open on the server, whose parts are stored (and billed) until resumed or aborted" : ""
        let cleanup = vaults.sorted().map { "`agent cleanup --vault \($0)`" }.joined(separator: ", ")
        var notes: [String] = []
        if !journal.damaged.isEmpty { notes.append("damaged journal file(s): \(journal.damaged.joined(separator: ", "))") }
        if !journal.newer.isEmpty {
            notes.append("journal file(s) written by a newer agent, which this one leaves untouched: \(journal.newer.joined(separator: ", "))")
        }
        if !failed.isEmpty {
            return DoctorCheck(
                "uploads", .fail, code: "UPLOAD_FAILED",
                "\(failed.count) upload(s) failed for good: \(failed.joined(separator: "; "))"
                    + (unfinished.isEmpty ? "" : "; \(unfinished.count) more unfinished: \(unfinished.joined(separator: "; "))") + held
                    + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")),
                fix: "fix the cause named by the last error, then `agent resume <UPLOAD-ID>`; or give it up with `agent abort <UPLOAD-ID>`"
                    + (cleanup.isEmpty ? "" : "; \(cleanup) removes multipart uploads no live entry owns"))
        }
        if !unfinished.isEmpty || !notes.isEmpty {
            return DoctorCheck(
                "uploads", .warn, code: !unfinished.isEmpty ? "UPLOAD_INTERRUPTED" : journal.damaged.isEmpty ? "JOURNAL_TOO_NEW" : "JOURNAL_DAMAGED",
                (unfinished.isEmpty ? "" : "\(unfinished.count) upload(s) interrupted: \(unfinished.joined(separator: "; "))\(held)")
                    + (notes.isEmpty ? "" : (unfinished.isEmpty ? "" : "; ") + notes.joined(separator: "; ")),
                fix: unfinished.isEmpty
                    ? [
                        journal.damaged.isEmpty ? nil : "run any agent command that reads the journal (`agent status`): it sets damaged files aside",
                        journal.newer.isEmpty
                            ? nil : "a newer agent's file: install that agent again (its unfinished upload resumes there), or remove the file to give up that upload",
                    ].compactMap { $0 }.joined(separator: "; ")
                    : "`agent resume --all` finishes them without re-sending what arrived (the resume timer runs it every 15 minutes; `systemctl status offsite-agent-resume.timer`)")
        }
        return DoctorCheck("uploads", .pass, "no interrupted or failed upload in the journal (\(journal.entries.count) entries)")
    }

    /// Agents holding an upload lock whose upload has made no progress for `lockIdleAfter`.
    func locksCheck() -> DoctorCheck {
        var hung: [String] = []
        var busy: [String] = []
        let holders = Self.flockHolders(root: options.systemRoot)
        for e in journal.entries {
            guard let pid = journal.lockHolder(e.id, holders: holders) else { continue }
            let idle = options.now - e.updated
            let who = "agent process \(pid)"
            if idle > options.lockIdleAfter {
                hung.append("\(who) holds the lock of upload \(e.id) (\(e.backup) -> \(e.vault)) with no progress for \(Doctor.age(idle))")
            } else {
                busy.append("\(e.id) (\(who))")
            }
        }
        if !hung.isEmpty {
            return DoctorCheck(
                "locks", .warn, code: "LOCK_HELD", hung.joined(separator: "; "),
                fix: "look at the process (`ps -o pid,etime,args -p PID`); if it hangs, stop it (`kill PID`), then `agent resume --all` continues the upload")
        }
        return DoctorCheck("locks", .pass, busy.isEmpty ? "no agent holds an upload lock" : "uploads in progress: \(busy.joined(separator: ", "))")
    }

    /// Inode → pid of every flock(2) lock in /proc/locks ("1: FLOCK ADVISORY WRITE 1234 fd:01:5678 0 EOF").
    static func flockHolders(root: String) -> [UInt64: Int] {
        guard let text = AtomicFile.read(root + "/proc/locks", limit: 4 << 20) else { return [:] }
        var holders: [UInt64: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields.contains("FLOCK"), let flockIndex = fields.firstIndex(of: "FLOCK") else { continue }
            // After FLOCK: ADVISORY, READ/WRITE, pid, maj:min:inode (a "->" marks a waiter).
            let rest = fields[(flockIndex + 1)...].filter { $0 != "->" }
            let items = Array(rest)
            guard items.count >= 4, let pid = Int(items[2]), let inode = items[3].split(separator: ":").last.flatMap({ UInt64($0) }) else { continue }
            if holders[inode] == nil { holders[inode] = pid }
        }
        return holders
    }
}
