import Providers
import Testing

@testable import Upload

private func limits(min: Int64 = 5 << 20, max: Int64 = 5 << 30, parts: Int = 10000) -> MultipartLimits {
    MultipartLimits(minPartSize: min, maxPartSize: max, maxParts: parts, equalParts: true, maxSinglePut: 5 << 30, maxObjectSize: 5 << 40, multipartThreshold: 64 << 20)
}

@Test func defaultPartSizeIs16MiB() {
    let plan = PartPlan.make(fileSize: 1 << 30, requested: nil, limits: limits())
    #expect(plan.partSize == 16 << 20)
    #expect(plan.partCount == 64)
}

@Test func requestedPartSizeBelowProviderMinimumIsRaised() {
    let plan = PartPlan.make(fileSize: 100 << 20, requested: 1 << 20, limits: limits())
    #expect(plan.partSize == 5 << 20)
    #expect(plan.partCount == 20)
}

@Test func partSizeGrowsToStayWithinMaxParts() {
    // 10 GiB with a 1000-part provider: 16 MiB parts would need 640; 1 GiB / 100 parts etc.
    let plan = PartPlan.make(fileSize: 10 << 30, requested: 5 << 20, limits: limits(parts: 1000))
    #expect(plan.partCount <= 1000)
    #expect(plan.partSize % (1 << 20) == 0)
    #expect(plan.partSize * Int64(plan.partCount) >= 10 << 30)
}

@Test func lastPartCarriesTheRemainder() {
    let plan = PartPlan.make(fileSize: (37 << 20) + 123, requested: 5 << 20, limits: limits())
    #expect(plan.partCount == 8)
    let last = plan.range(of: 8)
    #expect(last.offset == 35 << 20)
    #expect(last.length == (2 << 20) + 123)
    for n in 1..<8 { #expect(plan.range(of: n).length == 5 << 20) }
}

@Test func partSizeNeverExceedsProviderMaximum() {
    let plan = PartPlan.make(fileSize: 1 << 40, requested: 8 << 30, limits: limits(max: 5 << 30))
    #expect(plan.partSize <= 5 << 30)
    #expect(plan.partCount <= 10000)
}

/// A journal's recorded plan is resumed only when the provider takes it: a damaged `part_size`
/// of 1 byte for a 4 GiB file (4.3e9 parts) starts the file over instead of building the list.
@Test func aRecordedPlanOutsideTheProvidersLimitsIsNotResumed() {
    let size: Int64 = 4 << 30
    let bogus = PartPlan(fileSize: size, partSize: 1, partCount: Int(size))
    #expect(!UploadEngine.fits(bogus, limits()))
    #expect(!UploadEngine.fits(PartPlan(fileSize: size, partSize: 6 << 30, partCount: 1), limits(max: 5 << 30)))
    #expect(!UploadEngine.fits(PartPlan(fileSize: 100 << 20, partSize: 1 << 20, partCount: 100), limits()))
    #expect(UploadEngine.fits(PartPlan.make(fileSize: size, requested: nil, limits: limits()), limits()))
    #expect(UploadEngine.fits(PartPlan(fileSize: 3 << 20, partSize: 3 << 20, partCount: 1), limits()))
}
