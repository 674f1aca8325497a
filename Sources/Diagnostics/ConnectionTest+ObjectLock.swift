import AgentSupport
import Config
import HTTPTransport
import S3

/// What the `lock` check learns along the way: the bucket's Object Lock configuration (read
/// before the probes), and what the probes show about this key's power to erase backups.
struct LockProbeState {
    var config: BucketObjectLock?
    /// GetObjectLockConfiguration's refusal, explained.
    var configFinding: Finding?
    /// The probe object was written locked (GOVERNANCE, a few seconds) to test the bypass.
    var probeRetainUntil: Int64?
    var ms = 0
}

/// What a stolen copy of this key could do to the vault's backups (`--json` `blast_radius`);
/// nil fields were not established (e.g. `--no-write`).
public struct BlastRadius: Sendable, Equatable {
    /// The bucket has Object Lock enabled.
    public var bucketObjectLock: Bool?
    /// The vault writes every object with a retention (`object_lock_mode`).
    public var vaultObjectLock: Bool
    /// The `delete` probe succeeded (on a versioned bucket: hides objects behind delete markers).
    public var canDelete: Bool?
    /// The key deleted a GOVERNANCE-locked probe with x-amz-bypass-governance-retention.
    public var canBypassGovernance: Bool?
    /// The bucket's default retention ("COMPLIANCE for 30 days").
    public var defaultRetention: String?

    public var json: JSON {
        func opt(_ b: Bool?) -> JSON { b.map { .bool($0) } ?? .null }
        return .object([
            ("bucket_object_lock", opt(bucketObjectLock)), ("vault_object_lock", .bool(vaultObjectLock)), ("can_delete", opt(canDelete)),
            ("can_bypass_governance", opt(canBypassGovernance)), ("default_retention", defaultRetention.map { .string($0) } ?? .null),
        ])
    }
}

/// `lock` (SPEC 9, issue 15): the bucket's Object Lock configuration against the vault's
/// object_lock_mode/days, and the key's blast radius: whether it can delete or overwrite
/// existing backups (the `delete` probe tells), whether it may bypass GOVERNANCE retention, and a
/// warning with the remedy when it can erase and the vault has no lock.
extension ConnectionTest {
    /// Seconds a locked probe stays locked: long enough to try deleting it with the bypass
    /// header, short enough to wait for when the key may not bypass.
    static let probeLockSeconds: Int64 = 8

    /// Reads the bucket's Object Lock configuration before the probes: a locked vault's probe is
    /// written as uploads are (with Content-MD5 and a short GOVERNANCE retention).
    func readLockConfiguration() {
        let start = monotonicSeconds()
        do {
            lockProbe.config = try client.getObjectLockConfiguration()
        } catch {
            if case .service(let s) = error.failure {
                if PermissionDiagnosis.isDenial(s) {
                    lockProbe.configFinding = Finding(
                        .lock, vault.objectLock == nil ? .warn : .fail, .permissionDenied,
                        "The server denied reading bucket \(vault.bucket)'s Object Lock configuration \(s.said(context)).",
                        fix: "grant s3:GetBucketObjectLockConfiguration: \(context.permissionTerm("s3:GetBucketObjectLockConfiguration"))")
                } else if s.status == 501 || s.code == "NotImplemented" {
                    lockProbe.config = BucketObjectLock(enabled: false)
                } else {
                    lockProbe.configFinding = Finding(
                        .lock, vault.objectLock == nil ? .warn : .fail, .rejected, "Reading bucket \(vault.bucket)'s Object Lock configuration failed \(s.said(context)).",
                        fix: "check the bucket in \(vault.profile.terms.bucketConsole)")
                }
            } else {
                lockProbe.configFinding = Finding(
                    .lock, .warn, .rejected, "Reading bucket \(vault.bucket)'s Object Lock configuration failed: \(error.failure).",
                    fix: "run `agent test-connection --vault \(vault.name)` again when the connection is stable")
            }
        }
        lockProbe.ms = Self.millis(since: start)
        if lockedProbe { contentMD5Required = true }
    }

    /// The probe is written with its own short retention when the vault locks its objects, and
    /// when the bucket has a default retention: without one the probe would get the default
    /// (perhaps COMPLIANCE for years) and stay, billed, behind a delete marker.
    var lockedProbe: Bool {
        lockProbe.config?.enabled == true && (vault.objectLock != nil || lockProbe.config?.hasDefaultRetention == true)
    }

