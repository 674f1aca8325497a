import Age
import AgentSupport
import HTTPTransport
import Config
import Providers
import Restore
import S3
import SigV4
import Upload
import Vault

#if canImport(Glibc)
    import Glibc
#endif

/// One function per parser of outside input. Each must return for any bytes; a crash, a sanitizer
/// report, a hang or a broken property (checked with `require`) is a finding.
enum FuzzTargets {
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "json": json,
        "xml": xml,
        "manifest": manifest,
        "journal": journal,
        "toml": toml,
        "config": config,
        "profile": profile,
        "sigv4": sigv4,
        "age": age,
        "httpheaders": httpHeaders,
        "keys": keys,
    ]

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition {
            StandardStreams.writeError("property broken: \(message())\n")
            abort()
        }
    }

    /// JSON: any bytes give a value or an error; a value survives the writer and the parser again.
    static func json(_ bytes: [UInt8]) {
        guard let value = try? JSON.decode(bytes: bytes) else { return }
        for pretty in [false, true] {
            let text = value.serialized(pretty: pretty)
            let again = try? JSON.decode(text)
            require(again == value, "the writer's output does not parse back: \(text.prefix(200))")
        }
    }

    /// XML: a server's answer, as the S3 client reads it (document, then error decoding).
    static func xml(_ bytes: [UInt8]) {
        if let root = XMLElement.parse(bytes) {
            var stack = [(root, 1)]
            while let (element, depth) = stack.popLast() {
                require(depth <= XMLElement.maxDepth, "depth \(depth) beyond the bound")
                _ = element.trimmedText
                stack += element.children.map { ($0, depth + 1) }
            }
        }
        let failure = S3ServiceError.from(
            response: HTTPResponseFactory.make(status: 400, body: bytes), operation: "PutObject")
        _ = failure.description
    }

    /// The offsite manifest from a vault, and what list/verify/restore compute from it.
    static func manifest(_ bytes: [UInt8]) {
        guard let manifest = OffsiteManifest.parse(String(decoding: bytes, as: UTF8.self)) else { return }
        _ = manifest.totalBytes
        _ = manifest.date
        _ = manifest.fingerprint
        for file in manifest.files {
            require((0...OffsiteManifest.maxFileSize + OffsiteManifest.maxFileSize / 1024).contains(file.size), "size \(file.size) out of range")
            if file.partsAreConsistent {
                let segments = file.segments
                require(segments.reduce(0) { $0 + $1.length } == file.size, "segments do not add up to the size")
            }
        }
        _ = try? RestorePaths.validate(manifest, vault: "v")
    }

    /// A journal file (upload) or a restore journal, as status/resume/restore read them.
    static func journal(_ bytes: [UInt8]) {
        guard let json = try? JSON.decode(bytes: bytes) else { return }
        if let entry = JournalEntry(json: json) {
            _ = entry.statusJSON().serialized()
            _ = entry.bytesDone
            _ = entry.bytesTotal
            _ = entry.isResumable
            let again = JournalEntry(json: entry.json())
            require(again != nil, "an entry read does not read back after being written")
        }
        if let restore = RestoreJournal(json: json) {
            _ = restore.json().serialized()
        }
    }

    /// TOML as every config and profile reader gets it (toml++ behind CTOMLShim, then TOMLSection).
    static func toml(_ bytes: [UInt8]) {
        guard let section = try? TOMLSection.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.toml") else { return }
        for key in section.keys { _ = section.location(key) }
    }

    /// The agent's config file (written to a temporary file, loaded as `agent` does).
    static func config(_ bytes: [UInt8]) {
        let path = FuzzFiles.write(bytes, name: "agent.toml")
        _ = try? AgentConfig.load(path: path, environment: ["HOME": "/nonexistent"])
    }

    /// A provider profile (TOML).
    static func profile(_ bytes: [UInt8]) {
        _ = try? ProviderProfile.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.toml", source: "fuzz")
    }

    /// SigV4: hostile keys, queries and header values, cut from the input at 0x00 bytes:
    /// path, then name/value pairs for the query, then name/value pairs for headers (after 0x01).
    static func sigv4(_ bytes: [UInt8]) {
        let sections = bytes.split(separator: 0x01, maxSplits: 1, omittingEmptySubsequences: false)
        let head = (sections.first.map(Array.init) ?? []).split(separator: 0x00, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let tail = sections.count > 1 ? sections[1].split(separator: 0x00, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) } : []
        let path = head.first ?? ""
        var query: [(name: String, value: String?)] = []
        var k = 1
        while k < head.count {
            query.append((head[k], k + 1 < head.count ? head[k + 1] : nil))
            k += 2
        }
        var headers: [(name: String, value: String)] = []
        k = 0
        while k + 1 < tail.count {
            headers.append((tail[k], tail[k + 1]))
            k += 2
        }
        let uri = SigV4Signer.canonicalURI(path)
        require(
            uri.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E || c == 0x2F || c == 0x25
            }, "canonical URI has an unencoded byte")
        let signer = SigV4Signer(
            credentials: SigningCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1")
        let signed = signer.sign(
            method: "PUT", path: path.hasPrefix("/") ? path : "/" + path, query: query, headers: headers,
            payloadHash: "UNSIGNED-PAYLOAD", date: 1_700_000_000)
        require(signed.signature.utf8.count == 64, "signature is not 64 hex digits")
        // Twice the same input, the same signature: nothing depends on dictionary order.
        let again = signer.sign(
            method: "PUT", path: path.hasPrefix("/") ? path : "/" + path, query: query, headers: headers,
            payloadHash: "UNSIGNED-PAYLOAD", date: 1_700_000_000)
        require(again.signature == signed.signature, "signing is not deterministic")
        if let location = S3Location(endpoint: "https://s3.example.com", bucket: "bucket", region: "us-east-1", pathStyle: false) {
            _ = location.url(rawPath: location.rawPath(key: path), query: query)
        }
    }
}

