import Providers

/// How one file is cut into parts: equal parts (the last may be shorter), never more than the
/// provider's max parts, never smaller than its min part size.
public struct PartPlan: Sendable, Equatable {
    public var fileSize: Int64
    public var partSize: Int64
    public var partCount: Int

    public static let defaultPartSize: Int64 = 16 << 20

    /// Chooses the plan. `requested` is the configured part size (nil: the default, 16 MiB).
    public static func make(fileSize: Int64, requested: Int64?, limits: MultipartLimits) -> PartPlan {
        let mib: Int64 = 1 << 20
        var size = requested ?? defaultPartSize
        size = max(size, limits.minPartSize)
        // Enough parts to stay within max parts: round the needed size up to a whole MiB.
        let needed = (fileSize + Int64(limits.maxParts) - 1) / Int64(max(1, limits.maxParts))
        if size < needed { size = (needed + mib - 1) / mib * mib }
        size = min(size, limits.maxPartSize)
        size = max(size, 1)
        let count = max(1, Int((fileSize + size - 1) / size))
        return PartPlan(fileSize: fileSize, partSize: size, partCount: count)
    }

    /// Byte range of part `number` (1-based).
    public func range(of number: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(number - 1) * partSize
        return (offset, min(partSize, fileSize - offset))
    }
}
