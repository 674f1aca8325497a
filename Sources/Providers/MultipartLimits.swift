/// A provider's limits on single PUTs and multipart uploads, in bytes.
public struct MultipartLimits: Sendable, Equatable {
    public var minPartSize: Int64
    public var maxPartSize: Int64
    public var maxParts: Int
    /// Whether every part but the last must have the same size (R2 requires it).
    public var equalParts: Bool
    /// The largest object one PUT may carry.
    public var maxSinglePut: Int64
    public var maxObjectSize: Int64
    /// Files larger than this go up as multipart uploads.
    public var multipartThreshold: Int64

    public init(
        minPartSize: Int64, maxPartSize: Int64, maxParts: Int, equalParts: Bool,
        maxSinglePut: Int64, maxObjectSize: Int64, multipartThreshold: Int64
    ) {
        self.minPartSize = minPartSize
        self.maxPartSize = maxPartSize
        self.maxParts = maxParts
        self.equalParts = equalParts
        self.maxSinglePut = maxSinglePut
        self.maxObjectSize = maxObjectSize
        self.multipartThreshold = multipartThreshold
    }
}
