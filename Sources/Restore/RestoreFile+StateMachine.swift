import Age
import AgentSupport

/// The restore of one file as states and events (async-http-client's `+StateMachine` files are
/// the model, like `MultipartUploadStateMachine`): the engine tells it what happened (a range
/// written, a range refused or damaged, a header opened, a chunk hashed, the digest's verdict,
/// an interruption) and it answers with the next action. It does no I/O — `RestoreEngine` sends
/// the GETs, writes, hashes, flushes and renames — so every recovery path is a unit test away:
/// a range damaged in transit, an object replaced in the vault, a header no identity opens, a
/// full disk, a `.partial` that lost what the journal says was written.
///
/// Ranges are numbered from 0: `chunkSize` slices of a plain file, whole sealed chunks of an
/// encrypted one (`AgeRangePlan`); the journal records the ones written.
struct RestoreFileStateMachine {
    enum State {
        /// An encrypted file whose header is not open yet: only range 0 (which holds it) is fetched.
        case waitingForHeader(Progress)
        /// Ranges queued, in flight and written; written ones are hashed in file order.
        case fetching(Progress)
        /// Every byte hashed, nothing in flight: the engine compares the digest (`digestChecked`).
        case verifying(Progress)
        /// Checked: flushed, recorded done and renamed into place by the engine (`installed`).
        case installing
        case finished
        /// Given up (never put in place): its `.partial` goes once its last GET is back.
        case rejected(Rejection, inFlight: Int32)
        /// Given up and its `.partial` removed.
        case discarded(Rejection)
        /// The restore stopped (a failure, an interruption): nothing more is fetched or installed;
        /// what was written stays recorded for a re-run.
        case stopped(Progress)
        /// Transient, while an event mutates the progress in place (no copy of its sets).
        case modifying
    }

    /// The ranges of a file in progress. Sets of 64 ranges or fewer cost no allocation (issue 19).
    struct Progress {
        /// Written to the `.partial` (by this run or, per the journal, an earlier one).
        var done: ChunkSet
        /// Written by this run (an earlier run's may have been lost with the page cache).
        var fetched = ChunkSet()
        /// Queued or in flight: never asked for twice at once.
        var wanted = ChunkSet()
        /// Plain files: ranges before this one are hashed.
        var frontier = 0
        /// GETs of it not answered yet.
        var inFlight: Int32 = 0
        /// A digest that differs is fetched once more (then this is set), then rejected.
        var downloadedTwice = false
        /// Encrypted files: whether a range that failed authentication was fetched again.
        var authRetried = false
        /// The object's ETags seen by this run (a reference: the progress of each of a backup's
        /// files stays small, issue 19).
        var etags: ObjectETags?
    }

    /// The ETag the first range of this run saw, and the first other one seen.
    final class ObjectETags {
        let first: String
        var replacedBy: String?

        init(first: String) { self.first = first }
    }

    /// Why a file is given up.
    enum Rejection: Equatable {
        /// `what` (its SHA-256, its CRC-32C, part(s) ...) differs from the manifest after a second
        /// download; `replaced`: the object's ETags seen during the restore, when they changed.
        case digestDiffers(what: String, replaced: (from: String, to: String)?)
        /// Range `range` did not authenticate, also after a second download.
        case decryptionFailed(range: Int, AgeError)

        static func == (a: Rejection, b: Rejection) -> Bool {
            switch (a, b) {
            case (.digestDiffers(let w1, let r1), .digestDiffers(let w2, let r2)): w1 == w2 && r1?.from == r2?.from && r1?.to == r2?.to
            case (.decryptionFailed(let r1, let e1), .decryptionFailed(let r2, let e2)): r1 == r2 && e1 == e2
            default: false
            }
        }
    }

    /// Why ranges are fetched again.
    enum Refetch: Equatable {
        /// Recorded as written by an earlier run, but missing from the `.partial`.
        case lostOnDisk(count: Int)
        /// The digest differs: the ranges of the segments that differ, once more.
        case digestDiffers(what: String)
        /// A range that did not authenticate: once more (damaged in transit?).
        case decryptionFailed(range: Int, AgeError)
    }

