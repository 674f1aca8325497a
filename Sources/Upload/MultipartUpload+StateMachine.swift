import AgentSupport
import Hashing
import S3

/// The multipart upload of one file as states and events (async-http-client's `+StateMachine`
/// files are the model): the engine tells it what happened (an upload created, parts listed, a
/// part stored or refused, Complete's answer) and it answers with the next action. It does no
/// I/O, so every recovery path is a unit test away: `InvalidPart` or `NoSuchUpload` at
/// Complete, a lost Complete answer, an upload the server forgot, the Object Lock Content-MD5
/// demand, parts held on the server that are not provably ours.
struct MultipartUploadStateMachine {
    enum State {
        case idle
        case listingParts(uploadID: String)
        case creatingUpload
        case sendingParts(uploadID: String, SendingParts)
        case completing(uploadID: String, parts: [JournalEntry.Part], expectedETag: String?)
        /// A 500 at Complete (Ceph RGW's answer for an upload it no longer knows): ListParts decides.
        case askingWhetherGone(uploadID: String, parts: [JournalEntry.Part], expectedETag: String?, refusal: AgentError)
        /// The upload is gone at Complete: a HEAD decides whether an earlier attempt completed it.
        case checkingStoredObject(parts: [JournalEntry.Part], expectedETag: String?)
        case finished
        case failed
    }

    /// Parts of the upload while they are sent.
    struct SendingParts {
        /// Not yet claimed, in order; a part sent again goes first.
        var waiting: [Int]
        /// Claimed by the engine (being hashed or in flight).
        var claimed: Set<Int> = []
        var held: [Int: JournalEntry.Part]
        /// The first failure: no new part is claimed, the ones in flight drain.
        var failure: AgentError?
        /// The server forgot the upload: the file starts over once the parts in flight drained.
        var restart: String?
    }

    enum Action {
        /// ListParts: which parts the server holds (`because`: why again, for the log).
        case listParts(uploadID: String, because: String?)
        case createUpload
        /// Claim parts with `nextPart()` and send them; report with `partStored`/`partRefused`,
        /// then `partsSettled` once nothing is in flight.
        case sendParts(uploadID: String)
        case complete(uploadID: String, parts: [JournalEntry.Part], expectedETag: String?)
        case askWhetherUploadIsGone(uploadID: String)
        /// HEAD the object: did an attempt whose answer was lost complete the upload?
        case checkStoredObject(expectedETag: String?)
        /// Complete answered: verify the stored object and record the file done.
        case verify(etag: String, parts: [JournalEntry.Part], expectedETag: String?)
        /// The object an earlier attempt completed is provably ours: record the file done.
        case adoptStoredObject(etag: String, parts: [JournalEntry.Part])
        /// Forget the upload id and parts (journal), create a new upload, report `uploadCreated`.
        case startOver(reason: String)
        /// Give up on this file; abort its multipart upload first when `abortUploadID` is set.
        case fail(AgentError, abortUploadID: String?)
    }

    /// How a part's request ended when it did not store the part.
    enum PartRefusal {
        /// NoSuchUpload: the server no longer knows the upload.
        case uploadUnknown
        /// The bucket demands Content-MD5 (Object Lock): the part is sent again with it, unless
        /// it carried one already (then `refusal` is the failure).
        case contentMD5Demanded(refusal: AgentError)
        case failed(AgentError)
    }

    /// How Complete ended when it did not answer with the object.
    enum CompleteRefusal {
        case uploadUnknown
        /// `500 InternalError` (Ceph RGW's answer for an upload it no longer knows).
        case internalError(AgentError)
        /// `InvalidPart` / `InvalidPartOrder`: the server disowns parts we recorded.
        case invalidPart(code: String)
        case failed(AgentError)
    }

    /// Start-overs and re-listings of one file before it fails.
    static let maxRestarts = 3

