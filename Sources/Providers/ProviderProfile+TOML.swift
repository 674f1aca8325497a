import AgentSupport

extension ProviderProfile {
    /// Reads and validates a profile written in the `providers/*.toml` schema.
    ///
    /// - Parameters:
    ///   - file: named in error messages (a path, or "built-in profile r2").
    ///   - source: recorded in `source` ("built-in" or the path).
    ///   - expectedName: when given, the profile's `name` must equal it (the file's stem), so
    ///     that a file in the override directory overrides the profile it looks like it does.
    public static func parse(_ text: String, file: String, source: String, expectedName: String? = nil) throws -> ProviderProfile {
        let root = try TOMLSection.parse(text, file: file)
        let schemaHint = "see docs/providers.md for the profile schema"
        try root.rejectUnknownKeys(allowed: topLevelKeys, hint: "remove it or correct its spelling; \(schemaHint)")

        let name = try root.required("name", root.string)
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw root.error("name", "must be lower-case letters, digits, '-' or '_'", hint: "set `name` to a short id such as \"r2\"")
        }
        if let expectedName, name != expectedName {
            throw root.error("name", "is \"\(name)\" but the file is named \(expectedName).toml", hint: "rename the file to \(name).toml or set `name = \"\(expectedName)\"`")
        }
        let displayName = try root.required("display_name", root.string)
        guard !displayName.isEmpty else { throw root.error("display_name", "must not be empty", hint: "set `display_name` to the provider's name as people know it") }

        let requiredSettings = try root.stringArray("required_settings") ?? []
        for setting in requiredSettings where EndpointTemplate.placeholders("{\(setting)}") != [setting] || setting == "region" {
            throw root.error("required_settings", "holds \"\(setting)\", which is not a setting name", hint: "list vault setting names such as \"account_id\"")
        }

        let endpointTemplate = try root.required("endpoint", root.string)
        if !endpointTemplate.isEmpty {
            guard let names = EndpointTemplate.placeholders(endpointTemplate) else {
                throw root.error("endpoint", "has an unbalanced or malformed {placeholder}", hint: "use {region} and the names listed in required_settings, e.g. {account_id}")
            }
            for placeholder in names where placeholder != "region" && !requiredSettings.contains(placeholder) {
                throw root.error(
                    "endpoint", "uses {\(placeholder)}, which is not listed in required_settings",
                    hint: "add \"\(placeholder)\" to required_settings or remove it from the template")
            }
            guard EndpointTemplate.normalizedBaseURL(fill(endpointTemplate, names, with: "x")) != nil else {
                throw root.error(
                    "endpoint", "is not an http(s) base URL template: \(endpointTemplate)", hint: "write scheme and host only, e.g. \"https://s3.{region}.example.com\"")
            }
        }

        let defaultRegionText = try root.required("default_region", root.string)
        let regions = try root.required("regions", root.stringArray)
        let knownRegions = try root.stringArray("known_regions") ?? regions
        for (key, list) in [("regions", regions), ("known_regions", knownRegions)] {
            if let bad = list.first(where: { $0.isEmpty || !$0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") } }) {
                throw root.error(key, "holds \"\(bad)\", which is not a region name", hint: "list region names such as \"us-east-1\"")
            }
        }
        if !defaultRegionText.isEmpty, !regions.isEmpty, !regions.contains(defaultRegionText) {
            throw root.error("default_region", "\"\(defaultRegionText)\" is not one of regions \(regions)", hint: "add it to regions or pick one of them")
        }

        let addressingText = try root.required("addressing", root.string)
        guard let addressing = AddressingStyle(rawValue: addressingText) else {
            throw root.error("addressing", "must be \"path\" or \"virtual\", not \"\(addressingText)\"", hint: "set `addressing = \"path\"` or `\"virtual\"`")
        }
        let virtualHosted = try root.bool("virtual_hosted") ?? (addressing == .virtual)
        if addressing == .virtual, !virtualHosted {
            throw root.error("virtual_hosted", "is false but addressing is \"virtual\"", hint: "set `virtual_hosted = true` or `addressing = \"path\"`")
        }
        let regionHint = try root.string("region_hint") ?? ""

        let multipart = try parseMultipart(try root.required("multipart", root.section))
        let integrity = try parseIntegrity(try root.required("integrity", root.section))
        let terms = try parseTerms(try root.required("terms", root.section))
        let objectLock = try parseObjectLock(try root.section("object_lock"))

        var profile = ProviderProfile(
            name: name, displayName: displayName, endpointTemplate: endpointTemplate,
            defaultRegion: defaultRegionText.isEmpty ? nil : defaultRegionText,
            regions: regions, knownRegions: knownRegions, requiredSettings: requiredSettings,
            addressing: addressing, virtualHosted: virtualHosted, regionHint: regionHint,
            multipart: multipart, integrity: integrity, terms: terms, source: source)
        profile.objectLock = objectLock
        return profile
    }

    static let topLevelKeys: Set<String> = [
        "name", "display_name", "endpoint", "default_region", "regions", "known_regions", "required_settings",
        "addressing", "virtual_hosted", "region_hint", "multipart", "integrity", "terms", "object_lock",
    ]

    private static func fill(_ template: String, _ names: [String], with value: String) -> String {
        names.reduce(template) { $0.replacingAll("{\($1)}", with: value) }
    }

