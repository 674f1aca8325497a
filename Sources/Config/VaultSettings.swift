import AgentSupport
import Providers

/// A `[vaults.NAME]` table as written: types, sizes and durations checked when the config is
/// loaded; provider, bucket and credentials checked when the vault is used (`AgentConfig.vault`).
struct VaultSettings: Sendable {
    var name: String
    /// `file:line` of each key (inherited top-level defaults point at the top-level line), and
    /// of the table itself under "".
    var locations: [String: String] = [:]

    var provider: String?
    var bucket: String?
    var region: String?
    var prefix: String?
    var endpoint: String?
    var pathStyle: Bool?
    /// String settings the profile's endpoint template may need (`account_id`).
    var settings: [String: String] = [:]

    var credentials: String?
    var accessKeyID: String?
    var secretAccessKey: SecretSource?
    var sessionToken: SecretSource?

    var partSize: Int64?
    var multipartThreshold: Int64?
    var concurrency: Int?
    var bandwidthLimit: Int64?
    /// `bandwidth_limit` written as a timetable (then `bandwidthLimit` is nil).
    var bandwidthTimetable: BandwidthTimetable?
    var storageClass: String?
    var serverSideEncryption: String?
    var caFile: String?
    var connectTimeout: Double?
    var stallTimeout: Double?
    var stallMinRate: Int64?
    var maxAttempts: Int?
    var keepDays: Int?
    var keepLast: Int?
    var objectLockMode: ObjectLockMode?
    var objectLockDays: Int?
    var keepDaily: Int?
    var keepWeekly: Int?
    var keepMonthly: Int?
    var keepYearly: Int?
    /// The monitor's ping URL (a capability: never printed in full).
    var pingURL: String?
    /// age recipients as written (`encrypt_to`), the recipients file, and the restore-side identity file.
    var encryptTo: [String]?
    var encryptToFile: String?
    var identityFile: String?

    static let knownKeys: Set<String> = [
        "provider", "bucket", "account_id", "region", "prefix", "endpoint", "path_style",
        "credentials", "access_key_id",
        "secret_access_key", "secret_access_key_file", "secret_access_key_env",
        "session_token", "session_token_file", "session_token_env",
        "part_size", "multipart_threshold", "concurrency", "bandwidth_limit", "storage_class", "server_side_encryption", "ca_file",
        "connect_timeout", "stall_timeout", "stall_min_rate", "max_attempts", "keep_days", "keep_last",
        "object_lock_mode", "object_lock_days",
        "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "ping_url",
        "encrypt_to", "encrypt_to_file", "identity_file",
    ]

}

extension VaultSettings {
    /// Keys that `credentials = "..."` replaces.
    static let credentialKeys = [
        "access_key_id", "secret_access_key", "secret_access_key_file", "secret_access_key_env",
        "session_token", "session_token_file", "session_token_env",
    ]