    /// The storage server's time now: the local clock corrected by the skew the `clock` check
    /// measured. The probe's retention is judged by the server's clock: from a local clock behind
    /// it, a few seconds' retention would already be past (refused); ahead, waited out too early.
    func serverNow() -> Int64 { Int64(wallClock()) - (report.clockSkew ?? 0) }

    /// Object Lock headers for the probe object: a locked vault's probe (or one on a bucket with a
    /// default retention) carries a GOVERNANCE retention of a few seconds, so the bypass can be
    /// tried and the probe still removed.
    func lockProbeHeaders() -> [(name: String, value: String)] {
        guard lockedProbe else { return [] }
        let until = serverNow() + Self.probeLockSeconds
        lockProbe.probeRetainUntil = until
        return S3Client.objectLockHeaders(mode: ObjectLockMode.governance.rawValue, retainUntil: until)
    }

    /// After `delete`: removes the probe's versions (a plain DELETE on a versioned bucket only
    /// adds a delete marker), testing the bypass on the locked one, and records `lock`.
    func runLock(probeKeys: [String]) {
        let start = monotonicSeconds()
        if let failed = results.values.filter({ $0.status == .fail }).map(\.id).min() {
            // Probes left undone say nothing about the key; a failure already decides the test.
            if !probeKeys.isEmpty, lockProbe.config?.enabled == true { _ = removeProbeVersions(probeKeys) }
            record(.lock, .skip, explanation: "not run: the \(failed.rawValue) check failed")
            return
        }
        if let finding = lockProbe.configFinding {
            record(finding, ms: lockProbe.ms)
            return
        }
        let config = lockProbe.config ?? BucketObjectLock(enabled: false)
        let versions = config.enabled ? removeProbeVersions(probeKeys) : ProbeVersions()
        let ms = lockProbe.ms + Self.millis(since: start)
        let deleteResult = results[.delete]
        let canDelete = deleteResult?.status == .pass
        let deleteKnown = deleteResult?.status == .pass || deleteResult?.code == .permissionDenied
        report.blastRadius = BlastRadius(
            bucketObjectLock: config.enabled, vaultObjectLock: vault.objectLock != nil, canDelete: deleteKnown ? canDelete : nil,
            canBypassGovernance: versions.bypass == .allowed ? true : versions.bypass == .denied ? false : nil,
            defaultRetention: config.defaultRetentionDescription)
        var notes: [String] = []
        if let retention = config.defaultRetentionDescription {
            notes.append("The bucket's default retention is \(retention): every object written without its own retention gets it.")
        }
        if !versions.remaining.isEmpty {
            notes.append(
                "The probe object's stored version could not be deleted (\(versions.remaining.joined(separator: "; "))): a plain DELETE on this versioned bucket only added a delete marker; the version is billed until its retention ends, then `aws s3api delete-object --version-id` (or the provider's console) removes it.")
        }

        guard let lock = vault.objectLock else {
            // No lock asked for: what could a stolen key do?
            let radius: String
            if !deleteKnown {
                radius = "Whether this key can delete backups is unknown (the delete probe \(options.noWrite ? "was skipped: --no-write" : "did not run"))."
            } else if canDelete {
                radius = config.enabled
                    ? "This key can delete objects; on this Object Lock bucket a delete hides a version behind a delete marker, and only versions under retention are safe."
                    : "This key can delete and overwrite existing backups, and the vault has no Object Lock: an attacker with root on this server could erase every offsite copy."
            } else {
                radius = "This key cannot delete objects (the delete probe was denied); it can still overwrite an existing backup's objects with s3:PutObject unless the bucket keeps versions."
            }
            let text = ([radius] + notes).joined(separator: " ")
            if canDelete && !(config.enabled && config.hasDefaultRetention) {
                let lockFix =
                    vault.profile.objectLock.supported
                    ? "set `object_lock_mode = \"COMPLIANCE\"` and `object_lock_days = N` in \(context.section) on a bucket with Object Lock (\(vault.profile.objectLock.hint.replacingAll("BUCKET", with: vault.bucket)))"
                    : vault.profile.objectLock.hint.replacingAll("BUCKET", with: vault.bucket)
                record(
                    .lock, .warn, ms: ms, code: .objectLockDisabled, explanation: text,
                    fix: "\(lockFix); or give this server a key without delete permission (samples/iam-policy-no-delete.json; B2/Wasabi: samples/credentials.md) and let the provider's lifecycle rules expire old backups")
            } else if !versions.remaining.isEmpty {
                record(.lock, .warn, ms: ms, code: .objectLock, explanation: text, fix: "nothing to change for uploads; remove the probe version once its retention has ended")
            } else {
                record(.lock, .pass, ms: ms, explanation: text)
            }
            return
        }

        guard config.enabled else {
            record(
                .lock, .fail, ms: ms, code: .objectLockDisabled,
                explanation:
                    "\(context.section) sets object_lock_mode = \"\(lock.mode.rawValue)\", but bucket \(vault.bucket) does not have Object Lock enabled: uploads to it are refused before anything is sent.",
                fix: vault.profile.objectLock.hint.replacingAll("BUCKET", with: vault.bucket))
            return
        }
        var text = "Bucket \(vault.bucket) has Object Lock; uploads write every object with \(lock.mode.rawValue) retention for \(lock.days) day\(lock.days == 1 ? "" : "s")."
        if canDelete {
            text += " This key can delete objects, which on this bucket only hides them behind delete markers: locked versions stay."
        } else if deleteKnown {
            text += " This key cannot delete objects."
        }
        switch versions.bypass {
        case .allowed:
            text += " It may bypass GOVERNANCE retention (s3:BypassGovernanceRetention: the locked probe was deleted with x-amz-bypass-governance-retention)"
            if lock.mode == .governance {
                record(
                    .lock, .warn, ms: ms, code: .objectLock,
                    explanation: text + ": against this key, GOVERNANCE protects nothing. " + notes.joined(separator: " "),
                    fix: "remove s3:BypassGovernanceRetention from this key (\(context.permissionTerm("s3:BypassGovernanceRetention"))), or set `object_lock_mode = \"COMPLIANCE\"` in \(context.section), which no key can bypass")
                return
            }
            text += "; the vault uses COMPLIANCE, which no key can bypass."
        case .denied:
            text += " It may not bypass GOVERNANCE retention (the locked probe could not be deleted early; it was removed once its \(Self.probeLockSeconds) s retention ended)."
        case .untested:
            break
        }
        record(.lock, notes.isEmpty || versions.remaining.isEmpty ? .pass : .warn, ms: ms, code: versions.remaining.isEmpty ? nil : .objectLock,
               explanation: ([text] + notes).joined(separator: " "),
               fix: versions.remaining.isEmpty ? "" : "remove the probe version once its retention has ended")
    }

