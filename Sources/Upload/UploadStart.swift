import AgentSupport

/// What an upload does with the journal entry it finds for its backup and vault: decided here,
/// without I/O, so each case is a unit test (the engine then checks the offsite manifest,
/// aborts, resumes or starts afresh as told).
enum UploadStart {
    /// Continue the interrupted upload where it stopped.
    case resume(JournalEntry)
    /// The vault now names another bucket, endpoint or prefix than the interrupted upload: what
    /// was sent is elsewhere. Unless `checkManifest` finds the backup complete here, abort the
    /// old multipart uploads (`abort`: key and upload id) and start afresh.
    case retargeted(checkManifest: Bool, abort: [(key: String, uploadID: String)])
    /// A completed upload is replaced by a new one (put back if the new one sends nothing);
    /// unless `checkManifest` finds the backup complete offsite.
    case replaceCompleted(JournalEntry, checkManifest: Bool)
    /// No usable entry: start afresh, unless `checkManifest` finds the backup complete offsite.
    case fresh(checkManifest: Bool, warning: String?)
    case refuse(AgentError)

    /// `pointsHere`: whether an entry was recorded against the bucket, endpoint and prefix the
    /// vault names now. `unchanged`: whether a completed entry's files are the backup's files.
    static func decide(
        _ load: Journal.LoadResult, force: Bool, singleFile: Bool, pointsHere: (JournalEntry) -> Bool, unchanged: (JournalEntry) -> Bool
    ) -> UploadStart {
        switch load {
        case .entry(let existing) where !existing.isFinished && !pointsHere(existing):
            let abort = existing.files.compactMap { f in f.state != .done ? f.uploadID.map { (f.key, $0) } : nil }
            return .retargeted(checkManifest: !force && !singleFile, abort: abort)
        case .entry(let existing) where !existing.isFinished:
            return .resume(existing)
        case .entry(let done) where done.state == .completed:
            // Already offsite, unless a file changed since (an archive uploaded again by path): the
            // offsite manifest where the vault points now decides, whatever the entry recorded.
            return .replaceCompleted(done, checkManifest: !force && unchanged(done))
        case .corrupt(let path, let moved):
            return .fresh(checkManifest: false, warning: "the journal file \(path) was damaged and was moved to \(moved); starting this upload afresh")
        case .newer(let path, let version):
            return .refuse(Journal.tooNew(path: path, version: version))
        default:
            return .fresh(checkManifest: !force && !singleFile, warning: nil)
        }
    }
}
