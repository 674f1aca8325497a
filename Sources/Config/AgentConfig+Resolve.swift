import AgentSupport
import Providers

extension AgentConfig {
    /// Applies the vault's profile, fills defaults, renders the endpoint and reads the credentials.
    func resolve(_ name: String, namedBy setting: String?) throws -> ResolvedVault {
        guard let v = vaultSettings[name] else { throw unknownVault(name, namedBy: setting) }
        func fail(_ key: String?, _ message: String, hint: String) -> AgentError {
            AgentError(.invalidConfig, "\(v.location(key)): vault `\(name)`: \(message)", hint: hint)
        }

        guard let providerName = v.provider else {
            throw fail(nil, "sets no provider", hint: "add `provider = \"...\"`, one of \(catalog.names.joined(separator: ", "))")
        }
        guard let profile = catalog.profile(named: providerName) else {
            throw fail(
                "provider", "unknown provider `\(providerName)`; the known providers are \(catalog.names.joined(separator: ", "))",
                hint:
                    "use one of those (`other` for any S3-compatible service), or add a profile \(providerName).toml to \(providersDir ?? ProviderCatalog.defaultOverrideDirectory)"
            )
        }
        guard let bucket = v.bucket, !bucket.isEmpty else {
            throw fail(v.bucket == nil ? nil : "bucket", "sets no bucket", hint: "add `bucket = \"...\"` naming a bucket you made in \(profile.terms.bucketConsole)")
        }

        guard let region = v.region ?? profile.defaultRegion else {
            throw fail(nil, "sets no region and provider `\(profile.name)` has no default one", hint: "add `region = \"...\"`. \(profile.regionHint)")
        }
        if !profile.regions.isEmpty, !profile.regions.contains(region) {
            throw fail(
                "region", "region \"\(region)\" is not one \(profile.displayName) accepts; allowed: \(profile.regions.joined(separator: ", "))",
                hint: "set `region = \"\(profile.regions[0])\"`\(profile.regionHint.isEmpty ? "" : ". \(profile.regionHint)")")
        }

        let endpoint: String
        do {
            if let override = v.endpoint {
                guard let url = EndpointTemplate.normalizedBaseURL(override) else {
                    throw fail(
                        "endpoint", "endpoint \"\(override)\" is not an http(s) base URL", hint: "write scheme and host (and port) only, e.g. \"https://s3.example.com:9000\"")
                }
                endpoint = url
            } else {
                endpoint = try profile.endpoint(region: region, settings: v.settings)
            }
        } catch var error as AgentError where !error.message.hasPrefix(v.location(nil)) {
            error.message = "\(v.location(nil)): vault `\(name)`: \(error.message)"
            throw error
        }

        let pathStyle = v.pathStyle ?? (profile.addressing == .path)
        if !pathStyle, !profile.virtualHosted {
            throw fail("path_style", "path_style = false, but \(profile.displayName) does not serve virtual-hosted-style requests", hint: "remove `path_style` or set it to true")
        }

        if let partSize = v.partSize {
            let limits = profile.multipart
            guard partSize >= limits.minPartSize, partSize <= limits.maxPartSize else {
                throw fail(
                    "part_size",
                    "part_size \(Units.formatSize(partSize)) is outside \(profile.displayName)'s limits \(Units.formatSize(limits.minPartSize))...\(Units.formatSize(limits.maxPartSize))",
                    hint: "set `part_size` within those limits, or remove it to let the agent choose")
            }
        }
        if let caFile = v.caFile, !LocalFiles.isReadable(caFile) {
            throw fail("ca_file", "cannot read ca_file \(caFile)", hint: "point `ca_file` at a readable PEM bundle")
        }

        var objectLock: ObjectLockSettings?
        if let mode = v.objectLockMode, let days = v.objectLockDays {
            guard profile.objectLock.supported else {
                throw fail(
                    "object_lock_mode", "object_lock_mode = \"\(mode.rawValue)\" asks for S3 Object Lock, which \(profile.displayName) does not support: uploads would not be protected",
                    hint: profile.objectLock.hint)
            }
            objectLock = ObjectLockSettings(mode: mode, days: days)
        }

        var resolved = ResolvedVault(
            name: name, bucket: bucket, region: region, endpoint: endpoint,
            prefix: try resolvedPrefix(v, fail: fail),
            profile: profile, pathStyle: pathStyle,
            credentials: try CredentialResolver(vault: v, profile: profile, environment: environment).resolve(),
            partSize: v.partSize,
            multipartThreshold: v.multipartThreshold,
            concurrency: v.concurrency ?? ResolvedVault.defaultConcurrency,
            bandwidthLimit: v.bandwidthLimit,
            storageClass: v.storageClass, serverSideEncryption: v.serverSideEncryption, caFile: v.caFile,
            connectTimeout: v.connectTimeout ?? ResolvedVault.defaultConnectTimeout,
            stallTimeout: v.stallTimeout ?? ResolvedVault.defaultStallTimeout,
            stallMinRate: v.stallMinRate ?? ResolvedVault.defaultStallMinRate,
            maxAttempts: v.maxAttempts ?? ResolvedVault.defaultMaxAttempts,
            keepDays: v.keepDays, keepLast: v.keepLast)
        resolved.objectLock = objectLock
        resolved.keepDaily = v.keepDaily
        resolved.keepWeekly = v.keepWeekly
        resolved.keepMonthly = v.keepMonthly
        resolved.keepYearly = v.keepYearly
        resolved.bandwidthTimetable = v.bandwidthTimetable
        resolved.pingURL = pingURL(forVault: name)
        resolved.recipients = try encryptionRecipients(v, fail: fail)
        resolved.identityFile = v.identityFile
        return resolved
    }

    /// `prefix` as written (leading "/" dropped, trailing "/" added), or "<hostname>/" when unset.
    /// An explicit "" keeps keys at the bucket's top level.
    private func resolvedPrefix(_ v: VaultSettings, fail: (String?, String, String) -> AgentError) throws -> String {
        guard var prefix = v.prefix else { return LocalHost.name() + "/" }
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if prefix.isEmpty { return "" }
        if !prefix.hasSuffix("/") { prefix += "/" }
        let segments = prefix.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        if segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw fail("prefix", "prefix \"\(v.prefix ?? "")\" has an empty, \".\" or \"..\" path segment", "write it as name/ or name/sub/")
        }
        return prefix
    }
}