    let path: String
    /// How the file is cut: the recorded plan of a resumed upload, a new one for a new upload.
    private(set) var plan: PartPlan
    private(set) var state: State = .idle
    private(set) var restarts = 0
    /// Set when the bucket demanded Content-MD5: every part claimed afterwards carries it.
    private(set) var contentMD5Demanded = false

    /// Whether the server's part ETags are the MD5s of the parts' bytes (an MD5-ETag provider,
    /// no SSE-KMS): then an object completed by an attempt whose answer was lost is recognised
    /// by them even when the parts were sent without Content-MD5 (a signed SHA-256 only).
    let partETagsAreMD5s: Bool

    init(path: String, plan: PartPlan, partETagsAreMD5s: Bool = false) {
        self.path = path
        self.plan = plan
        self.partETagsAreMD5s = partETagsAreMD5s
    }

    // MARK: events

    /// The file's journal names an upload (a resume) or none.
    mutating func start(recordedUploadID: String?) -> Action {
        guard case .idle = state else { preconditionFailure("start twice") }
        if let id = recordedUploadID {
            state = .listingParts(uploadID: id)
            return .listParts(uploadID: id, because: nil)
        }
        state = .creatingUpload
        return .createUpload
    }

    /// A new upload, cut by `plan`.
    mutating func uploadCreated(_ uploadID: String, plan: PartPlan) -> Action {
        guard case .creatingUpload = state else { preconditionFailure("uploadCreated in \(state)") }
        self.plan = plan
        return sending(uploadID, held: [:])
    }

    /// The parts the server holds that are provably ours (see `adoptable`).
    mutating func partsListed(held: [Int: JournalEntry.Part]) -> Action {
        guard case .listingParts(let id) = state else { preconditionFailure("partsListed in \(state)") }
        return sending(id, held: held)
    }

    /// ListParts said the upload is unknown (NoSuchUpload; Ceph RGW: NoSuchKey).
    mutating func listingFoundNoUpload(_ code: String) -> Action {
        guard case .listingParts = state else { preconditionFailure("listingFoundNoUpload in \(state)") }
        return startOver("\(code) on ListParts")
    }

    /// The next part to hash and send; nil when none is waiting or the upload is stopping.
    mutating func nextPart() -> Int? {
        guard case .sendingParts(let id, var s) = state, s.failure == nil, s.restart == nil, !s.waiting.isEmpty else { return nil }
        let number = s.waiting.removeFirst()
        s.claimed.insert(number)
        state = .sendingParts(uploadID: id, s)
        return number
    }

    /// Whether the upload is stopping (a failure, or the server forgot it): claim nothing more.
    var isStopping: Bool {
        guard case .sendingParts(_, let s) = state else { return true }
        return s.failure != nil || s.restart != nil
    }

    /// Parts waiting or claimed: the engine's loop runs until this is zero or the upload stops.
    var partsOutstanding: Int {
        guard case .sendingParts(_, let s) = state else { return 0 }
        return s.waiting.count + s.claimed.count
    }

    mutating func partStored(_ part: JournalEntry.Part) {
        guard case .sendingParts(let id, var s) = state else { preconditionFailure("partStored in \(state)") }
        s.claimed.remove(part.number)
        s.held[part.number] = part
        state = .sendingParts(uploadID: id, s)
    }

    /// A claimed part that was not sent (its hash was cancelled, or it must be hashed again
    /// with Content-MD5): it waits again, first.
    mutating func partReturned(_ number: Int) {
        guard case .sendingParts(let id, var s) = state else { return }
        s.claimed.remove(number)
        s.waiting.insert(number, at: 0)
        state = .sendingParts(uploadID: id, s)
    }

    /// `sentWithMD5`: whether the refused request carried Content-MD5.
    mutating func partRefused(_ number: Int, _ refusal: PartRefusal, sentWithMD5: Bool) {
        guard case .sendingParts(let id, var s) = state else { preconditionFailure("partRefused in \(state)") }
        s.claimed.remove(number)
        switch refusal {
        case .uploadUnknown:
            s.restart = s.restart ?? "NoSuchUpload on part \(number)"
        case .contentMD5Demanded where !sentWithMD5:
            contentMD5Demanded = true
            s.waiting.insert(number, at: 0)
        case .contentMD5Demanded(let refusal):
            s.failure = s.failure ?? refusal
        case .failed(let error):
            s.failure = s.failure ?? error
        }
        state = .sendingParts(uploadID: id, s)
    }