    struct ProbeVersions {
        enum Bypass { case untested, allowed, denied }
        var bypass = Bypass.untested
        /// Versions left behind, with why.
        var remaining: [String] = []
    }

    /// Deletes every version and delete marker of the probe keys by VersionId. The locked probe
    /// is first deleted with the bypass header (allowed: the key can bypass GOVERNANCE); refused,
    /// it is deleted once its short retention has passed.
    func removeProbeVersions(_ keys: [String]) -> ProbeVersions {
        var outcome = ProbeVersions()
        for key in keys {
            guard let versions = try? client.listObjectVersions(prefix: key) else { continue }
            for version in versions where version.key == key {
                let lockedProbe = !version.isDeleteMarker && lockProbe.probeRetainUntil.map { serverNow() < $0 } == true
                if lockedProbe {
                    do {
                        try client.deleteObject(key: key, versionID: version.versionID, bypassGovernance: true)
                        outcome.bypass = .allowed
                        continue
                    } catch {
                        outcome.bypass = .denied
                        // Wait out the probe's few seconds of retention, then delete it.
                        let wait = Double(max(0, (lockProbe.probeRetainUntil ?? 0) - serverNow() + 1))
                        http.after(wait) {}
                        let deadline = monotonicSeconds() + wait
                        http.run(until: { monotonicSeconds() >= deadline })
                    }
                }
                do {
                    try client.deleteObject(key: key, versionID: version.versionID)
                } catch {
                    outcome.remaining.append("\(key) version \(version.versionID): \(error.failure)")
                }
            }
        }
        return outcome
    }
}
