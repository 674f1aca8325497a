import AgentSupport
import CTimeShim
import Config
import Diagnostics
import HTTPTransport
import Metrics

#if canImport(Glibc)
    import Glibc
#endif

/// The machine's checks: the schedule, disk space, the clock, file modes.
extension Doctor {
    static let timerUnit = "offsite-agent-resume.timer"

    /// The resume timer under systemd, or a cron line that runs `agent resume` with cron running.
    func scheduleCheck() -> DoctorCheck {
        let root = options.systemRoot
        let systemd = access(root + "/run/systemd/system", F_OK) == 0
        let cronLines = Self.cronLines(root: root, command: options.command)
        let cronRunning = Self.processRunning(names: ["cron", "crond", "cronie", "busybox"], root: root)
        var timerState = ""
        if systemd {
            let enabled = options.command.run("systemctl", ["is-enabled", Self.timerUnit])?.output.trimming(" \n") ?? "unknown"
            let active = options.command.run("systemctl", ["is-active", Self.timerUnit])?.output.trimming(" \n") ?? "unknown"
            if enabled == "enabled", active == "active" {
                return DoctorCheck("schedule", .pass, "\(Self.timerUnit) is enabled and active under systemd")
            }
            timerState = "\(Self.timerUnit) is \(enabled.isEmpty ? "unknown" : enabled) and \(active.isEmpty ? "unknown" : active)"
        }
        if let line = cronLines.first {
            if cronRunning { return DoctorCheck("schedule", .pass, "cron runs `agent resume`: \(line)") }
            return DoctorCheck(
                "schedule", .fail, code: "CRON_NOT_RUNNING",
                "a cron line runs `agent resume` (\(line)), but no cron daemon is running: nothing scheduled runs"
                    + (timerState.isEmpty ? "" : "; \(timerState)"),
                fix: "start cron and enable it at boot: `systemctl enable --now cron` (or `service cron start`; on RHEL the service is crond)")
        }
        if systemd {
            return DoctorCheck(
                "schedule", .fail, code: "SCHEDULE_INACTIVE",
                "\(timerState), and no cron line runs `agent resume`: interrupted uploads are never finished and missed backups never sent",
                fix: "`systemctl enable --now \(Self.timerUnit)` (units in samples/; `systemctl list-timers \(Self.timerUnit)` shows the next run)")
        }
        if cronRunning {
            return DoctorCheck(
                "schedule", .fail, code: "SCHEDULE_INACTIVE", "cron is running, but no cron line runs `agent resume` (/etc/crontab, /etc/cron.d, crontab -l)",
                fix: "install samples/cron as /etc/cron.d/offsite-agent")
        }
        return DoctorCheck(
            "schedule", .skip, "neither systemd nor a cron daemon runs on this machine, so nothing here can schedule `agent resume`",
            fix: "where the agent is deployed, enable \(Self.timerUnit) (systemd) or install samples/cron (cron)")
    }

    /// Uncommented crontab lines that run `agent resume`.
    static func cronLines(root: String, command: LocalCommand) -> [String] {
        var texts: [String] = []
        for file in ["/etc/crontab"] { if let t = AtomicFile.read(root + file, limit: 1 << 20) { texts.append(t) } }
        for dir in ["/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron"] {
            for name in DirectoryListing.names(in: root + dir) ?? [] where !name.hasPrefix(".") {
                if let t = AtomicFile.read("\(root)\(dir)/\(name)", limit: 1 << 20) { texts.append(t) }
            }
        }
        if root.isEmpty, let mine = command.run("crontab", ["-l"]), mine.status == 0 { texts.append(mine.output) }
        var lines: [String] = []
        for text in texts {
            for raw in text.split(separator: "\n") {
                let line = String(raw).trimming(" \t")
                guard !line.hasPrefix("#"), line.contains("agent"), line.contains(" resume") else { continue }
                lines.append(line)
            }
        }
        return lines
    }

    /// Whether a process with one of these command names runs (/proc/<pid>/comm).
    static func processRunning(names: Set<String>, root: String) -> Bool {
        for pid in DirectoryListing.names(in: root + "/proc") ?? [] where pid.allSatisfy(\.isNumber) {
            if let comm = AtomicFile.read("\(root)/proc/\(pid)/comm", limit: 256)?.trimming(" \n"), names.contains(comm) {
                if comm != "busybox" { return true }
                // busybox runs many applets: only `crond` counts.
                if let args = AtomicFile.read("\(root)/proc/\(pid)/cmdline", limit: 4096), args.contains("crond") { return true }
            }
        }
        return false
    }

