import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// Work other threads hand to an `HTTPClient`'s thread (the digest pool's results, issue 17):
/// `post` is thread-safe and wakes the client's loop out of `curl_multi_poll`; the actions run
/// on the client's thread, in the order posted, from within `run…` or `waitForPosts`.
public final class Inbox: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var arrived = pthread_cond_t()
    private var actions: [() -> Void] = []
    /// The multi handle to wake; nil once the client is gone (posts are then dropped).
    private var multi: UnsafeMutableRawPointer?

    init(multi: UnsafeMutableRawPointer) {
        self.multi = multi
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&arrived, nil)
    }

    deinit {
        pthread_cond_destroy(&arrived)
        pthread_mutex_destroy(&mutex)
    }

    /// Queues `action` for the client's thread and wakes its loop. Any thread.
    public func post(_ action: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard let multi else { return }
        actions.append(action)
        curl_multi_wakeup(multi)
        pthread_cond_signal(&arrived)
    }

    /// Everything posted so far, in order.
    func take() -> [() -> Void] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let taken = actions
        actions = []
        return taken
    }

    /// Waits up to `milliseconds` for a post.
    func wait(milliseconds: Int) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard actions.isEmpty else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var due = now
        let nanos = Int(now.tv_nsec) + (milliseconds % 1000) * 1_000_000
        due.tv_sec += milliseconds / 1000 + nanos / 1_000_000_000
        due.tv_nsec = nanos % 1_000_000_000
        _ = pthread_cond_timedwait(&arrived, &mutex, &due)
    }

    /// The client is going away: later posts are dropped, never delivered to a freed handle.
    func close() {
        pthread_mutex_lock(&mutex)
        multi = nil
        actions = []
        pthread_mutex_unlock(&mutex)
    }
}