    /// Why a range's GET brought nothing usable and stops the restore.
    enum RangeFailure {
        /// 404/416: the object is missing or shorter than the manifest says.
        case missing
        /// The server answered with other bytes than asked for (`rangeProblem`).
        case wrongAnswer(String)
        /// Writing it to the `.partial` failed (errno): the target's disk, not the vault.
        case diskWrite(errno: Int32)
        /// The vault refused or did not answer (retries spent): the engine's mapped error.
        case vault(AgentError)
        /// No identity opens the file's header.
        case identityMismatch
    }

    enum Action {
        case none
        /// Hash what is written and next in order (`nextToHash`, or re-seal an encrypted file's ranges).
        case hashNext
        /// Queue `ranges` first in line (each at most once queued or in flight), record the
        /// file's progress in the journal, warn with `why`. `restartHashing`: the file's
        /// verifier starts over from byte 0 (then `hashNext`).
        case refetch(ranges: [Int], why: Refetch, restartHashing: Bool)
        /// Size the `.partial`, compare its digest with the manifest, report `digestChecked`.
        case verify
        /// Flush and close the `.partial`, record the file done, rename it into place, report `installed`.
        case install
        /// Report the file as not restored: drop its queued ranges and its journal progress, stop
        /// its ranges in flight; `discardNow`: nothing is in flight, remove its `.partial` now.
        case reject(Rejection, discardNow: Bool)
        /// Close and remove the `.partial` of a rejected file (its last GET is back).
        case discard
        /// Stop the whole restore with this failure; the journal keeps what was written.
        case stopRestore(RangeFailure)
    }

    /// The next step of hashing a plain file in order.
    enum HashStep: Equatable {
        /// Hash range `range`; `checkOnDisk`: it was written by an earlier run, so first check the
        /// `.partial` still holds it (else report `lostOnDisk`).
        case hash(range: Int, checkOnDisk: Bool)
        /// The next range is not written yet.
        case wait
        /// Every range is hashed (report `allHashed`).
        case complete
    }

    /// Whether a range is written, and by whom.
    enum Written { case no, thisRun, earlierRun }

    /// The verdict of the file's digest.
    enum Verdict {
        case matches
        /// `ranges`: those overlapping the segments that differ.
        case differs(ranges: Set<Int>, what: String)
    }

    let rangeCount: Int
    let encrypted: Bool
    private(set) var state: State

    /// A file of `rangeCount` ranges; `recorded`: the ranges the journal says an earlier run wrote.
    /// An encrypted file starts waiting for its header (`recordedHeader` may open it from the journal).
    init(rangeCount: Int, encrypted: Bool, recorded: [Int] = []) {
        self.rangeCount = rangeCount
        self.encrypted = encrypted
        let progress = Progress(done: ChunkSet(recorded.filter { $0 >= 0 && $0 < rangeCount }))
        state = encrypted ? .waitingForHeader(progress) : .fetching(progress)
    }

    // MARK: queries

    /// The file's ranges while it is in progress (nil once finished or given up).
    var progress: Progress? {
        switch state {
        case .waitingForHeader(let p), .fetching(let p), .verifying(let p), .stopped(let p): p
        default: nil
        }
    }

    /// Restored or given up: nothing of it is fetched, hashed or recorded any more.
    var isSettled: Bool {
        switch state {
        case .installing, .finished, .rejected, .discarded: true
        default: false
        }
    }

    var isGivenUp: Bool {
        switch state {
        case .rejected, .discarded: true
        default: false
        }
    }

    /// The ranges the journal records as written (none once settled).
    var journalRanges: [Int] { progress?.done.sorted() ?? [] }

    /// Whether the journal keeps the file's header: a re-run needs it to decrypt the ranges still missing.
    var journalKeepsHeader: Bool { encrypted && rangeCount > 1 && !(progress?.done.isEmpty ?? true) }

