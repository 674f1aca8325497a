import Age
import Foundation
import HTTPTransport
import Testing

@testable import Restore

#if canImport(Glibc)
    import Glibc
#endif

/// Decryption while downloading (issue 14): the range plan of an encrypted file, each range
/// decrypted on its own in any order and any piece sizes, restarts of a request, tampered and
/// foreign files, and the re-sealing that re-creates the stored bytes for the manifest's hashes.
@Suite struct AgeRangeReceiverTests {
    /// An age file sealed to `recipient` (and another), with its plaintext.
    struct Sealed {
        let plain: [UInt8]
        let stored: [UInt8]
    }

    static func seal(size: Int, to identity: AgeIdentity) throws -> Sealed {
        let other = try #require(AgeIdentity.generate())
        let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 9) }
        let fileKey = try #require(AgePrimitives.random(16))
        let header = try #require(AgeHeader.seal(fileKey: fileKey, to: [other.recipient, identity.recipient]))
        let nonce = try #require(AgePrimitives.random(16))
        let enc = try #require(
            AgeFileEncryptor(fileKey: fileKey, header: header.encoded, nonce: nonce, plaintextSize: Int64(size)) { off, buf in
                let n = min(buf.count, plain.count - Int(off))
                plain.withUnsafeBytes { buf.baseAddress!.copyMemory(from: $0.baseAddress! + Int(off), byteCount: n) }
                return n
            })
        var stored = [UInt8](repeating: 0, count: Int(enc.size))
        let n = try stored.withUnsafeMutableBytes { try enc.read(at: 0, into: $0) }
        #expect(n == stored.count)
        return Sealed(plain: plain, stored: stored)
    }

    /// A scratch file for the plaintext, removed at the end.
    final class Partial {
        let path: String
        let fd: Int32
        init() {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("agerange-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        }
        deinit {
            close(fd)
            unlink(path)
        }
        func contents() -> [UInt8] { (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? [] }
        func read(_ offset: Int64, _ buffer: UnsafeMutableRawBufferPointer) -> Int { pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Feeds `bytes` to `receiver` in pieces of the given sizes, in turn.
    static func feed(_ receiver: AgeRangeReceiver, _ bytes: ArraySlice<UInt8>, pieces: [Int]) -> Int32 {
        var offset = 0
        var turn = 0
        while offset < bytes.count {
            let n = min(pieces[turn % pieces.count], bytes.count - offset)
            turn += 1
            let code = Array(bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + n)]).withUnsafeBytes { receiver.receive($0, at: Int64(offset)) }
            if code != 0 { return code }
            offset += n
        }
        return 0
    }

    @Test func theRangesCoverTheFileWithWholeSealedChunks() throws {
        let me = try #require(AgeIdentity.generate())
        let sealed = try Self.seal(size: 10 * 65_536 + 123, to: me)
        let plan = try #require(AgeRangePlan(storedSize: Int64(sealed.stored.count), plaintextSize: Int64(sealed.plain.count), rangeSize: 3 * 65_552 + 100))
        #expect(plan.sealedCount == 11 && plan.chunksPerRange == 3 && plan.rangeCount == 4)
        var storedEnd: Int64 = 0
        var plainEnd: Int64 = 0
        for r in 0..<plan.rangeCount {
            let s = plan.stored(r)
            let p = plan.plain(r)
            #expect(s.offset == storedEnd && p.offset == plainEnd)
            // Every range but the first starts at a sealed chunk; its plaintext at a 64 KiB boundary.
            if r > 0 { #expect((s.offset - plan.payloadStart) % Int64(AgeStream.sealedChunkSize) == 0) }
            #expect(p.offset % Int64(AgeStream.chunkSize) == 0)
            #expect(plan.range(containing: s.offset) == r && plan.range(containing: s.offset + s.length - 1) == r)
            storedEnd += s.length
            plainEnd += p.length
        }
        #expect(storedEnd == Int64(sealed.stored.count) && plainEnd == Int64(sealed.plain.count))
        // Sizes no age file has: no plan (the file is reported, never half-decrypted).
        #expect(AgeRangePlan(storedSize: Int64(sealed.stored.count), plaintextSize: Int64(sealed.stored.count), rangeSize: 8 << 20) == nil)
        #expect(AgeRangePlan(storedSize: 40, plaintextSize: 0, rangeSize: 8 << 20) == nil)
    }

    @Test(arguments: [0, 1, 65_536, 65_537, 7 * 65_536, 7 * 65_536 + 5])
    func rangesDecryptInAnyOrderAndPieceSizeAndReSealToTheStoredBytes(_ size: Int) throws {
        let me = try #require(AgeIdentity.generate())
        let sealed = try Self.seal(size: size, to: me)
        let plan = try #require(AgeRangePlan(storedSize: Int64(sealed.stored.count), plaintextSize: Int64(size), rangeSize: 2 * 65_552))
        let partial = Partial()
        let scratch = AgeScratch(chunks: 2)
        var keys: AgeFileKeys?
        // What authenticated, by stored offset: together it must be the whole stored file.
        var authenticated: [Int64: [UInt8]] = [:]
        func receiver(_ r: Int) -> AgeRangeReceiver {
            AgeRangeReceiver(
                range: r, plan: plan, fd: partial.fd, keys: keys,
                openKeys: { head in
                    let opened = AgeFileKeys.open(head, identities: [me], plan: plan, scratch: scratch) { partial.read($0, $1) }
                    if case .success(let k) = opened { keys = k }
                    return opened
                },
                authenticated: { offset, bytes in authenticated[offset] = Array(bytes) })
        }
        // The first range first (its header opens the keys), the others last to first.
        let order = [0] + Array((1..<plan.rangeCount).reversed())
        for (turn, r) in order.enumerated() {
            let rx = receiver(r)
            let s = plan.stored(r)
            let bytes = sealed.stored[Int(s.offset)..<Int(s.offset + s.length)]
            if turn == 1 {
                // A request cut halfway and sent again: the second attempt starts at offset 0.
                #expect(Self.feed(rx, bytes.prefix(bytes.count / 2), pieces: [333]) == 0)
            }
            #expect(Self.feed(rx, bytes, pieces: [1, 4096, 65_552, 77, 200_000]) == 0)
            #expect(rx.problem == nil)
            #expect(rx.written == s.offset + s.length)
        }
        #expect(partial.contents() == sealed.plain)
        var joined: [UInt8] = []
        for offset in authenticated.keys.sorted() {
            #expect(Int64(joined.count) == offset)
            joined += authenticated[offset]!
        }
        #expect(joined == sealed.stored)
        // Re-sealing the written plaintext gives the stored bytes back, from any offset.
        let k = try #require(keys)
        var again = [UInt8](repeating: 0, count: sealed.stored.count)
        let from = Int(plan.stored(plan.rangeCount - 1).offset)
        let n = try again.withUnsafeMutableBytes { try k.encryptor.read(at: Int64(from), into: UnsafeMutableRawBufferPointer(rebasing: $0[from...])) }
        #expect(n == sealed.stored.count - from)
        let m = try again.withUnsafeMutableBytes { try k.encryptor.read(at: 0, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<from])) }
        #expect(m == from && again == sealed.stored)
    }

    @Test func aTamperedChunkFailsItsRangeAndNothingOfItIsWritten() throws {
        let me = try #require(AgeIdentity.generate())
        let sealed = try Self.seal(size: 6 * 65_536, to: me)
        let plan = try #require(AgeRangePlan(storedSize: Int64(sealed.stored.count), plaintextSize: Int64(sealed.plain.count), rangeSize: 2 * 65_552))
        let partial = Partial()
        let scratch = AgeScratch(chunks: 2)
        let s0 = plan.stored(0)
        var keys: AgeFileKeys?
        let first = AgeRangeReceiver(
            range: 0, plan: plan, fd: partial.fd, keys: nil,
            openKeys: { head in
                let opened = AgeFileKeys.open(head, identities: [me], plan: plan, scratch: scratch) { partial.read($0, $1) }
                if case .success(let k) = opened { keys = k }
                return opened
            }, authenticated: { _, _ in })
        #expect(Self.feed(first, sealed.stored[0..<Int(s0.length)], pieces: [65_536]) == 0)
        #expect(first.problem == nil)
        // Range 1 with one byte flipped in its second chunk: its first chunk is written, not the second.
        let s1 = plan.stored(1)
        var bad = Array(sealed.stored[Int(s1.offset)..<Int(s1.offset + s1.length)])
        bad[65_552 + 100] ^= 1
        var hashed: [Int64] = []
        let rx = AgeRangeReceiver(range: 1, plan: plan, fd: partial.fd, keys: keys, openKeys: { _ in .failure(.noMatch) }, authenticated: { o, _ in hashed.append(o) })
        #expect(Self.feed(rx, bad[...], pieces: [9999]) == 0)
        #expect(rx.problem == .payload("chunk 3 failed authentication"))
        #expect(hashed == [plan.storedOffset(chunk: 2)])
        #expect(rx.written == plan.storedOffset(chunk: 3))
        #expect(partial.contents().count == 3 * 65_536)

        // The last range cut short and sealed as if complete cannot pass: a full chunk opened as
        // "not last" where the plan expects the last fails, and vice versa.
        let s2 = plan.stored(2)
        let swapped = AgeRangeReceiver(range: 2, plan: plan, fd: partial.fd, keys: keys, openKeys: { _ in .failure(.noMatch) }, authenticated: { _, _ in })
        var moved = Array(sealed.stored[Int(s1.offset)..<Int(s1.offset + s1.length)])  // range 1's chunks offered as range 2's
        moved = Array(moved.prefix(Int(s2.length)))
        #expect(Self.feed(swapped, moved[...], pieces: [65_552]) == 0)
        #expect(swapped.problem == .payload("chunk 4 failed authentication"))
    }

    @Test func aForeignHeaderIsNoMatchAndAWrongSizeIsAHeaderProblem() throws {
        let me = try #require(AgeIdentity.generate())
        let stranger = try #require(AgeIdentity.generate())
        let sealed = try Self.seal(size: 3 * 65_536, to: me)
        let partial = Partial()
        let scratch = AgeScratch(chunks: 1)
        let plan = try #require(AgeRangePlan(storedSize: Int64(sealed.stored.count), plaintextSize: Int64(sealed.plain.count), rangeSize: 8 << 20))
        let rx = AgeRangeReceiver(
            range: 0, plan: plan, fd: partial.fd, keys: nil,
            openKeys: { AgeFileKeys.open($0, identities: [stranger], plan: plan, scratch: scratch) { partial.read($0, $1) } }, authenticated: { _, _ in })
        #expect(Self.feed(rx, sealed.stored[...], pieces: [1000]) == 0)
        #expect(rx.problem == .noMatch)
        #expect(partial.contents().isEmpty)
        // A manifest claiming 64 KiB less plaintext (and as much more header): the header does not end there.
        let lying = try #require(AgeRangePlan(storedSize: Int64(sealed.stored.count), plaintextSize: Int64(2 * 65_536 - 16), rangeSize: 8 << 20))
        let opened = AgeFileKeys.open(Array(sealed.stored.prefix(Int(lying.payloadStart))), identities: [me], plan: lying, scratch: scratch) { partial.read($0, $1) }
        guard case .failure(.header) = opened else {
            Issue.record("a header that ends elsewhere than the manifest's sizes say was accepted")
            return
        }
    }

    @Test func aRestoreNeedsRoomForThePlaintextOnly() {
        // 3 MiB of plaintext stored as about 3 MiB + 1 KiB: the target needs the plaintext, less what
        // its `.partial` already holds, never the stored copy as well.
        #expect(RestoreEngine.stillNeeded(finalSize: 3 << 20, held: 0) == 3 << 20)
        #expect(RestoreEngine.stillNeeded(finalSize: 3 << 20, held: 1 << 20) == 2 << 20)
        #expect(RestoreEngine.stillNeeded(finalSize: 3 << 20, held: 4 << 20) == 0)
    }
}
