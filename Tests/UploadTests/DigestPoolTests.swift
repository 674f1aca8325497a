import HTTPTransport
import Hashing
import Synchronization
import Testing

@testable import Upload

#if canImport(Glibc)
    import Glibc
#endif

/// The digest pool (issue 17): payload digests computed on worker threads, handed back to the
/// transfer thread through `HTTPClient.inbox`.
@Suite struct DigestPoolTests {
    /// Collects completions from worker threads; `wait` blocks until `count` are in.
    final class Results: @unchecked Sendable {
        private let items = Mutex<[Int: Result<PayloadDigests, any Error>]>([:])
        private let calls = Mutex<[Int: Int]>([:])

        func add(_ job: Int, _ result: Result<PayloadDigests, any Error>) {
            items.withLock { $0[job] = result }
            calls.withLock { $0[job, default: 0] += 1 }
        }

        func wait(count: Int, seconds: Double = 30) -> [Int: Result<PayloadDigests, any Error>] {
            let deadline = monotonicSeconds() + seconds
            while items.withLock({ $0.count }) < count, monotonicSeconds() < deadline { usleep(1000) }
            return items.withLock { $0 }
        }

        var callCounts: [Int: Int] { calls.withLock { $0 } }
    }

    /// A gate a job's read waits at until the test opens it.
    final class Gate: @unchecked Sendable {
        private let open = Atomic<Bool>(false)
        private let entries = Atomic<Int>(0)
        var entered: Int { entries.load(ordering: .relaxed) }
        func wait() {
            entries.add(1, ordering: .relaxed)
            while !open.load(ordering: .relaxed) { usleep(200) }
        }
        func release() { open.store(true, ordering: .relaxed) }
    }