    func written(_ range: Int) -> Written {
        guard let p = progress, p.done.contains(range) else { return .no }
        return p.fetched.contains(range) ? .thisRun : .earlierRun
    }

    /// Whether range `range` may be sent now (an encrypted file's later ranges wait for its header).
    func mayLaunch(_ range: Int) -> Bool {
        switch state {
        case .waitingForHeader: range == 0
        case .fetching: true
        default: false
        }
    }

    // MARK: events

    /// An encrypted file continued from the journal: whether the journal's copy of its header
    /// opened. If not, what the earlier run wrote is dropped (fetched again with the header);
    /// returns whether there was any.
    mutating func recordedHeader(opens: Bool) -> Bool {
        guard case .waitingForHeader(let p) = state, !p.done.isEmpty else { return false }
        if opens {
            state = .fetching(p)
            return false
        }
        state = .waitingForHeader(Progress(done: []))
        return true
    }

    /// The ranges to queue at the start: every one not written yet.
    mutating func start() -> [Int] {
        var ranges: [Int] = []
        let count = rangeCount
        modify { p in
            ranges = (0..<count).filter { !p.done.contains($0) }
            p.wanted.formUnion(ranges)
        }
        return ranges
    }

    /// The header (in range 0) opened with an identity: the other ranges may go.
    mutating func headerOpened() {
        guard case .waitingForHeader(let p) = state else { return }
        state = .fetching(p)
    }

    mutating func rangeLaunched(_ range: Int) {
        modify { p in p.inFlight += 1 }
    }

    /// A range's GET brought its bytes and they are written (`etag`: the answer's ETag).
    mutating func rangeArrived(_ range: Int, etag: String?) -> Action {
        if let drained = drain(range) { return drained }
        var next = Action.none
        let stopped = if case .stopped = state { true } else { false }
        modify { p in
            p.done.insert(range)
            p.fetched.insert(range)
            if let etag, !etag.isEmpty {
                if let seen = p.etags {
                    if etag != seen.first, seen.replacedBy == nil { seen.replacedBy = etag }
                } else {
                    p.etags = ObjectETags(first: etag)
                }
            }
            if !stopped { next = .hashNext }
        }
        return next
    }

    /// A range that did not authenticate (`AgeError.noMatch`: no identity opens the header).
    mutating func rangeFailedDecryption(_ range: Int, _ problem: AgeError) -> Action {
        if let drained = drain(range) { return drained }
        if case .stopped = state { return .none }
        if problem == .noMatch { return stop(.identityMismatch) }
        guard let p = progress else { return .none }
        if p.authRetried {
            // Tampered (or rewritten together with the manifest): never put in place.
            return reject(.decryptionFailed(range: range, problem), inFlight: p.inFlight)
        }
        modify { p in
            p.authRetried = true
            p.wanted.insert(range)
        }
        return .refetch(ranges: [range], why: .decryptionFailed(range: range, problem), restartHashing: false)
    }

    /// A range's GET failed for good: the restore stops, unless the file was given up already.
    mutating func rangeFailed(_ range: Int, _ failure: RangeFailure) -> Action {
        if let drained = drain(range) { return drained }
        return stop(failure)
    }

    /// Plain files: what to hash next.
    func nextToHash() -> HashStep {
        guard let p = progress else { return .wait }
        if case .stopped = state { return .wait }
        if p.frontier == rangeCount { return .complete }
        guard p.done.contains(p.frontier) else { return .wait }
        return .hash(range: p.frontier, checkOnDisk: !p.fetched.contains(p.frontier))
    }

    mutating func hashed(_ range: Int) {
        modify { p in
            precondition(p.frontier == range, "hashed out of order")
            p.frontier += 1
        }
    }

    /// Range `from`, recorded as written by an earlier run, is not in the `.partial` (lost in a
    /// power cut, or the file was removed): it and every later range that run wrote are fetched again.
    mutating func lostOnDisk(from: Int) -> Action {
        var lost: [Int] = []
        var fresh: [Int] = []
        let count = rangeCount
        modify { p in
            lost = (from..<count).filter { p.done.contains($0) && !p.fetched.contains($0) }
            p.done.subtract(lost)
            fresh = lost.filter { !p.wanted.contains($0) }
            p.wanted.formUnion(fresh)
        }
        return .refetch(ranges: fresh, why: .lostOnDisk(count: lost.count), restartHashing: false)
    }