    /// A failure outside a part's request (reading or hashing the file, the journal).
    mutating func failed(_ error: AgentError) {
        guard case .sendingParts(let id, var s) = state else { preconditionFailure("failed in \(state)") }
        s.failure = s.failure ?? error
        state = .sendingParts(uploadID: id, s)
    }

    /// Nothing is in flight any more (every part stored, or the upload stopped; `interrupted`:
    /// by SIGINT/SIGTERM).
    mutating func partsSettled(interrupted: Bool) -> Action {
        guard case .sendingParts(let id, let s) = state else { preconditionFailure("partsSettled in \(state)") }
        if interrupted {
            state = .failed
            return .fail(
                AgentError(
                    .interrupted, "interrupted while sending \(path); the journal keeps the \(s.held.count) parts sent", hint: "run `agent resume --all` to finish",
                    exit: .tempFail), abortUploadID: nil)
        }
        if let failure = s.failure {
            state = .failed
            // A file that changed or cannot be read will not be resumed: its parts go.
            let gone = failure.code == .sourceChanged || failure.code == .unreadable
            return .fail(failure, abortUploadID: gone ? id : nil)
        }
        if let reason = s.restart { return startOver(reason) }
        guard s.held.count == plan.partCount else {
            state = .failed
            return .fail(
                AgentError(.retriesExhausted, "\(path): only \(s.held.count) of \(plan.partCount) parts were sent", hint: "run `agent resume --all`"),
                abortUploadID: nil)
        }
        let parts = s.held.values.sorted { $0.number < $1.number }
        let expected = Self.expectedETag(parts)
        state = .completing(uploadID: id, parts: parts, expectedETag: expected)
        return .complete(uploadID: id, parts: parts, expectedETag: expected)
    }

    mutating func completed(etag: String) -> Action {
        guard case .completing(_, let parts, let expected) = state else { preconditionFailure("completed in \(state)") }
        state = .finished
        return .verify(etag: etag, parts: parts, expectedETag: expected)
    }

    mutating func completeRefused(_ refusal: CompleteRefusal) -> Action {
        guard case .completing(let id, let parts, let expected) = state else { preconditionFailure("completeRefused in \(state)") }
        switch refusal {
        case .uploadUnknown:
            // Completed by an earlier attempt whose answer was lost (the client retried), or gone.
            state = .checkingStoredObject(parts: parts, expectedETag: expected)
            return .checkStoredObject(expectedETag: expected)
        case .internalError(let error):
            state = .askingWhetherGone(uploadID: id, parts: parts, expectedETag: expected, refusal: error)
            return .askWhetherUploadIsGone(uploadID: id)
        case .invalidPart(let code):
            restarts += 1
            if restarts > Self.maxRestarts {
                state = .failed
                return .fail(
                    AgentError(
                        .rejected, "the server kept refusing the parts of \(path) at completion (\(code))",
                        hint: "run `agent upload --force` later; if it repeats, the vault or a proxy alters uploads", exit: .failed), abortUploadID: nil)
            }
            // Ask the server which parts it holds and send only the others, in the same upload.
            state = .listingParts(uploadID: id)
            return .listParts(uploadID: id, because: "\(code) at completion")
        case .failed(let error):
            state = .failed
            return .fail(error, abortUploadID: nil)
        }
    }

    /// ListParts' verdict after a 500 at Complete.
    mutating func uploadIsGone(_ gone: Bool) -> Action {
        guard case .askingWhetherGone(_, let parts, let expected, let refusal) = state else { preconditionFailure("uploadIsGone in \(state)") }
        guard gone else {
            state = .failed
            return .fail(refusal, abortUploadID: nil)
        }
        state = .checkingStoredObject(parts: parts, expectedETag: expected)
        return .checkStoredObject(expectedETag: expected)
    }

