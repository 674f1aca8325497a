import Foundation
import Testing

@testable import Age

@Suite struct AgeKeysTests {
    /// age's own example from the spec (age.md): identity and its recipient.
    @Test func identityFromTheSpecGivesItsRecipient() throws {
        let identity = try #require(AgeIdentity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"))
        #expect(identity.recipient.encoded == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
        #expect(identity.secretEncoding == "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        #expect(!"\(identity)".contains("SECRET"))
    }

    @Test func generatedIdentityRoundTrips() throws {
        let a = try #require(AgeIdentity.generate())
        let b = try #require(AgeIdentity(a.secretEncoding))
        #expect(a.recipient == b.recipient)
        #expect(AgeRecipient(a.recipient.encoded) == a.recipient)
    }

    /// Found by `make fuzz` (target keys, Fuzz/regressions/keys/): a damaged identity line is
    /// refused by its line number and type, never repeated, even when it is the type's prefix alone.
    @Test func aDamagedIdentityLineIsNamedNotRepeated() {
        let damaged = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEQ"
        for (text, line) in [("# created\n# public key0 age1-KEY-1EGT9\nAGE-SECRET-KEY-", 3), ("\(damaged)\n", 1), ("#\nAGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQ\n", 2), ("AGE-SECRET-KEY-AGE-SECRET-KEY-1\nageyf", 1)] {
            guard case .failure(let e) = AgeKeyList.identities(text) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(e.line == line)
            #expect(["line \(line) is a damaged AGE-SECRET-KEY-1… identity", "line \(line) is a plugin identity, which this agent cannot use"].contains(e.message), "\(e.message)")
            #expect(!e.message.contains("GFPYYSJZ") && !e.message.contains("YUBIKEY-1QQQ"), "\(e.message)")
        }
    }

    @Test func malformedRecipientsAreRefusedWithTheirLine() {
        let good = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
        guard case .success(let list) = AgeKeyList.recipients("# team\n\n\(good)\n  \(good)  \n") else {
            Issue.record("valid list refused")
            return
        }
        #expect(list.count == 2)
        for (text, line) in [("# a\n\(good.dropLast())x\n", 2), ("ssh-ed25519 AAAAC3Nza foo\n", 1), ("\n\nAGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", 3)] {
            guard case .failure(let e) = AgeKeyList.recipients(text) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(e.line == line)
            #expect(!e.message.contains("GFPYYSJZGFPYYSJZGFPYYSJZ"), "a secret is never repeated")
        }
        #expect(AgeRecipient(good.uppercased()) == nil)
        #expect(AgeRecipient("age1qqqq") == nil)
    }

    @Test func bech32RefusesMixedCaseAndBadChecksums() {
        let good = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
        #expect(Bech32.decode(good) != nil)
        #expect(Bech32.decode("age1Zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj") == nil)
        #expect(Bech32.decode(String(good.dropLast()) + "q") == nil)
    }

    @Test func base64IsUnpaddedAndCanonical() {
        #expect(AgeBase64.encode(Array("ab".utf8)) == "YWI")
        #expect(AgeBase64.decode(Array("YWI".utf8)) == Array("ab".utf8))
        #expect(AgeBase64.decode(Array("YWI=".utf8)) == nil)
        #expect(AgeBase64.decode(Array("YWJ".utf8)) == nil)  // unused bits set
        #expect(AgeBase64.decode(Array("Y".utf8)) == nil)
    }

    /// What `age-keygen` writes is read, and the recipient agrees with `age-keygen -y`.
    @Test func readsAgeKeygenOutput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agekeys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key.txt").path
        #expect(try Self.run("/usr/bin/age-keygen", ["-o", key]).status == 0)
        let expected = try Self.run("/usr/bin/age-keygen", ["-y", key]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard case .success(let ids) = AgeKeyList.identities(try String(contentsOfFile: key, encoding: .utf8)) else {
            Issue.record("age-keygen output refused")
            return
        }
        #expect(ids.map(\.recipient.encoded) == [expected])
    }

    /// Files sealed here open with the stock `age -d`, byte for byte (several recipients, sizes
    /// around the chunk boundaries).
    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 200_000, 1_000_003])
    func stockAgeDecryptsWhatWeSeal(_ size: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ageseal-\(getpid())-\(size)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let mine = try #require(AgeIdentity.generate())
        let other = try #require(AgeIdentity.generate())
        let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let fileKey = try #require(AgePrimitives.random(16))
        let header = try #require(AgeHeader.seal(fileKey: fileKey, to: [other.recipient, mine.recipient]))
        let nonce = try #require(AgePrimitives.random(16))
        let enc = try #require(
            AgeFileEncryptor(fileKey: fileKey, header: header.encoded, nonce: nonce, plaintextSize: Int64(size), scratch: AgeScratch(chunks: 2)) { off, buf in
                let n = min(buf.count, plain.count - Int(off))
                plain.withUnsafeBytes { buf.baseAddress!.copyMemory(from: $0.baseAddress! + Int(off), byteCount: n) }
                return n
            })
        // Read in odd-sized and large pieces, as libcurl and the hasher would: chunk by chunk and
        // several whole chunks sealed straight into the buffer.
        var sealed: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 1 << 20)
        let sizes = [7777, 200_000, 65_552, 1 << 20, 131_104]
        var turn = 0
        while Int64(sealed.count) < enc.size {
            let want = sizes[turn % sizes.count]
            turn += 1
            let n = try piece.withUnsafeMutableBytes { try enc.read(at: Int64(sealed.count), into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            sealed += piece[0..<n]
        }
        #expect(Int64(sealed.count) == enc.size)
        // Sending re-creates the same bytes from the tags recorded while hashing (ChaCha20 alone).
        let book = AgeTagBook()
        let makeEncryptor = {
            AgeFileEncryptor(fileKey: fileKey, header: header.encoded, nonce: nonce, plaintextSize: Int64(size), scratch: AgeScratch(chunks: 3)) { off, buf in
                let n = min(buf.count, plain.count - Int(off))
                plain.withUnsafeBytes { buf.baseAddress!.copyMemory(from: $0.baseAddress! + Int(off), byteCount: n) }
                return n
            }
        }
        let hashing = try #require(makeEncryptor())
        hashing.tagBook = book
        var again = [UInt8](repeating: 0, count: Int(enc.size))
        _ = try again.withUnsafeMutableBytes { try hashing.read(at: 0, into: $0) }
        #expect(book.count == Int(AgeStream.chunkCount(plaintext: Int64(size))))
        let sending = try #require(makeEncryptor())
        sending.tagBook = book
        sending.recordsTags = false
        var resent = [UInt8](repeating: 0, count: Int(enc.size))
        var at = 0
        while at < resent.count {
            let want = min(resent.count - at, turn % 2 == 0 ? 100_000 : 7_001)
            turn += 1
            at += try resent.withUnsafeMutableBytes { try sending.read(at: Int64(at), into: UnsafeMutableRawBufferPointer(rebasing: $0[at..<(at + want)])) }
        }
        #expect(again == sealed && resent == sealed)
        let file = dir.appendingPathComponent("x.age")
        try Data(sealed).write(to: file)
        let keyFile = dir.appendingPathComponent("key").path
        try (mine.secretEncoding + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("x").path
        #expect(try Self.run("/usr/bin/age", ["-d", "-i", keyFile, "-o", out, file.path]).status == 0)
        // age creates its output lazily: an empty payload leaves no file.
        let decrypted = FileManager.default.fileExists(atPath: out) ? try [UInt8](Data(contentsOf: URL(fileURLWithPath: out))) : []
        #expect(decrypted == plain)
    }

    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
