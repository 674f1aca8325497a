import Diagnostics
import Providers
import S3

enum Fixtures {
    static func profile(_ name: String) -> ProviderProfile {
        guard let catalog = try? ProviderCatalog.builtIn(), let p = catalog.profile(named: name) else { fatalError("no built-in profile \(name)") }
        return p
    }

    static func context(
        provider: String = "aws", bucket: String = "acme-backups", region: String = "us-east-1", endpoint: String = "https://s3.us-east-1.amazonaws.com",
        pathStyle: Bool = false, accessKeyID: String = "AKIAIOSFODNN7EXAMPLE", secret: String = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        sessionToken: Bool = false, sse: String? = nil
    ) -> DiagnosisContext {
        DiagnosisContext(
            vaultName: "primary", configPath: "/etc/offsite-agent/agent.toml", profile: profile(provider), bucket: bucket, prefix: "web-01/", region: region,
            endpoint: endpoint, pathStyle: pathStyle, accessKeyID: accessKeyID, credentialSource: "config", secretLength: secret.count,
            secretWhitespace: DiagnosisContext.whitespace(in: secret), hasSessionToken: sessionToken, serverSideEncryption: sse)
    }

    static func error(
        _ status: Int, _ code: String, _ message: String = "", details: [String: String] = [:], headers: [(name: String, value: String)] = [],
        operation: String = "ListObjectsV2"
    ) -> S3ServiceError {
        S3ServiceError(status: status, code: code, message: message, requestID: "", details: details, headers: headers, operation: operation)
    }
}