    /// Every byte of the file is hashed: verified once no GET of it is in flight (they write
    /// through its descriptor; the last one to come back asks again).
    mutating func allHashed() -> Action {
        guard case .fetching(let p) = state, p.inFlight == 0 else { return .none }
        state = .verifying(p)
        return .verify
    }

    mutating func digestChecked(_ verdict: Verdict) -> Action {
        guard case .verifying(var p) = state else { preconditionFailure("digestChecked in \(state)") }
        switch verdict {
        case .matches:
            state = .installing
            return .install
        case .differs(let ranges, let what):
            guard !p.downloadedTwice else {
                let replaced = p.etags.flatMap { e in e.replacedBy.map { (from: e.first, to: $0) } }
                return reject(.digestDiffers(what: what, replaced: replaced), inFlight: p.inFlight)
            }
            // Damaged in transit or on a disk? One more download of the ranges that differ.
            p.downloadedTwice = true
            p.done.subtract(ranges)
            let fresh = ranges.filter { !p.wanted.contains($0) }.sorted()
            p.wanted.formUnion(fresh)
            p.frontier = 0
            state = .fetching(p)
            return .refetch(ranges: fresh, why: .digestDiffers(what: what), restartHashing: true)
        }
    }

    /// Renamed into place.
    mutating func installed() {
        guard case .installing = state else { preconditionFailure("installed in \(state)") }
        state = .finished
    }

    /// The restore stopped (interrupted, or another file's failure): nothing more of this file is
    /// fetched or put in place; its progress stays for the journal.
    mutating func cancelled() {
        switch state {
        case .waitingForHeader(let p), .fetching(let p), .verifying(let p): state = .stopped(p)
        default: break
        }
    }

    // MARK: helpers

    /// The states that hold progress, without it.
    private enum Phase { case waitingForHeader, fetching, verifying, stopped }

    /// Mutates the progress of a file in progress in place (the state lets go of it meanwhile,
    /// so its sets are not copied).
    private mutating func modify(_ body: (inout Progress) -> Void) {
        let phase: Phase
        var p: Progress
        switch state {
        case .waitingForHeader(let q): (phase, p) = (.waitingForHeader, q)
        case .fetching(let q): (phase, p) = (.fetching, q)
        case .verifying(let q): (phase, p) = (.verifying, q)
        case .stopped(let q): (phase, p) = (.stopped, q)
        default: return
        }
        state = .modifying
        body(&p)
        state = Self.state(phase, p)
    }

    private static func state(_ phase: Phase, _ p: Progress) -> State {
        switch phase {
        case .waitingForHeader: .waitingForHeader(p)
        case .fetching: .fetching(p)
        case .verifying: .verifying(p)
        case .stopped: .stopped(p)
        }
    }

    /// A GET of range `range` came back: no longer in flight. For a rejected file, the action
    /// (discard once the last one is back); nil for a file in progress.
    private mutating func drain(_ range: Int) -> Action? {
        if case .rejected(let r, let inFlight) = state {
            state = inFlight <= 1 ? .discarded(r) : .rejected(r, inFlight: inFlight - 1)
            return inFlight <= 1 ? .discard : Action.none
        }
        if case .discarded = state { return Action.none }
        modify { p in
            p.inFlight -= 1
            p.wanted.remove(range)
        }
        return nil
    }

    private mutating func reject(_ why: Rejection, inFlight: Int32) -> Action {
        state = inFlight == 0 ? .discarded(why) : .rejected(why, inFlight: inFlight)
        return .reject(why, discardNow: inFlight == 0)
    }

    private mutating func stop(_ failure: RangeFailure) -> Action {
        cancelled()
        return .stopRestore(failure)
    }
}