    /// Free space and inodes where backup_dir and state_dir live: warn under 10 %, fail under 2 %.
    func diskCheck() -> DoctorCheck {
        var worst = CheckStatus.pass
        var found: [String] = []
        var low: [String] = []
        var seen: Set<UInt64> = []
        for (what, path) in [("backup_dir", config.backupDir), ("state_dir", config.stateDir)] {
            guard let usage = Self.fileSystemUsage(Self.existingAncestor(path)) else {
                found.append("\(what) \(path): cannot be examined")
                continue
            }
            let status = Self.diskStatus(freeShare: usage.freeShare, inodeShare: usage.inodeShare)
            let inodes = usage.inodeShare.map { ", \(Int($0 * 100)) % of inodes free" } ?? ""
            let line =
                "\(what) \(path): \(Units.formatSize(usage.freeBytes)) free of \(Units.formatSize(usage.totalBytes)) (\(Int(usage.freeShare * 100)) %)\(inodes)"
            if seen.insert(usage.fileSystem).inserted || status != .pass { found.append(line) }
            if status != .pass { low.append(path) }
            if status == .fail || (status == .warn && worst == .pass) { worst = status }
        }
        if worst == .pass { return DoctorCheck("disk", .pass, found.joined(separator: "; ")) }
        return DoctorCheck(
            "disk", worst, code: "LOW_DISK_SPACE", found.joined(separator: "; "),
            fix:
                "free space on \(low.joined(separator: " and ")) (`df -h`, `df -i`): delete old local backups the vault already holds (`agent list`), shorten the backup job's local retention, or grow the disk; a full disk makes backups fail or hang")
    }

    static func diskStatus(freeShare: Double, inodeShare: Double?) -> CheckStatus {
        let least = min(freeShare, inodeShare ?? 1)
        if least < 0.02 { return .fail }
        if least < 0.10 { return .warn }
        return .pass
    }

    struct Usage {
        var fileSystem: UInt64
        var totalBytes: Int64
        var freeBytes: Int64
        var freeShare: Double
        /// Nil where the file system has no inode limit (btrfs reports 0 inodes).
        var inodeShare: Double?
    }

    static func fileSystemUsage(_ path: String) -> Usage? {
        var s = statvfs()
        guard statvfs(path, &s) == 0, s.f_blocks > 0 else { return nil }
        let unit = Int64(s.f_frsize > 0 ? s.f_frsize : s.f_bsize)
        let total = Int64(s.f_blocks) * unit
        let free = Int64(s.f_bavail) * unit
        let inodes = s.f_files > 0 ? Double(s.f_favail) / Double(s.f_files) : nil
        return Usage(fileSystem: UInt64(s.f_fsid), totalBytes: total, freeBytes: free, freeShare: Double(free) / Double(total), inodeShare: inodes)
    }

    /// `path`, or its nearest parent that exists (a state_dir not made yet).
    static func existingAncestor(_ path: String) -> String {
        var p = path
        while !p.isEmpty, p != "/", access(p, F_OK) != 0 {
            p = String(p[..<(p.lastIndex(of: "/") ?? p.startIndex)])
        }
        return p.isEmpty ? "/" : p
    }