    /// A value several threads read and change.
    final class Shared<Value: Sendable>: @unchecked Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        var get: Value { value.withLock { $0 } }
        @discardableResult
        func update<R: Sendable>(_ body: (inout sending Value) -> R) -> R { value.withLock { body(&$0) } }
    }

    static let bytes: [UInt8] = (0..<(5 << 20) + 333).map { UInt8(truncatingIfNeeded: $0 &* 7 ^ $0 >> 11) }

    @Test func everyJobGetsItsOwnDigestsExactlyOnce() throws {
        let (fd, path) = PayloadDigestsTests.file(Self.bytes)
        defer {
            close(fd)
            unlink(path)
        }
        let pool = DigestPool(threads: 3, bufferSize: 64 << 10)
        defer { pool.shutdown() }
        let results = Results()
        let part: Int64 = 300_000
        let jobs = Int((Int64(Self.bytes.count) + part - 1) / part)
        for job in 0..<jobs {
            let offset = Int64(job) * part
            let length = min(part, Int64(Self.bytes.count) - offset)
            pool.submit({ hasher in try hasher.digest(fd: fd, offset: offset, length: length, kinds: [.sha256, .md5, .crc32c]) }) { results.add(job, $0) }
        }
        let got = results.wait(count: jobs)
        #expect(got.count == jobs)
        for job in 0..<jobs {
            let slice = Array(Self.bytes[(job * Int(part))..<min(Self.bytes.count, (job + 1) * Int(part))])
            let d = try #require(try got[job]?.get())
            #expect(d.sha256 == Digest.sha256(slice))
            #expect(d.md5 == Digest.md5(slice))
            #expect(d.crc32c == CRC32C.checksum(slice))
        }
        usleep(20_000)
        #expect(results.callCounts.values.allSatisfy { $0 == 1 })
    }

    /// Jobs start in the order submitted (one worker: they also finish in that order).
    @Test func jobsStartInOrder() {
        let pool = DigestPool(threads: 1, bufferSize: 4096)
        defer { pool.shutdown() }
        let order = Shared<[Int]>([])
        let results = Results()
        for job in 0..<50 {
            pool.submit({ _ in
                order.update { $0.append(job) }
                return PayloadDigests(crc32c: UInt32(job))
            }) { results.add(job, $0) }
        }
        let got = results.wait(count: 50)
        #expect(order.get == Array(0..<50))
        #expect((0..<50).allSatisfy { (try? got[$0]?.get())?.crc32c == UInt32($0) })
    }

    /// A job's error is its own: a read error, a file shorter than the region; the others succeed.
    @Test func errorsStayWithTheirJob() throws {
        let (fd, path) = PayloadDigestsTests.file(Array(Self.bytes[0..<100_000]))
        defer {
            close(fd)
            unlink(path)
        }
        let pool = DigestPool(threads: 2, bufferSize: 16 << 10)
        defer { pool.shutdown() }
        let results = Results()
        pool.submit({ hasher in try hasher.digest(fd: -1, offset: 0, length: 10, kinds: [.sha256]) }) { results.add(0, $0) }
        pool.submit({ hasher in try hasher.digest(fd: fd, offset: 50_000, length: 60_000, kinds: [.sha256]) }) { results.add(1, $0) }
        pool.submit({ hasher in try hasher.digest(fd: fd, offset: 0, length: 100_000, kinds: [.crc32c]) }) { results.add(2, $0) }
        let got = results.wait(count: 3)
        guard case .failure(RegionHasher.Failure.read(let e))? = got[0] else {
            Issue.record("a bad descriptor is a read error: \(String(describing: got[0]))")
            return
        }
        #expect(e == EBADF)
        guard case .failure(RegionHasher.Failure.shortFile)? = got[1] else {
            Issue.record("a region past the end is a short file: \(String(describing: got[1]))")
            return
        }
        #expect(try got[2]?.get().crc32c == CRC32C.checksum(Array(Self.bytes[0..<100_000])))
    }

    /// A waiting job cancelled completes at once without running; a running one stops at its next
    /// buffer; both complete exactly once, with `Cancelled`; the pool goes on with other jobs.
    @Test func cancellation() throws {
        let pool = DigestPool(threads: 1, bufferSize: 4096)
        defer { pool.shutdown() }
        let gate = Gate()
        let results = Results()
        let reads = Shared(0)
        // Job 0 runs (one worker) and blocks in its second read until the gate opens.
        let running = pool.submit({ hasher in
            try hasher.digest(length: 1 << 20, offset: 0, kinds: [.sha256]) { _, buffer in
                if reads.update({ $0 += 1; return $0 }) == 2 { gate.wait() }
                return buffer.count
            }
        }) { results.add(0, $0) }
        let ranQueued = Shared(false)
        let queued = pool.submit({ _ in
            ranQueued.update { $0 = true }
            return PayloadDigests()
        }) { results.add(1, $0) }
        while gate.entered == 0 { usleep(200) }
        queued.cancel()
        let afterQueued = results.wait(count: 1, seconds: 5)
        #expect(afterQueued.count == 1)
        guard case .failure(is DigestPool.Cancelled)? = afterQueued[1] else {
            Issue.record("a waiting job cancelled completes with Cancelled at once")
            return
        }
        running.cancel()
        gate.release()
        let got = results.wait(count: 2)
        guard case .failure(let error)? = got[0], error is DigestPool.Cancelled else {
            Issue.record("a running job cancelled completes with Cancelled: \(String(describing: got[0]))")
            return
        }
        #expect(reads.get < 256, "it stopped at its next buffer, not after 1 MiB")
        #expect(!ranQueued.get)
        // Cancelling again, or a finished job, changes nothing.
        running.cancel()
        queued.cancel()
        let later = Results()
        pool.submit({ _ in PayloadDigests(crc32c: 7) }) { later.add(0, $0) }
        #expect(try later.wait(count: 1)[0]?.get().crc32c == 7)
        usleep(20_000)
        #expect(results.callCounts == [0: 1, 1: 1])
    }

    /// Threads start with work, never more than asked for; each keeps one buffer.
    @Test func threadsAreBounded() {
        let pool = DigestPool(threads: 2, bufferSize: 4096)
        defer { pool.shutdown() }
        let active = Shared(0)
        let most = Shared(0)
        let results = Results()
        for job in 0..<20 {
            pool.submit({ _ in
                let now = active.update { $0 += 1; return $0 }
                most.update { $0 = max($0, now) }
                usleep(2000)
                active.update { $0 -= 1 }
                return PayloadDigests()
            }) { results.add(job, $0) }
        }
        #expect(results.wait(count: 20).count == 20)
        #expect(most.get <= 2)
        #expect(DigestPool.defaultThreads >= 1 && DigestPool.defaultThreads <= 4)
    }

    /// No threads (the bench's comparison, `OFFSITE_AGENT_DIGEST_THREADS=0`): the job runs on the
    /// submitting thread before `submit` returns.
    @Test func withoutThreadsJobsRunInline() {
        let pool = DigestPool(threads: 0)
        let me = pthread_self()
        var ranHere = false
        var got: UInt32?
        pool.submit({ _ in
            ranHere = pthread_equal(pthread_self(), me) != 0
            return PayloadDigests(crc32c: 3)
        }) { got = (try? $0.get())?.crc32c }
        #expect(ranHere && got == 3)
    }

    /// The transfer thread's side: a result posted from a worker wakes `HTTPClient.run` (no
    /// request in flight, only an awaited post) and runs on the client's thread.
    @Test func resultsReachTheTransferThread() {
        let http = HTTPClient()
        let pool = DigestPool(threads: 1, bufferSize: 4096)
        defer { pool.shutdown() }
        let me = pthread_self()
        var delivered: [UInt32] = []
        var onMyThread = true
        let inbox = http.inbox
        for job in 0..<3 {
            http.awaitedPosts += 1
            pool.submit({ _ in
                usleep(30_000)
                return PayloadDigests(crc32c: UInt32(job))
            }) { result in
                let value = Unchecked((try? result.get())?.crc32c ?? 99)
                inbox.post {
                    onMyThread = onMyThread && pthread_equal(pthread_self(), me) != 0
                    delivered.append(value.value)
                }
            }
        }
        let started = monotonicSeconds()
        http.run(until: { delivered.count == 3 })
        #expect(delivered == [0, 1, 2])
        #expect(onMyThread)
        #expect(http.awaitedPosts == 0)
        #expect(!http.isBusy)
        // Woken by each post, not by the 200 ms poll timeout (generous: a loaded machine).
        #expect(monotonicSeconds() - started < 5)
        // waitForPosts: the same, with no curl loop (after a cancel).
        http.awaitedPosts += 1
        pool.submit({ _ in PayloadDigests(crc32c: 5) }) { _ in inbox.post { delivered.append(5) } }
        http.waitForPosts(until: { delivered.count == 4 })
        #expect(delivered.last == 5)
    }
}