    private static func parseMultipart(_ t: TOMLSection) throws -> MultipartLimits {
        try t.rejectUnknownKeys(
            allowed: ["min_part_size", "max_part_size", "max_parts", "equal_parts", "max_single_put", "max_object_size", "multipart_threshold"],
            hint: "remove it or correct its spelling")
        func positiveSize(_ key: String) throws -> Int64 {
            let value = try t.required(key, t.size)
            guard value > 0 else { throw t.error(key, "must be larger than zero", hint: "set a size such as \"5MiB\"") }
            return value
        }
        let limits = MultipartLimits(
            minPartSize: try positiveSize("min_part_size"),
            maxPartSize: try positiveSize("max_part_size"),
            maxParts: try t.required("max_parts", t.int),
            equalParts: try t.required("equal_parts", t.bool),
            maxSinglePut: try positiveSize("max_single_put"),
            maxObjectSize: try positiveSize("max_object_size"),
            multipartThreshold: try positiveSize("multipart_threshold"))
        guard limits.maxParts >= 1 else { throw t.error("max_parts", "must be at least 1", hint: "set the provider's part count limit, e.g. 10000") }
        guard limits.minPartSize <= limits.maxPartSize else {
            throw t.error(
                "min_part_size", "(\(Units.formatSize(limits.minPartSize))) is larger than max_part_size (\(Units.formatSize(limits.maxPartSize)))",
                hint: "check both against the provider's documentation")
        }
        guard limits.multipartThreshold <= limits.maxSinglePut else {
            throw t.error(
                "multipart_threshold", "(\(Units.formatSize(limits.multipartThreshold))) is larger than max_single_put (\(Units.formatSize(limits.maxSinglePut)))",
                hint: "files above max_single_put cannot go up in one PUT; lower the threshold")
        }
        guard limits.maxSinglePut <= limits.maxObjectSize else {
            throw t.error(
                "max_single_put", "(\(Units.formatSize(limits.maxSinglePut))) is larger than max_object_size (\(Units.formatSize(limits.maxObjectSize)))",
                hint: "check both against the provider's documentation")
        }
        return limits
    }

    private static func parseIntegrity(_ t: TOMLSection) throws -> IntegritySupport {
        try t.rejectUnknownKeys(
            allowed: ["signed_payload", "unsigned_payload", "content_md5", "checksum_algorithms", "aws_chunked", "preferred", "etag_is_md5"],
            hint: "remove it or correct its spelling")
        let algorithms = try t.required("checksum_algorithms", t.stringArray)
        if let unknown = algorithms.first(where: { !IntegritySupport.knownChecksumAlgorithms.contains($0) }) {
            throw t.error("checksum_algorithms", "holds \"\(unknown)\"", hint: "use only \(IntegritySupport.knownChecksumAlgorithms.joined(separator: ", "))")
        }
        let preferredText = try t.required("preferred", t.string)
        guard let preferred = IntegrityMode(rawValue: preferredText) else {
            throw t.error("preferred", "is \"\(preferredText)\"", hint: "use one of \(IntegrityMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let support = IntegritySupport(
            signedPayload: try t.required("signed_payload", t.bool),
            unsignedPayload: try t.required("unsigned_payload", t.bool),
            contentMD5: try t.required("content_md5", t.bool),
            checksumAlgorithms: algorithms,
            awsChunked: try t.required("aws_chunked", t.bool),
            preferred: preferred,
            etagIsMD5: try t.required("etag_is_md5", t.bool))
        guard support.verifies(preferred) else {
            throw t.error(
                "preferred", "is \"\(preferredText)\", a mechanism this profile does not say the provider verifies",
                hint: "pick one of the mechanisms the profile marks as verified: \(support.verifiedModes.map(\.rawValue).joined(separator: ", "))")
        }
        return support
    }

    /// `[object_lock]`: optional; a profile without it does not offer Object Lock.
    private static func parseObjectLock(_ t: TOMLSection?) throws -> ObjectLockSupport {
        guard let t else { return .undeclared }
        try t.rejectUnknownKeys(allowed: ["supported", "hint"], hint: "remove it or correct its spelling")
        let hint = try t.required("hint", t.string)
        guard !hint.isEmpty else {
            throw t.error("hint", "must not be empty", hint: "say how to enable Object Lock on a bucket, or the provider's alternative")
        }
        return ObjectLockSupport(supported: try t.required("supported", t.bool), hint: hint)
    }

    private static func parseTerms(_ t: TOMLSection) throws -> ProviderTerms {
        try t.rejectUnknownKeys(allowed: ["access_key", "secret_key", "key_console", "bucket_console", "permissions"], hint: "remove it or correct its spelling")
        func text(_ key: String) throws -> String {
            let value = try t.required(key, t.string)
            guard !value.isEmpty else { throw t.error(key, "must not be empty", hint: "write the provider's own words for it") }
            return value
        }
        var permissions: [String: String] = [:]
        if let table = try t.section("permissions") {
            for action in table.keys {
                guard action.hasPrefix("s3:"), action.count > 3 else {
                    throw table.error(action, "is not an S3 action", hint: "use keys such as \"s3:PutObject\"")
                }
                let words = try table.required(action, table.string)
                guard !words.isEmpty else { throw table.error(action, "must not be empty", hint: "write the provider's words for this permission") }
                permissions[action] = words
            }
        }
        return ProviderTerms(
            accessKey: try text("access_key"), secretKey: try text("secret_key"),
            keyConsole: try text("key_console"), bucketConsole: try text("bucket_console"),
            permissions: permissions)
    }
}
