import AgentSupport

/// `agent fleet --metrics FILE`: per host of a vault's bucket, the age of its newest complete
/// offsite backup, in the Prometheus text format node_exporter's textfile collector reads.
public enum FleetGauges {
    public struct Host: Sendable {
        public var prefix: String
        public var host: String
        /// Seconds since its newest complete backup was uploaded; nil: it has none.
        public var ageSeconds: Int64?
        public var overdue: Bool

        public init(prefix: String, host: String, ageSeconds: Int64?, overdue: Bool) {
            self.prefix = prefix
            self.host = host
            self.ageSeconds = ageSeconds
            self.overdue = overdue
        }
    }

    public static func render(vault: String, hosts: [Host]) -> String {
        func labels(_ h: Host) -> String {
            "{vault=\"\(PrometheusText.escapeLabel(vault))\",prefix=\"\(PrometheusText.escapeLabel(h.prefix))\",host=\"\(PrometheusText.escapeLabel(h.host))\"}"
        }
        var out = "# HELP offsite_agent_fleet_backup_age_seconds Seconds since the host's newest complete offsite backup was uploaded (+Inf: none).\n"
        out += "# TYPE offsite_agent_fleet_backup_age_seconds gauge\n"
        for h in hosts { out += "offsite_agent_fleet_backup_age_seconds\(labels(h)) \(h.ageSeconds.map(String.init) ?? "+Inf")\n" }
        out += "# HELP offsite_agent_fleet_overdue 1 if the host's newest complete offsite backup is older than --max-age, else 0.\n"
        out += "# TYPE offsite_agent_fleet_overdue gauge\n"
        for h in hosts { out += "offsite_agent_fleet_overdue\(labels(h)) \(h.overdue ? 1 : 0)\n" }
        return out
    }

    /// Writes `text` atomically, readable by node_exporter.
    public static func write(_ text: String, to file: String) throws(MetricsRecorder.Failure) {
        let directory = AtomicFile.directory(of: file)
        guard AtomicFile.makeDirectories(directory, mode: 0o755) else { throw MetricsRecorder.Failure(description: "cannot create \(directory)") }
        do {
            try AtomicFile.write(text, to: file, mode: 0o644)
        } catch {
            throw MetricsRecorder.Failure(description: "cannot write \(file): \(error)")
        }
    }
}
