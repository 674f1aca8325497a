#if canImport(Glibc)
    import Glibc
#endif

/// A plain POSIX thread for work that blocks on its own event loop (one vault's transfers).
public final class WorkerThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void
    private var started = false

    public init(_ body: @escaping () -> Void) {
        self.body = body
    }

    public func start() {
        let unmanaged = Unmanaged.passRetained(self)
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let worker = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
                worker.body()
                return nil
            }, unmanaged.toOpaque())
        if rc != 0 {
            // No thread to be had: do the work here rather than not at all.
            unmanaged.release()
            body()
        } else {
            started = true
        }
    }

    public func join() {
        guard started else { return }
        pthread_join(thread, nil)
        started = false
    }
}