    /// Reads one vault table. `settingNames` are the extra settings profiles ask for.
    init(name: String, table t: TOMLSection, settingNames: Set<String>) throws {
        self.name = name
        try t.rejectUnknownKeys(
            allowed: Self.knownKeys.union(settingNames),
            hint: "remove it or correct its spelling; the vault settings are listed in README.md (Configuration) and samples/agent.toml")
        locations[""] = t.location()
        for key in t.keys { locations[key] = t.location(key) }

        provider = try nonEmpty(t, "provider")
        bucket = try t.string("bucket")
        region = try nonEmpty(t, "region")
        prefix = try t.string("prefix")
        endpoint = try nonEmpty(t, "endpoint")
        pathStyle = try t.bool("path_style")
        for key in settingNames.union(["account_id"]) {
            if let value = try t.string(key) { settings[key] = value }
        }

        credentials = try nonEmpty(t, "credentials")
        accessKeyID = try nonEmpty(t, "access_key_id")
        secretAccessKey = try Self.secretSource(t, "secret_access_key")
        sessionToken = try Self.secretSource(t, "session_token")
        if credentials != nil, let clash = Self.credentialKeys.first(where: t.contains) {
            throw t.error(clash, "cannot be combined with `credentials`", hint: "set either `credentials = \"...\"` or the keys themselves, not both")
        }

        try readInheritable(t)
        storageClass = try nonEmpty(t, "storage_class")
        serverSideEncryption = try nonEmpty(t, "server_side_encryption")
        caFile = try nonEmpty(t, "ca_file")
        connectTimeout = try positive(t, "connect_timeout", t.duration)
        maxAttempts = try ranged(t, "max_attempts", 1...100)
        keepDays = try ranged(t, "keep_days", 1...100_000)
        keepLast = try ranged(t, "keep_last", 1...100_000)
        keepDaily = try ranged(t, "keep_daily", 1...100_000)
        keepWeekly = try ranged(t, "keep_weekly", 1...100_000)
        keepMonthly = try ranged(t, "keep_monthly", 1...100_000)
        keepYearly = try ranged(t, "keep_yearly", 1...100_000)
        pingURL = try pingURLSetting(t, "ping_url")
        encryptTo = try t.stringArray("encrypt_to")
        encryptToFile = try nonEmpty(t, "encrypt_to_file")
        identityFile = try nonEmpty(t, "identity_file")
        try readObjectLock(t)
    }

    /// `object_lock_mode` and `object_lock_days`: both or neither.
    private mutating func readObjectLock(_ t: TOMLSection) throws {
        if let text = try t.string("object_lock_mode") {
            guard let mode = ObjectLockMode(rawValue: text.uppercased()) else {
                throw t.error("object_lock_mode", "is \"\(text)\"", hint: "set `object_lock_mode = \"GOVERNANCE\"` or `\"COMPLIANCE\"`")
            }
            objectLockMode = mode
        }
        objectLockDays = try ranged(t, "object_lock_days", ObjectLockSettings.allowedDays)
        if objectLockMode != nil, objectLockDays == nil {
            throw t.error("object_lock_mode", "is set without object_lock_days", hint: "add `object_lock_days = N` (1 to 36500): how long each uploaded object stays locked")
        }
        if objectLockMode == nil, objectLockDays != nil {
            throw t.error("object_lock_days", "is set without object_lock_mode", hint: "add `object_lock_mode = \"GOVERNANCE\"` or `\"COMPLIANCE\"`, or remove object_lock_days")
        }
    }

    /// The settings that may also be written once at the top level as defaults for every vault.
    static let inheritableKeys: Set<String> = ["part_size", "multipart_threshold", "concurrency", "bandwidth_limit", "stall_timeout", "stall_min_rate"]

    /// Reads `inheritableKeys` from `t` (a vault table, or the top level).
    mutating func readInheritable(_ t: TOMLSection) throws {
        partSize = try positive(t, "part_size", t.size)
        multipartThreshold = try positive(t, "multipart_threshold", t.size)
        concurrency = try ranged(t, "concurrency", 1...64)
        try readBandwidthLimit(t)
        stallTimeout = try positive(t, "stall_timeout", t.duration)
        stallMinRate = try positive(t, "stall_min_rate", t.rate)
    }

    /// `bandwidth_limit`: a rate (`"20MiB/s"`, a number of bytes/s, `"off"`) or rclone's timetable
    /// (`"08:00,2MiB/s 19:00,20MiB/s 23:00,off"`, weekday prefixes `"Mon-08:00,..."`).
    mutating func readBandwidthLimit(_ t: TOMLSection) throws {
        guard t.contains("bandwidth_limit") else { return }
        guard let text = try? t.string("bandwidth_limit") else {
            bandwidthLimit = try positive(t, "bandwidth_limit", t.rate)
            return
        }
        switch BandwidthTimetable.parse(text) {
        case .failure(let problem):
            throw t.error(
                "bandwidth_limit", problem.message,
                hint: "write a rate such as \"20MiB/s\", or a timetable such as \"08:00,2MiB/s 19:00,20MiB/s 23:00,off\" (weekday prefixes: \"Mon-08:00,2MiB/s\")")
        case .success(let table):
            if table.isTimetable { bandwidthTimetable = table } else { bandwidthLimit = table.entries.first?.rate ?? 0 }
        }
    }

