import Age
import AgentSupport
import Backups
import Testing

@testable import Upload

/// The journal's encryption state: kept exactly while a file is unfinished, refused when damaged.
@Suite struct JournalEncryptionTests {
    func encryptedFile(size: Int64 = 200_000) throws -> JournalEntry.File {
        let identity = try #require(AgeIdentity.generate())
        let key = try #require(AgePrimitives.random(16))
        let header = try #require(AgeHeader.seal(fileKey: key, to: [identity.recipient]))
        let nonce = try #require(AgePrimitives.random(16))
        var file = JournalEntry.File(path: "db.tar", sourcePath: "/x/db.tar", key: "h/b/db.tar.age", identity: FileIdentity(size: size, mtimeNanos: 1, inode: 2))
        file.encryption = JournalEntry.Encryption(
            recipients: [identity.recipient.encoded], storedSize: Int64(header.encoded.count) + AgeStream.payloadSize(plaintext: size),
            fileKey: key, header: header.encoded, nonce: nonce)
        return file
    }

    func entry(_ file: JournalEntry.File) -> JournalEntry {
        JournalEntry(id: "e", backup: "b", backupDirectory: "/x", singleFile: false, vault: "v", bucket: "bk", endpoint: "http://e", prefix: "h/", files: [file], now: 1)
    }

    @Test func unfinishedFileKeepsItsSecretsAcrossAReload() throws {
        let file = try encryptedFile()
        let json = entry(file).json()
        #expect(json["version"]?.intValue == 2)
        let loaded = try #require(JournalEntry(json: json))
        #expect(loaded.files[0].encryption == file.encryption)
        #expect(loaded.files[0].storedSize == file.encryption?.storedSize)
    }

    @Test func finishedFileKeepsNoSecret() throws {
        var file = try encryptedFile()
        file.dropSecrets()
        let text = entry(file).json().serialized(pretty: true)
        #expect(!text.contains("file_key") && !text.contains("nonce") && !text.contains("\"header\""))
        let loaded = try #require(JournalEntry(json: entry(file).json()))
        #expect(loaded.files[0].encryption?.hasSecrets == false)
        #expect(loaded.files[0].encryption?.recipients == file.encryption?.recipients)
    }

    @Test func damagedEncryptionStateIsRefused() throws {
        let file = try encryptedFile()
        var wrongSize = file
        wrongSize.encryption?.storedSize += 1
        #expect(JournalEntry(json: entry(wrongSize).json()) == nil)
        var shortKey = file
        shortKey.encryption?.fileKey = [1, 2, 3]
        #expect(JournalEntry(json: entry(shortKey).json()) == nil)
        var badHeader = file
        badHeader.encryption?.header = Array("age-encryption.org/v1\n-> X25519\n".utf8)
        #expect(JournalEntry(json: entry(badHeader).json()) == nil)
        var badRecipient = file
        badRecipient.encryption?.recipients = ["age1nope"]
        #expect(JournalEntry(json: entry(badRecipient).json()) == nil)
    }

    @Test func plainEntriesStayVersionOne() throws {
        var file = try encryptedFile()
        file.encryption = nil
        #expect(entry(file).json()["version"]?.intValue == 1)
    }
}
