import AgentSupport
import Backups

/// The backup directory's checks: backups stuck in progress, and backups unexpectedly small.
extension Doctor {
    /// A backup with `.in-progress` (or status running/pending) for longer than `stuckAfter`.
    func stuckCheck(_ local: LocalBackups) -> DoctorCheck {
        if let reason = local.unreadable {
            return DoctorCheck(
                "stuck", .fail, code: "NO_DIR", "cannot read backup_dir \(config.backupDir): \(reason)",
                fix: "check that backup_dir in \(config.path) names the backup job's folder and that the agent's user may read it")
        }
        var stuck: [String] = []
        var running: [String] = []
        for b in local.entries where b.isRunning {
            let since = b.date ?? options.now
            let age = options.now - since
            let why = b.inProgressMarker ? Backup.inProgressMarker : "status \"\(b.status ?? "")\" in \(Backup.manifestName)"
            if age > options.stuckAfter {
                stuck.append("\(b.path) has been in progress for \(Doctor.age(age)) (\(why), since \(Timestamp.iso8601(since)))")
            } else {
                running.append(b.id)
            }
        }
        if !stuck.isEmpty {
            return DoctorCheck(
                "stuck", .fail, code: "BACKUP_STUCK",
                "\(stuck.count) backup(s) in progress for more than \(options.stuckAfter / 60) minutes: " + stuck.joined(separator: "; "),
                fix:
                    "check whether the backup job is still running (`ps aux | grep backup`) and has disk space (`df -h \(config.backupDir)`); if it died, kill what is left of it, delete the partial backup directory and run the backup again")
        }
        if !running.isEmpty {
            return DoctorCheck("stuck", .pass, "\(running.count) backup(s) in progress, started less than \(options.stuckAfter / 60) minutes ago: \(running.joined(separator: ", "))")
        }
        return DoctorCheck("stuck", .pass, "no backup in \(config.backupDir) is in progress")
    }

    /// The newest completed backup of each type against the previous one: an archive far smaller
    /// than its same-named predecessor, or a backup with nothing in it.
    func smallCheck(_ local: LocalBackups) -> DoctorCheck {
        guard local.unreadable == nil else { return DoctorCheck("small", .skip, "backup_dir cannot be read (see `stuck`)") }
        let completed = local.entries.filter(\.isCompleted).sorted { ($0.date ?? 0, $0.id) < ($1.date ?? 0, $1.id) }
        guard !completed.isEmpty else { return DoctorCheck("small", .skip, "no completed backup in \(config.backupDir) to compare") }
        var findings: [String] = []
        var compared: [String] = []
        let types = Set(completed.map { $0.type ?? "" })
        for type in types.sorted() {
            let ofType = completed.filter { ($0.type ?? "") == type }
            guard let newest = ofType.last else { continue }
            let now = LocalBackups.archives(of: newest.path)
            let total = now.values.reduce(0, +)
            if now.isEmpty || total == 0 {
                findings.append("\(newest.id) holds \(now.isEmpty ? "no archive at all" : "only empty files")")
                continue
            }
            guard ofType.count > 1 else { continue }
            let previous = ofType[ofType.count - 2]
            let before = LocalBackups.archives(of: previous.path)
            compared.append(newest.id)
            for (path, oldSize) in before.sorted(by: { $0.key < $1.key }) where oldSize >= options.smallMinimumBytes {
                guard let newSize = now[path], Double(newSize) < Double(oldSize) * options.smallRatio else { continue }
                findings.append(
                    "\(newest.id)/\(path) is \(Units.formatSize(newSize)), against \(Units.formatSize(oldSize)) in the previous \(type.isEmpty ? "" : type + " ")backup \(previous.id)/\(path)")
            }
        }
        if !findings.isEmpty {
            return DoctorCheck(
                "small", .warn, code: "UNEXPECTEDLY_SMALL", findings.joined(separator: "; "),
                fix:
                    "open the archive and check its content: a site backup of an empty document root, a database dump of an empty or unreachable database, or a source path typo give tiny archives (an incremental backup with no changes is small and fine); then re-run the backup")
        }
        return DoctorCheck(
            "small", .pass,
            compared.isEmpty
                ? "the newest completed backups hold archives (no earlier backup of the same type to compare)"
                : "no archive of \(compared.joined(separator: ", ")) is under \(Int(options.smallRatio * 100)) % of the previous backup's")
    }
}
