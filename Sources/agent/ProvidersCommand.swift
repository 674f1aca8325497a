import AgentSupport
import ArgumentParser
import Config
import Providers

struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List provider profiles and what each supports.",
        discussion: """
            Works without a config file: lists the built-in profiles plus those in \
            \(ProviderCatalog.defaultOverrideDirectory), or, with --config, the config's providers_dir.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        global.apply()
        let catalog: ProviderCatalog
        if let path = global.config {
            catalog = try AgentConfig.load(path: path, environment: ProcessEnvironment.current()).catalog
        } else {
            catalog = try ProviderCatalog.load(overrideDirectory: nil)
        }
        if global.json {
            Output.emit(.object([("ok", .bool(true)), ("providers", .array(catalog.profiles.map(Self.json)))]))
            return
        }
        var table = TextTable(header: ["NAME", "DISPLAY NAME", "ENDPOINT", "REGION", "ADDRESSING", "PARTS", "INTEGRITY", "SOURCE"])
        for p in catalog.profiles {
            let m = p.multipart
            table.rows.append([
                p.name, p.displayName,
                p.endpointTemplate.isEmpty ? "(set endpoint)" : p.endpointTemplate,
                p.defaultRegion ?? "(set region)",
                p.addressing.rawValue,
                "\(compact(m.minPartSize))-\(compact(m.maxPartSize)) x\(m.maxParts)\(m.equalParts ? " equal" : "")",
                "\(p.integrity.preferred.rawValue) (verifies \(p.integrity.verifiedModes.map(\.rawValue).joined(separator: ", ")))",
                p.source,
            ])
        }
        Output.line(table.rendered())
    }

    /// `5MiB`, `5GiB`: exact binary units where they fit, for a narrow column.
    private func compact(_ bytes: Int64) -> String {
        for (unit, name) in [(Int64(1) << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] where bytes >= unit && bytes % unit == 0 {
            return "\(bytes / unit)\(name)"
        }
        return Units.formatSize(bytes).filter { $0 != " " }
    }

    static func json(_ p: ProviderProfile) -> JSON {
        let m = p.multipart
        let i = p.integrity
        return .object([
            ("name", .string(p.name)),
            ("display_name", .string(p.displayName)),
            ("endpoint", .string(p.endpointTemplate)),
            ("default_region", p.defaultRegion.map { .string($0) } ?? .null),
            ("regions", .array(p.regions.map { .string($0) })),
            ("required_settings", .array(p.requiredSettings.map { .string($0) })),
            ("addressing", .string(p.addressing.rawValue)),
            ("virtual_hosted", .bool(p.virtualHosted)),
            (
                "multipart",
                .object([
                    ("min_part_size", .int(m.minPartSize)), ("max_part_size", .int(m.maxPartSize)),
                    ("max_parts", .int(Int64(m.maxParts))), ("equal_parts", .bool(m.equalParts)),
                    ("max_single_put", .int(m.maxSinglePut)), ("max_object_size", .int(m.maxObjectSize)),
                    ("multipart_threshold", .int(m.multipartThreshold)),
                ])
            ),
            (
                "integrity",
                .object([
                    ("preferred", .string(i.preferred.rawValue)),
                    ("verified", .array(i.verifiedModes.map { .string($0.rawValue) })),
                    ("checksum_algorithms", .array(i.checksumAlgorithms.map { .string($0) })),
                    ("unsigned_payload", .bool(i.unsignedPayload)),
                    ("aws_chunked", .bool(i.awsChunked)),
                    ("etag_is_md5", .bool(i.etagIsMD5)),
                ])
            ),
            ("source", .string(p.source)),
        ])
    }
}
