import AgentSupport
import Config
import Diagnostics
import Foundation
import TestSupport
import Testing

@testable import Operations

/// Doctor's checks against a prepared system root: systemd and cron as files and fake commands.
@Suite struct DoctorTests {
    static func doctor(root: String, answers: [String: String] = [:]) throws -> (Doctor, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let path = try dir.write(
            "agent.toml",
            """
            backup_dir = "\(dir.path)"
            state_dir = "\(dir.path)/state"
            [vaults.primary]
            provider = "minio"
            endpoint = "http://127.0.0.1:9"
            bucket = "b"
            access_key_id = "AKIAEXAMPLE"
            secret_access_key = "secret"
            """)
        let config = try AgentConfig.load(path: path, environment: [:])
        var options = Doctor.Options()
        options.systemRoot = root
        options.command = LocalCommand { program, arguments in
            answers[([program] + arguments).joined(separator: " ")].map { (0, $0 + "\n") }
        }
        return (Doctor(config: config, options: options), dir)
    }

    static func makeRoot(_ files: [String: String]) throws -> TemporaryDirectory {
        let root = try TemporaryDirectory()
        for (path, text) in files {
            let full = root.path + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func anEnabledActiveTimerPasses() throws {
        let root = try Self.makeRoot(["/run/systemd/system/.keep": ""])
        let (doctor, _) = try Self.doctor(
            root: root.path,
            answers: ["systemctl is-enabled offsite-agent-resume.timer": "enabled", "systemctl is-active offsite-agent-resume.timer": "active"])
        #expect(doctor.scheduleCheck().status == .pass)
    }

    @Test func aDisabledTimerWithoutCronFailsWithTheEnableCommand() throws {
        let root = try Self.makeRoot(["/run/systemd/system/.keep": ""])
        let (doctor, _) = try Self.doctor(
            root: root.path,
            answers: ["systemctl is-enabled offsite-agent-resume.timer": "disabled", "systemctl is-active offsite-agent-resume.timer": "inactive"])
        let check = doctor.scheduleCheck()
        #expect(check.status == .fail)
        #expect(check.code == "SCHEDULE_INACTIVE")
        #expect(check.explanation.contains("disabled and inactive"))
        #expect(check.fix.contains("systemctl enable --now offsite-agent-resume.timer"))
    }

    @Test func aCronLineNeedsARunningCronDaemon() throws {
        let line = "*/15 * * * * root /usr/bin/agent resume --all"
        let stopped = try Self.makeRoot(["/etc/cron.d/offsite-agent": "# comment\n" + line + "\n", "/proc/42/comm": "sshd\n"])
        let check = try Self.doctor(root: stopped.path).0.scheduleCheck()
        #expect(check.status == .fail)
        #expect(check.code == "CRON_NOT_RUNNING")
        #expect(check.explanation.contains(line))

        let running = try Self.makeRoot(["/etc/crontab": line + "\n", "/proc/7/comm": "cron\n"])
        #expect(try Self.doctor(root: running.path).0.scheduleCheck().status == .pass)

        let commentedOut = try Self.makeRoot(["/etc/crontab": "# " + line + "\n", "/proc/7/comm": "crond\n"])
        #expect(try Self.doctor(root: commentedOut.path).0.scheduleCheck().code == "SCHEDULE_INACTIVE")
    }

    @Test func withNeitherSystemdNorCronTheScheduleIsSkippedWithTheReason() throws {
        let root = try Self.makeRoot(["/proc/1/comm": "init\n"])
        let check = try Self.doctor(root: root.path).0.scheduleCheck()
        #expect(check.status == .skip)
        #expect(check.explanation.contains("neither systemd nor a cron daemon"))
    }

    @Test func flockHoldersAreReadFromProcLocks() throws {
        let root = try Self.makeRoot([
            "/proc/locks": """
            1: FLOCK  ADVISORY  WRITE 4242 fd:01:918273 0 EOF
            1: -> FLOCK  ADVISORY  WRITE 4343 fd:01:918273 0 EOF
            2: POSIX  ADVISORY  WRITE 99 08:02:55 0 EOF
            3: FLOCK  ADVISORY  READ  17 00:2a:12 0 EOF
            """
        ])
        #expect(Doctor.flockHolders(root: root.path) == [918273: 4242, 12: 17])
    }

    @Test func diskThresholdsAreTenAndTwoPercent() {
        #expect(Doctor.diskStatus(freeShare: 0.5, inodeShare: 0.5) == .pass)
        #expect(Doctor.diskStatus(freeShare: 0.09, inodeShare: nil) == .warn)
        #expect(Doctor.diskStatus(freeShare: 0.5, inodeShare: 0.05) == .warn)
        #expect(Doctor.diskStatus(freeShare: 0.019, inodeShare: 0.5) == .fail)
        #expect(Doctor.diskStatus(freeShare: 0.5, inodeShare: 0.01) == .fail)
    }

    @Test func clockSkewAgainstTheVaultIsAFinding() throws {
        let (base, _) = try Self.doctor(root: "/nonexistent")
        var options = base.options
        options.serverTime = { _ in 1_000_000 }
        options.localTime = { 1_000_000 + 20 * 60 }
        let doctor = Doctor(config: base.config, options: options)
        _ = doctor.run()
        let check = doctor.clockCheck()
        #expect(check.status == .fail)
        #expect(check.code == "CLOCK_SKEW")
        #expect(check.explanation.contains("20 min"))
    }

    @Test func aRecordedSkewCountsWhenTheVaultCannotBeAsked() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/state", withIntermediateDirectories: true)
        try dir.write("state/metrics.json", #"{"vaults": {"primary": {"clock_skew_seconds": 1200}}}"#)
        let path = try dir.write(
            "agent.toml",
            """
            backup_dir = "\(dir.path)"
            state_dir = "\(dir.path)/state"
            metrics_file = "\(dir.path)/agent.prom"
            [vaults.primary]
            provider = "minio"
            endpoint = "http://127.0.0.1:9"
            bucket = "b"
            access_key_id = "AKIAEXAMPLE"
            secret_access_key = "secret"
            """)
        var options = Doctor.Options()
        options.systemRoot = "/nonexistent"
        let doctor = Doctor(config: try AgentConfig.load(path: path, environment: [:]), options: options)
        let check = try #require(doctor.run().checks.first { $0.id == "clock" })
        #expect(check.status == .fail)
        #expect(check.code == "CLOCK_SKEW")
        #expect(check.explanation.contains("20 min 0 s ahead"))
    }
}
