import AgentSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Computes payload digests (SHA-256, MD5, CRC-32C) on a few worker threads, ahead of each
/// body's send, so the thread driving the transfers never waits for hashing (issue 17).
///
/// Jobs start in the order submitted. Each worker owns one `RegionHasher`, so the memory is
/// `threads × bufferSize` however many jobs are queued (2 × 256 KiB on two cores). The
/// threads start with the first job and live as long as the process (or until `shutdown`).
/// Every job's completion is called exactly once, on the worker thread that ran it (or on the
/// thread that cancelled it while it waited): hand the result to your own thread yourself
/// (`HTTPClient.inbox`).
public final class DigestPool: @unchecked Sendable {
    /// A job's work: hash with the worker's hasher (its buffer is reused for every job).
    public typealias Work = (RegionHasher) throws -> PayloadDigests
    public typealias Completion = (Result<PayloadDigests, any Error>) -> Void

    /// What a job cancelled before it finished completes with.
    public struct Cancelled: Error, CustomStringConvertible {
        public var description: String { "hashing was cancelled" }
    }

    /// One submitted job: `cancel()` it from any thread.
    public final class Ticket: @unchecked Sendable {
        fileprivate enum State { case queued, running, finished }
        fileprivate let work: Work
        fileprivate let completion: Completion
        fileprivate var state = State.queued  // guarded by the pool's mutex
        fileprivate let cancelled = Atomic<Bool>(false)
        fileprivate weak var pool: DigestPool?

        fileprivate init(work: @escaping Work, completion: @escaping Completion, pool: DigestPool) {
            self.work = work
            self.completion = completion
            self.pool = pool
        }

        public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

        /// A waiting job completes at once with `Cancelled`; a running one stops at its next
        /// buffer and completes with `Cancelled`; a finished one is left as it is.
        public func cancel() {
            cancelled.store(true, ordering: .relaxed)
            pool?.dequeue(self)
        }
    }

    /// The process-wide pool: one thread per core, at most 4.
    public static let shared = DigestPool(threads: DigestPool.defaultThreads)

    /// One per core, at most 4; `OFFSITE_AGENT_DIGEST_THREADS=0` hashes on the submitting thread
    /// instead (`make bench` compares the two; not a setting for production).
    public static var defaultThreads: Int {
        if let text = getenv("OFFSITE_AGENT_DIGEST_THREADS").map({ String(cString: $0) }), let n = Int(text), n >= 0 { return min(n, 4) }
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(1, min(4, cores > 0 ? cores : 1))
    }

    public let threads: Int
    public let bufferSize: Int
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var queue: [Ticket] = []
    private var head = 0
    private var workers: [WorkerThread] = []
    private var stopping = false

    /// `bufferSize`: each worker's read buffer (256 KiB hashes at full speed: SHA-256 and MD5
    /// cost the same per byte from 64 KiB up, and it is one `pread` per 256 KiB).
    /// `threads` 0: every job runs on the thread that submits it, before `submit` returns.
    public init(threads: Int, bufferSize: Int = 256 << 10) {
        self.threads = max(0, threads)
        self.bufferSize = bufferSize
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
    }

    deinit {
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
    }

    /// Queues `work`; `completion` gets its digests or its error (`Cancelled` when cancelled).
    @discardableResult
    public func submit(_ work: @escaping Work, completion: @escaping Completion) -> Ticket {
        let ticket = Ticket(work: work, completion: completion, pool: self)
        if threads == 0 {
            ticket.state = .finished
            completion(Result { try work(RegionHasher(bufferSize: bufferSize)) })
            return ticket
        }
        pthread_mutex_lock(&mutex)
        if stopping {
            pthread_mutex_unlock(&mutex)
            ticket.state = .finished
            completion(.failure(Cancelled()))
            return ticket
        }
        queue.append(ticket)
        if workers.count < threads && workers.count < pendingCount {
            let worker = WorkerThread { [unowned self] in self.serve() }
            workers.append(worker)
            worker.start()
        }
        pthread_cond_signal(&wake)
        pthread_mutex_unlock(&mutex)
        return ticket
    }

    /// Jobs waiting for a worker (under the mutex).
    private var pendingCount: Int { queue.count - head }

    /// Stops the workers once the queue is empty and waits for them (tests; the shared pool lives
    /// as long as the process).
    public func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&wake)
        let all = workers
        workers = []
        pthread_mutex_unlock(&mutex)
        for w in all { w.join() }
    }

    /// Takes a waiting ticket out of the queue and completes it as cancelled.
    fileprivate func dequeue(_ ticket: Ticket) {
        pthread_mutex_lock(&mutex)
        guard ticket.state == .queued, let at = queue[head...].firstIndex(where: { $0 === ticket }) else {
            pthread_mutex_unlock(&mutex)
            return
        }
        queue.remove(at: at)
        ticket.state = .finished
        pthread_mutex_unlock(&mutex)
        ticket.completion(.failure(Cancelled()))
    }

    /// One worker: takes jobs in order until the pool stops.
    private func serve() {
        let hasher = RegionHasher(bufferSize: bufferSize)
        while true {
            pthread_mutex_lock(&mutex)
            while pendingCount == 0 && !stopping { pthread_cond_wait(&wake, &mutex) }
            if pendingCount == 0 {
                pthread_mutex_unlock(&mutex)
                return
            }
            let ticket = queue[head]
            head += 1
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            ticket.state = .running
            pthread_mutex_unlock(&mutex)

            hasher.isCancelled = { ticket.isCancelled }
            var result: Result<PayloadDigests, any Error>
            do {
                result = .success(try ticket.work(hasher))
            } catch {
                result = .failure(error)
            }
            hasher.isCancelled = nil
            if ticket.isCancelled { result = .failure(Cancelled()) }
            pthread_mutex_lock(&mutex)
            ticket.state = .finished
            pthread_mutex_unlock(&mutex)
            ticket.completion(result)
        }
    }
}