    /// The HEAD of the object after the upload was gone at Complete (nil: none, or no answer).
    /// Only an object whose ETag proves it is made of our parts counts as ours: the one our
    /// parts' MD5s give, or (`partETagsAreMD5s`) the one the ETags the server gave them give.
    mutating func storedObject(size: Int64?, etag: String?) -> Action {
        guard case .checkingStoredObject(let parts, let expected) = state else { preconditionFailure("storedObject in \(state)") }
        let proof = expected ?? (partETagsAreMD5s ? Self.multipartETag(parts.map(\.etag)) : nil)
        if let proof, let size, let etag, size == plan.fileSize, etag.lowercased() == proof.lowercased() {
            state = .finished
            return .adoptStoredObject(etag: etag, parts: parts)
        }
        return startOver("NoSuchUpload on complete")
    }

    // MARK: helpers

    private mutating func sending(_ uploadID: String, held: [Int: JournalEntry.Part]) -> Action {
        let waiting = (1...plan.partCount).filter { held[$0] == nil }
        state = .sendingParts(uploadID: uploadID, SendingParts(waiting: waiting, held: held))
        return .sendParts(uploadID: uploadID)
    }

    private mutating func startOver(_ reason: String) -> Action {
        restarts += 1
        if restarts > Self.maxRestarts {
            state = .failed
            return .fail(
                AgentError(.retriesExhausted, "the server kept forgetting the multipart upload of \(path)", hint: "retry later with `agent resume --all`"),
                abortUploadID: nil)
        }
        state = .creatingUpload
        return .startOver(reason: reason)
    }

    /// The ETag S3 gives an object completed from these parts: the MD5 of their MD5s, `-count`;
    /// nil when a part's MD5 is unknown (sent with a SHA-256 or CRC-32C only).
    static func expectedETag(_ parts: [JournalEntry.Part]) -> String? {
        guard parts.allSatisfy({ $0.md5 != nil }) else { return nil }
        return multipartETag(parts.map { $0.md5 ?? "" })
    }

    /// The MD5 of these MD5s (hex) `-count`; nil when one is not 32 hex digits.
    static func multipartETag(_ md5s: [String]) -> String? {
        guard !md5s.isEmpty else { return nil }
        var concatenated: [UInt8] = []
        for m in md5s {
            guard m.utf8.count == 32, let bytes = Hex.decode(m), bytes.count == 16 else { return nil }
            concatenated += bytes
        }
        return Digest.md5(concatenated).hexString + "-\(md5s.count)"
    }

    /// The parts a resumed upload adopts from ListParts: only those provably ours — recorded in
    /// the journal with the same ETag and size, or (killed before the journal write) whose ETag
    /// is the MD5 of our bytes where the provider's ETag is the MD5 (`rehash` reads them again).
    /// A part whose ETag differs from the journal's (replaced on the server, say) is sent again.
    static func adoptable(
        server: [UploadedPart], recorded: [JournalEntry.Part], plan: PartPlan, etagIsMD5: Bool,
        rehash: (_ number: Int) throws(AgentError) -> JournalEntry.Part
    ) throws(AgentError) -> [Int: JournalEntry.Part] {
        var byNumber: [Int: JournalEntry.Part] = [:]
        for p in recorded { byNumber[p.number] = p }
        var held: [Int: JournalEntry.Part] = [:]
        for sp in server where sp.number >= 1 && sp.number <= plan.partCount {
            guard sp.size == plan.range(of: sp.number).length else { continue }
            if let mine = byNumber[sp.number], mine.etag == sp.etag, mine.size == sp.size {
                held[sp.number] = mine
                continue
            }
            if etagIsMD5, sp.etag.count == 32 {
                let part = try rehash(sp.number)
                if part.md5 == sp.etag.lowercased() { held[sp.number] = part }
            }
        }
        return held
    }
}
