import AgentSupport
import ArgumentParser
import Metrics
import Operations

struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Every host backing up into the vault's bucket, and when each last got a backup offsite.",
        discussion: """
            The hosts are the prefixes beside this vault's (its prefix is <host>/ by default; the fleet is every prefix \
            under the same parent, this host's included). For each: its newest complete backup, from the offsite manifests \
            alone, and the time since it was uploaded; a host is overdue past --max-age. Needs only list and read \
            permission, so it can run from an admin's machine with a read-only key. A folder with no offsite manifest \
            counts as a host whose uploads never finished (overdue); leave folders that are not hosts out with --exclude. \
            Exits 1 when any host is overdue.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Vault whose bucket to look at (default: default_vault).")
    var vault: String?

    @Option(name: .long, help: "A host whose newest complete backup is older than this is overdue (default 26h).")
    var maxAge: String = "26h"

    @Option(name: .long, help: ArgumentHelp("A folder beside the hosts that is not a host (e.g. shared/ or acme/shared/); repeatable.", valueName: "prefix"))
    var exclude: [String] = []

    @Option(name: .long, help: ArgumentHelp("Also write one Prometheus gauge per host (age of its newest backup) to this file.", valueName: "file"))
    var metrics: String?

    func validate() throws {
        guard let seconds = Units.parseDuration(maxAge), seconds > 0 else { throw ValidationError("--max-age \(maxAge) is not a duration (e.g. 26h)") }
    }

    func run() throws {
        global.apply()
        let (_, _, session) = try VaultAccess.open(global, vault: vault, quiet: global.json)
        let maxAgeSeconds = Units.parseDuration(maxAge) ?? 26 * 3600
        let now = Timestamp.now()
        var fleet = Fleet(session: session)
        fleet.excluded = exclude
        let hosts = try fleet.hosts(maxAge: maxAgeSeconds, now: now)
        let overdue = hosts.filter(\.overdue)
        if let metrics {
            let gauges = hosts.map { FleetGauges.Host(prefix: $0.prefix, host: $0.host, ageSeconds: $0.ageSeconds, overdue: $0.overdue) }
            do {
                try FleetGauges.write(FleetGauges.render(vault: session.vault, hosts: gauges), to: metrics)
            } catch {
                Output.diagnostic("warning: --metrics \(metrics) not written: \(error.description)")
            }
        }
        Output.exitStatus = overdue.isEmpty ? .success : .failed
        if global.json {
            Output.emit(.object([("ok", .bool(overdue.isEmpty)), ("vault", .string(session.vault)), ("hosts", .array(hosts.map(\.json)))]))
            return
        }
        var table = TextTable(header: ["HOST", "PREFIX", "LAST BACKUP", "UPLOADED", "AGE", "STATE"])
        for h in hosts {
            table.rows.append([
                h.host + (h.isThisVault ? " (this vault)" : ""), h.prefix, h.lastBackup ?? "-", h.uploadedAt.map(Timestamp.iso8601) ?? "never",
                h.ageSeconds.map { Units.formatDuration(Double($0)) } ?? "-", h.overdue ? "OVERDUE" : "ok",
            ])
        }
        Output.line(hosts.isEmpty ? "no host prefix in vault \(session.vault)'s bucket \(session.bucket)" : table.rendered())
        if !overdue.isEmpty {
            Output.diagnostic("error: \(overdue.count) host(s) have no complete offsite backup newer than \(maxAge): \(overdue.map(\.host).joined(separator: ", "))")
            Output.diagnostic("hint: on each, run `agent doctor` and `agent status`; check its post-backup hook and resume timer; leave a folder that is not a host out with --exclude <prefix>")
        }
    }
}
