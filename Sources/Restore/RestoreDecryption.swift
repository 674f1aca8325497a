import Age
import AgentSupport
import S3

#if canImport(Glibc)
    import Glibc
#endif

/// Reading an encrypted backup's content: the identities that open it, the checks made before
/// anything is written, and the decryption of a downloaded file whose stored bytes matched the manifest.
public enum RestoreDecryption {
    /// The identities in an age identity file (`agent keygen` / `age-keygen` output). Errors name
    /// the file and line, never a secret.
    public static func loadIdentities(_ path: String) throws(AgentError) -> [AgeIdentity] {
        guard let text = AtomicFile.read(path, limit: 1 << 20) else {
            throw AgentError(
                .invalidConfig, "cannot read the identity file \(path): \(String(cString: strerror(errno)))",
                hint: "pass --identity with the file `agent keygen --out` (or age-keygen) wrote, readable by this user")
        }
        switch AgeKeyList.identities(text) {
        case .success(let ids): return ids
        case .failure(let e):
            throw AgentError(
                .invalidConfig, "the identity file \(path)\(e.line > 0 ? ":\(e.line)" : ""): \(e.message)",
                hint: "pass the file `agent keygen --out` or age-keygen wrote (AGE-SECRET-KEY-1… lines, # comments)")
        }
    }

    /// IDENTITY_REQUIRED when an encrypted backup's content is asked for without an identity.
    public static func requireIdentities(_ identities: [AgeIdentity]?, manifest: OffsiteManifest, vault: String, what: String) throws(AgentError) -> [AgeIdentity] {
        if let identities, !identities.isEmpty { return identities }
        let recipients = Set(manifest.files.flatMap { $0.encryption?.recipients ?? [] }).sorted()
        throw AgentError(
            .identityRequired,
            "backup \(manifest.backup) in vault \(vault) is encrypted (age, to \(recipients.joined(separator: ", "))); \(what) needs the identity that opens it; nothing was written",
            hint: "pass --identity FILE (the AGE-SECRET-KEY-1… file `agent keygen --out` made for one of those recipients), or set identity_file for vault \(vault)")
    }

    static func mismatch(_ manifest: OffsiteManifest, path: String, vault: String) -> AgentError {
        let recipients = Set(manifest.files.flatMap { $0.encryption?.recipients ?? [] }).sorted()
        return AgentError(
            .identityMismatch, "no given identity opens \(path) of backup \(manifest.backup) in vault \(vault); it is encrypted to \(recipients.joined(separator: ", "))",
            hint: "pass --identity with the identity file of one of those recipients (`age-keygen -y FILE` prints a file's recipient)")
    }

    /// Before anything is written: the first encrypted file's header must open with `identities`
    /// (IDENTITY_MISMATCH otherwise). Reads at most its first 64 KiB.
    static func probe(_ manifest: OffsiteManifest, identities: [AgeIdentity], session: VaultSession) throws(AgentError) {
        guard let file = manifest.files.first(where: { $0.encryption != nil }) else { return }
        let key = file.key.isEmpty ? session.backupPrefix(manifest.backup) + file.path : file.key
        let length = min(file.size, 64 << 10)
        guard length > 0 else { return }
        let body: [UInt8]
        do {
            body = try session.client.getObject(key: key, range: 0...(length - 1)).body
        } catch {
            // Missing or unreadable: the restore itself reports it with its own words.
            return
        }
        let stream = AgeStreamDecryptor(totalSize: file.size, identities: identities) { _ in }
        do {
            try body.withUnsafeBytes { try stream.update($0) }
            if Int64(body.count) == file.size { try stream.finish() }
        } catch AgeError.noMatch {
            throw mismatch(manifest, path: file.path, vault: session.vault)
        } catch {
            // A damaged file is found and reported by the download's checks.
        }
    }

    /// Decrypts the downloaded age file open at `fd` (its stored bytes already matched the manifest)
    /// into a new file, which then replaces `partial`. Returns why the file cannot be put in place
    /// (a chunk failed authentication, a wrong size), nil when it can.
    static func decryptInPlace(
        fd: Int32, partial: String, file: OffsiteManifest.File, identities: [AgeIdentity], manifest: OffsiteManifest, vault: String
    ) throws(AgentError) -> String? {
        let plainPath = partial + ".plain"
        let out = open(plainPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard out >= 0 else { throw writeFailure("cannot create \(plainPath)", errno) }
        var written: Int64 = 0
        var writeErrno: Int32 = 0
        let decryptor = AgeFileDecryptor(totalSize: file.size) { offset, buffer in
            while true {
                let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
                if n >= 0 { return n }
                if errno != EINTR { throw ReadBack(errno: errno) }
            }
        }
        var problem: String?
        do {
            let size = try decryptor.decrypt(identities: identities) { bytes in
                var done = 0
                while done < bytes.count {
                    let n = pwrite(out, bytes.baseAddress! + done, bytes.count - done, off_t(written + Int64(done)))
                    if n < 0 {
                        if errno == EINTR { continue }
                        writeErrno = errno
                        throw ReadBack(errno: errno)
                    }
                    done += n
                }
                written += Int64(bytes.count)
            }
            if size != file.plaintextSize {
                problem = "it decrypts to \(size) bytes, the manifest says \(file.plaintextSize)"
            }
        } catch AgeError.noMatch {
            close(out)
            unlink(plainPath)
            throw mismatch(manifest, path: file.path, vault: vault)
        } catch let error as AgeError {
            problem = "\(error)"
        } catch let error as ReadBack {
            close(out)
            unlink(plainPath)
            throw writeFailure(writeErrno != 0 ? "cannot write \(plainPath)" : "cannot read back \(partial)", error.errno)
        } catch {
            problem = "\(error)"
        }
        if let problem {
            close(out)
            unlink(plainPath)
            return problem
        }
        let synced = fsync(out) == 0
        close(out)
        guard synced else { throw writeFailure("cannot flush \(plainPath)", errno) }
        guard rename(plainPath, partial) == 0 else { throw writeFailure("cannot replace \(partial) with its decryption", errno) }
        return nil
    }

    private struct ReadBack: Error { var errno: Int32 }

    private static func writeFailure(_ what: String, _ code: Int32) -> AgentError {
        AgentError(
            .restoreWriteFailed, "\(what): \(String(cString: strerror(code)))",
            hint: "check free space (an encrypted file needs room for its download and its decryption at once) and permissions of the restore target",
            exit: .failed)
    }
}
