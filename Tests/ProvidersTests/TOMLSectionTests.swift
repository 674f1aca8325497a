import Testing

@testable import Providers

/// A typo in a config key is answered with the known key it most likely meant.
struct TOMLSectionTests {
    static let known: Set<String> = ["part_size", "multipart_threshold", "concurrency", "bandwidth_limit", "bucket", "prefix", "region"]

    @Test func closestKnownKey() {
        #expect(TOMLSection.closest(to: "part_sise", in: Self.known) == "part_size")
        #expect(TOMLSection.closest(to: "concurency", in: Self.known) == "concurrency")
        #expect(TOMLSection.closest(to: "bandwith_limit", in: Self.known) == "bandwidth_limit")
        #expect(TOMLSection.closest(to: "Bucket", in: Self.known) == "bucket")
        #expect(TOMLSection.closest(to: "colour", in: Self.known) == nil)
        #expect(TOMLSection.editDistance("kitten", "sitting") == 3)
    }
}
