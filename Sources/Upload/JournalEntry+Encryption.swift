import Age
import AgentSupport
import Hashing

extension JournalEntry.Encryption {
    func json() -> JSON {
        var fields: [(String, JSON)] = [
            ("format", .string("age")), ("recipients", .array(recipients.map { .string($0) })), ("stored_size", .int(storedSize)),
        ]
        // The secrets, only while the file is unfinished (the engine drops them when it completes).
        if let fileKey, let header, let nonce {
            fields += [("file_key", .string(fileKey.hexString)), ("header", .string(AgeBase64.encode(header))), ("nonce", .string(nonce.hexString))]
        }
        return .object(fields)
    }

    /// Reads what `json()` wrote; nil for anything inconsistent (a damaged or altered journal).
    init?(json: JSON, plaintextSize: Int64) {
        guard json["format"]?.stringValue == "age", let list = json["recipients"]?.arrayValue, let stored = json["stored_size"]?.intValue else { return nil }
        guard (0...(JournalEntry.maxFileSize + JournalEntry.maxFileSize / 1024)).contains(stored) else { return nil }
        let recipients = list.compactMap(\.stringValue)
        guard recipients.count == list.count, !recipients.isEmpty, recipients.allSatisfy({ AgeRecipient($0) != nil }) else { return nil }
        var key: [UInt8]?
        var header: [UInt8]?
        var nonce: [UInt8]?
        if let k = json["file_key"]?.stringValue, let h = json["header"]?.stringValue, let n = json["nonce"]?.stringValue {
            guard let k = Hex.decode(k), k.count == 16, let n = Hex.decode(n), n.count == AgeStream.nonceSize,
                let h = AgeBase64.decode(Array(h.utf8)), h.count <= AgeHeader.maxLength,
                case .success(let (_, end)) = h.withUnsafeBytes({ AgeHeader.parse($0) }), end == h.count
            else { return nil }
            key = k
            header = h
            nonce = n
            guard stored == Int64(h.count) + AgeStream.payloadSize(plaintext: plaintextSize) else { return nil }
        }
        self.init(recipients: recipients, storedSize: stored, fileKey: key, header: header, nonce: nonce)
    }
}

extension JournalEntry.File {
    /// Forgets the age file key, header and nonce (the file is stored, or will never be resumed):
    /// the journal keeps no secret of a finished file.
    public mutating func dropSecrets() {
        guard encryption != nil else { return }
        encryption?.fileKey = nil
        encryption?.header = nil
        encryption?.nonce = nil
    }
}
