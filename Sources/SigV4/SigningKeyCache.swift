import Synchronization

/// Remembers the last derived signing key, so signing thousands of parts a day derives it
/// (four HMACs) once per day rather than once per request.
///
/// See https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
/// ("Step 4: Derive a signing key"): the key depends only on the secret, the date, the region
/// and the service, so it stays valid for the whole UTC day. Safe to share between threads.
final class SigningKeyCache: Sendable {
    private struct Entry {
        var dateStamp: String
        var region: String
        var service: String
        var key: [UInt8]
    }

    private struct State {
        var entry: Entry?
        var derivations = 0
    }

    private let state = Mutex(State())

    /// The cached key for this scope, or `derive()`'s result, which then replaces the cached one.
    /// One entry is enough: the scope changes once a day.
    func key(dateStamp: String, region: String, service: String, derive: () -> [UInt8]) -> [UInt8] {
        state.withLock { state in
            if let entry = state.entry, entry.dateStamp == dateStamp, entry.region == region, entry.service == service {
                return entry.key
            }
            let key = derive()
            state.entry = Entry(dateStamp: dateStamp, region: region, service: service, key: key)
            state.derivations += 1
            return key
        }
    }

    /// How many keys have been derived so far; lets tests pin the caching.
    var derivations: Int { state.withLock { $0.derivations } }
}