extension FuzzTargets {
    /// An identity no seed was sealed to: unwrapping tries every X25519 stanza and fails cleanly.
    static let ageIdentity = AgeIdentity(scalar: [UInt8](repeating: 0x42, count: 32))!

    /// The age header alone, as restore and `agent decrypt` read a vault's object: at most
    /// `AgeHeader.maxLength` (1 MiB) of it. A header read is exactly the bytes it came from, and
    /// writing its stanzas again gives the bytes its MAC covers (the encoding is canonical).
    static func age(_ input: [UInt8]) {
        let bytes = Array(input.prefix(AgeHeader.maxLength))
        let parsed = bytes.withUnsafeBytes { AgeHeader.parse($0) }
        guard case .success(let (header, payloadOffset)) = parsed else { return }
        require(payloadOffset <= bytes.count && header.encoded == Array(bytes[0..<payloadOffset]), "the header is not the bytes it was read from")
        let rewritten = AgeHeader.versionLine + "\n" + header.stanzas.map(AgeHeader.encodeStanza).joined() + "---"
        require(Array(rewritten.utf8) == header.macInput, "the stanzas do not write back to the bytes the MAC covers")
        require(header.mac.count == 32, "a MAC of \(header.mac.count) bytes")
        _ = header.unwrap(with: [ageIdentity])
        _ = header.x25519StanzaCount
    }

    /// CurlTransfer's response header lines (ResponseHeaderParser): the input cut into callback
    /// calls at LF (as libcurl calls it). What is kept is bounded and well formed.
    static func httpHeaders(_ bytes: [UInt8]) {
        var parser = ResponseHeaderParser()
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            parser.consume(Array(bytes[start..<min(end + 1, bytes.count)]))
            start = end + 1
        }
        require(parser.headers.count <= ResponseHeaderParser.maxHeaders, "\(parser.headers.count) headers kept")
        var kept = 0
        for (name, value) in parser.headers {
            kept += name.utf8.count + value.utf8.count
            require(!name.isEmpty && name.utf8.allSatisfy(ResponseHeaderParser.isTokenByte), "a malformed name was kept")
            require(!value.utf8.contains(0x0A), "a value holds a line feed")
            let edges = [value.utf8.first, value.utf8.last].compactMap { $0 }
            require(!edges.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }), "a value keeps blanks at its ends")
        }
        // U+FFFD takes 3 bytes where the server sent 1: the bound is on the bytes received.
        require(kept <= 3 * ResponseHeaderParser.maxBytes, "\(kept) bytes of headers kept")
        _ = HTTPResponse(status: 200, headers: parser.headers, body: [], bodyLength: 0, totalTime: 0).header("etag")
    }
}

extension FuzzTargets {
    /// Key files an admin points the agent at: age recipients and identities files, and the AWS
    /// shared credentials file. What is read writes back to itself; a refused identity line is
    /// never repeated in the message (it may be a damaged secret).
    static func keys(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if case .success(let recipients) = AgeKeyList.recipients(text) {
            for r in recipients { require(AgeRecipient(r.encoded) == r, "a recipient does not read back") }
        }
        switch AgeKeyList.identities(text) {
        case .success(let identities):
            for id in identities { require(AgeIdentity(id.secretEncoding)?.recipient == id.recipient, "an identity does not read back") }
        case .failure(let error):
            // Every refusal is one of the fixed sentences: nothing of the input (a damaged secret) is repeated.
            let sentences = [
                "line \(error.line) is a plugin identity, which this agent cannot use", "line \(error.line) is a damaged AGE-SECRET-KEY-1… identity",
                "line \(error.line) is not an age X25519 identity", "it holds no AGE-SECRET-KEY-1… identity",
            ]
            require(sentences.contains(error.message), "an identity refusal says more than its fixed sentence: \(error.message.prefix(100))")
        }
        for (_, section) in SharedCredentialsFile.parse(text) {
            for (key, _) in section { require(key == key.lowercased(), "a key is not lower-cased") }
        }
    }
}

enum HTTPResponseFactory {
    static func make(status: Int, body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [], body: body, bodyLength: Int64(body.count), totalTime: 0)
    }
}

/// A private folder for inputs that must be files.
enum FuzzFiles {
    nonisolated(unsafe) static var folder: String = {
        var template = Array("/tmp/agent-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return "/tmp" }
        return String(cString: made)
    }()

    static func write(_ bytes: [UInt8], name: String) -> String {
        let path = "\(folder)/\(name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd >= 0 {
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        return path
    }
}