    /// Time synchronisation (timedatectl, else the kernel's adjtimex state) and the skew against
    /// each vault's `Date` header (warn over 1 min, fail over 15 min).
    func clockCheck() -> DoctorCheck {
        var findings: [String] = []
        var status = CheckStatus.pass
        var synchronised: Bool?
        if access(options.systemRoot + "/run/systemd/system", F_OK) == 0,
            let answer = options.command.run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]), answer.status == 0
        {
            synchronised = answer.output.trimming(" \n") == "yes"
        } else if options.systemRoot.isEmpty {
            let state = agent_clock_synchronised()
            if state >= 0 { synchronised = state == 1 }
        }
        switch synchronised {
        case true?: findings.append("the system clock is synchronised")
        case false?:
            findings.append("the system clock is not synchronised (no NTP)")
            status = .warn
        case nil: findings.append("time synchronisation cannot be read here")
        }
        var code: String?
        var measured = false
        var endpoints: Set<String> = []
        for vault in resolved where endpoints.insert(vault.endpoint).inserted {
            guard let server = options.serverTime(vault) else {
                findings.append("vault \(vault.name)'s server did not answer with a Date header (`agent test-connection --vault \(vault.name)`)")
                continue
            }
            measured = true
            let local = options.localTime()
            if let finding = ClockSkew.finding(local: local, server: server) {
                findings.append("vault \(vault.name): \(finding.explanation)")
                code = finding.code.rawValue
                if finding.status == .fail { status = .fail } else if status == .pass { status = .warn }
            } else {
                findings.append("within a minute of vault \(vault.name)'s server clock")
            }
        }
        // The skew a run last had to correct (or test-connection measured), from the metrics file.
        let metrics = config.metricsFile.map { MetricsRecorder(stateDir: config.stateDir, file: $0).load() } ?? [:]
        for name in metrics.keys.sorted() where (metrics[name]?.clockSkew ?? 0) != 0 {
            let skew = metrics[name]?.clockSkew ?? 0
            findings.append(
                "the last skew seen against vault \(name) was \(ClockSkew.describe(skew)) \(skew > 0 ? "ahead" : "behind") (offsite_agent_clock_skew_seconds; runs correct it with the server's time)")
            // Without a live answer from the vault, the recorded skew is the best evidence there is.
            if !measured, abs(skew) > ClockSkew.warnAfter {
                code = ErrorCode.clockSkew.rawValue
                if abs(skew) > ClockSkew.failAfter { status = .fail } else if status == .pass { status = .warn }
            }
        }
        if !measured, code == ErrorCode.clockSkew.rawValue { measured = true }
        if synchronised == nil, !measured { return DoctorCheck("clock", .skip, findings.joined(separator: "; "), fix: "check `timedatectl status`") }
        if status == .pass { return DoctorCheck("clock", .pass, findings.joined(separator: "; ")) }
        return DoctorCheck(
            "clock", status, code: code ?? "CLOCK_NOT_SYNCHRONISED", findings.joined(separator: "; "),
            fix: "turn on time synchronisation: `timedatectl set-ntp true` (or start chronyd/ntpd), then check `timedatectl status`")
    }

    /// The config and secret files 0600, the state directory 0700, no plain http to another host.
    func filesCheck() -> DoctorCheck {
        var findings = config.securityWarnings().map { "\($0.message) (\($0.hint))" }
        var st = stat()
        if stat(config.path, &st) == 0, st.st_mode & 0o022 != 0 {
            findings.append("the config file \(config.path) is writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))) (chmod 600 \(config.path))")
        }
        if stat(config.stateDir, &st) == 0, st.st_mode & 0o077 != 0 {
            findings.append(
                "the state directory \(config.stateDir) is open to group or others (mode \(String(st.st_mode & 0o777, radix: 8))): it holds the journal and, for unfinished encrypted uploads, file keys (chmod 700 \(config.stateDir))"
            )
        }
        if findings.isEmpty {
            return DoctorCheck("files", .pass, "\(config.path), the secret files and \(config.stateDir) are private to the agent's user")
        }
        return DoctorCheck(
            "files", .warn, code: "FILE_MODES", findings.joined(separator: "; "),
            fix: "run the chmod commands named, as root; keep the files owned by the user the agent runs as")
    }
}

extension Doctor {
    /// The vault server's time from the `Date` header of an unsigned request to its endpoint
    /// (any answer, an error included, carries one); nil when it does not answer in 10 s.
    public static func serverTime(of vault: ResolvedVault) -> Int64? {
        var options = TransferOptions()
        options.connectTimeout = min(vault.connectTimeout, 10)
        options.totalTimeout = 10
        options.stallTimeout = 0
        options.caFile = vault.caFile
        let request = HTTPRequest(method: "HEAD", url: vault.endpoint + "/", sink: .memory(limit: 4096), options: options)
        guard case .success(let response) = HTTPClient().execute(request) else { return nil }
        return ClockSkew.serverTime(dateHeader: response.header("Date"))
    }
}
