import Testing

@testable import Operations

@Suite struct FleetTests {
    @Test func theFleetIsEveryPrefixUnderTheVaultPrefixsParent() {
        #expect(Fleet.parent(of: "web-01/") == "")
        #expect(Fleet.parent(of: "acme/web-01/") == "acme/")
        #expect(Fleet.parent(of: "a/b/web-01/") == "a/b/")
        #expect(Fleet.parent(of: "") == nil)
        #expect(Fleet.name("acme/web-01/") == "web-01")
    }
}
