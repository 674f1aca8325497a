import AgentSupport
import ArgumentParser
import Config
import Operations

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Run the backup troubleshooting checklist on this server.",
        discussion: """
            Checks: config, schedule (the resume timer or a cron line), last_success per vault (journal and metrics file, \
            within --max-age), stuck (backups in progress over 30 minutes), small (an archive under 10 % of the previous \
            backup's, or an empty backup), uploads (interrupted or failed uploads and the multipart uploads they hold), \
            locks (an agent holding an upload lock without progress), disk (free space and inodes of backup_dir and \
            state_dir), clock (synchronisation, skew against each vault's Date header), files (modes of the config, \
            secret files and state_dir). Each is pass, warn, fail or skip, with what was found and the fix. Doctor changes \
            nothing. Exits 0 when nothing failed (warnings allowed), 1 when something failed, 3 for a configuration error.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "A vault whose newest successful upload is older than this is overdue (default 26h).")
    var maxAge: String = "26h"

    func validate() throws {
        guard let seconds = Units.parseDuration(maxAge), seconds > 0 else { throw ValidationError("--max-age \(maxAge) is not a duration (e.g. 26h)") }
    }

    func run() throws {
        global.apply()
        // Read-only: the config is loaded, but no log file, journal or metrics file is written.
        let config = try Runtime.loadConfig(global)
        var options = Doctor.Options()
        options.maxAge = Units.parseDuration(maxAge) ?? 26 * 3600
        options.serverTime = { Doctor.serverTime(of: $0) }
        let report = Doctor(config: config, options: options).run()
        if global.json {
            Output.emit(report.json)
        } else {
            Output.line(report.text)
        }
        Output.exitStatus = report.exitStatus
    }
}