    /// Fills settings the vault leaves unset from the top-level defaults.
    mutating func inherit(from defaults: VaultSettings) {
        func take<T>(_ key: String, _ path: WritableKeyPath<VaultSettings, T?>) {
            guard self[keyPath: path] == nil, let value = defaults[keyPath: path] else { return }
            self[keyPath: path] = value
            locations[key] = defaults.locations[key]
        }
        take("part_size", \.partSize)
        take("multipart_threshold", \.multipartThreshold)
        take("concurrency", \.concurrency)
        if bandwidthLimit == nil, bandwidthTimetable == nil {
            take("bandwidth_limit", \.bandwidthLimit)
            take("bandwidth_limit", \.bandwidthTimetable)
        }
        take("stall_timeout", \.stallTimeout)
        take("stall_min_rate", \.stallMinRate)
    }

    /// The `file:line` of `key`, else of the vault table.
    func location(_ key: String?) -> String {
        key.flatMap { locations[$0] } ?? locations[""] ?? ""
    }

    /// One of `X`, `X_file`, `X_env`; more than one is a mistake worth stopping for.
    private static func secretSource(_ t: TOMLSection, _ key: String) throws -> SecretSource? {
        let present = [key, key + "_file", key + "_env"].filter(t.contains)
        if present.count > 1 {
            throw t.error(present[1], "cannot be combined with `\(present[0])`", hint: "keep only one of \(present.map { "`\($0)`" }.joined(separator: ", "))")
        }
        if let value = try t.string(key) {
            guard !value.isEmpty else { throw t.error(key, "is empty", hint: "set it, or remove it and use `\(key)_file`") }
            return .value(value)
        }
        if let path = try nonEmpty(t, key + "_file") { return .file(path) }
        if let variable = try nonEmpty(t, key + "_env") { return .environment(variable) }
        return nil
    }
}

/// A string setting that, when present, must not be empty.
func nonEmpty(_ t: TOMLSection, _ key: String) throws -> String? {
    guard let value = try t.string(key) else { return nil }
    guard !value.isEmpty else { throw t.error(key, "is empty", hint: "set a value or remove the line") }
    return value
}

/// A monitor ping URL: `http(s)://host/...`, no spaces or fragment. The value is a capability,
/// so messages about it never quote it.
func pingURLSetting(_ t: TOMLSection, _ key: String) throws -> String? {
    guard let value = try t.string(key) else { return nil }
    if let problem = PingURLRules.problem(value) {
        throw t.error(key, "\(problem) (the value is not shown: a ping URL is a secret)", hint: "write the monitor's full URL, e.g. \"https://hc-ping.com/<uuid>\"")
    }
    return value
}

/// A size, rate or duration that, when present, must be larger than zero.
func positive<T: Numeric & Comparable>(_ t: TOMLSection, _ key: String, _ read: (String) throws -> T?) throws -> T? {
    guard let value = try read(key) else { return nil }
    guard value > 0 else { throw t.error(key, "must be larger than zero", hint: "set a positive value or remove the line for the default") }
    return value
}

/// An integer setting within `range`.
func ranged(_ t: TOMLSection, _ key: String, _ range: ClosedRange<Int>) throws -> Int? {
    guard let value = try t.int(key) else { return nil }
    guard range.contains(value) else {
        throw t.error(key, "is \(value), outside \(range.lowerBound)...\(range.upperBound)", hint: "set `\(key)` between \(range.lowerBound) and \(range.upperBound)")
    }
    return value
}
