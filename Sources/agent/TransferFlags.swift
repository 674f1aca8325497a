import AgentSupport
import ArgumentParser
import Config
import Upload
import Vault

/// `--part-size`, `--concurrency`, `--bandwidth-limit`: one run's limits, checked as the
/// config's `part_size`, `concurrency` and `bandwidth_limit` are (same bounds, same words; exit 2).
struct TransferFlags: ParsableArguments {
    @Option(name: .long, help: "Multipart part size for this run, e.g. 16MiB (within the provider's part size limits).")
    var partSize: String?

    @Option(name: .long, help: "Parts in flight at once for this run (1...64).")
    var concurrency: Int?

    @Option(name: .long, help: "Bandwidth limit for the whole agent for this run, e.g. 20MiB/s.")
    var bandwidthLimit: String?

    func validate() throws {
        try Self.check(concurrency: concurrency)
        try Self.check(bandwidthLimit: bandwidthLimit)
        if let p = partSize {
            guard let size = Units.parseSize(p) else { throw ValidationError("--part-size \(p) is not a size (e.g. 16MiB)") }
            guard size > 0 else { throw ValidationError("--part-size must be larger than zero") }
        }
    }

    static func check(concurrency: Int?) throws {
        if let c = concurrency, !(1...64).contains(c) {
            throw ValidationError("--concurrency is \(c), outside 1...64; set it between 1 and 64")
        }
    }

    static func check(bandwidthLimit: String?) throws {
        if let b = bandwidthLimit {
            guard let rate = Units.parseRate(b) else { throw ValidationError("--bandwidth-limit \(b) is not a rate (e.g. 20MiB/s)") }
            guard rate > 0 else { throw ValidationError("--bandwidth-limit must be larger than zero (leave it out for no limit)") }
        }
    }

    var overrides: RunOverrides {
        RunOverrides(partSize: partSize.flatMap(Units.parseSize), concurrency: concurrency, bandwidthLimit: bandwidthLimit.flatMap(Units.parseRate))
    }

    /// `--part-size` within each vault's provider limits, as `part_size` is checked in the config.
    func check(against vaults: [ResolvedVault]) throws {
        guard let size = overrides.partSize else { return }
        for v in vaults {
            let limits = v.profile.multipart
            if size < limits.minPartSize || size > limits.maxPartSize {
                throw AgentError(
                    .usage,
                    "--part-size \(Units.formatSize(size)) is outside \(v.profile.displayName)'s limits \(Units.formatSize(limits.minPartSize))...\(Units.formatSize(limits.maxPartSize)) (vault \(v.name))",
                    hint: "give a part size within those limits, or leave --part-size out to let the agent choose", exit: .usage)
            }
        }
    }
}
