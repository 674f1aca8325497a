import AgentSupport
import SigV4

/// Where a bucket lives and how its URLs are built (path-style or virtual-hosted).
public struct S3Location: Sendable {
    public var scheme: String
    /// Host of the service endpoint (without the bucket), and its port when not the default.
    public var host: String
    public var port: Int?
    /// A path prefix some gateways mount the API under ("" for almost all).
    public var basePath: String
    public var bucket: String
    public var region: String
    public var pathStyle: Bool

    /// Parses `endpoint` (`https://host[:port][/base]`).
    public init?(endpoint: String, bucket: String, region: String, pathStyle: Bool) {
        guard let schemeEnd = endpoint.range(ofScalars: "://") else { return nil }
        let scheme = endpoint[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = endpoint[schemeEnd.upperBound...]
        var base = ""
        if let slash = rest.firstIndex(of: "/") {
            base = String(rest[slash...])
            rest = rest[..<slash]
            while base.hasSuffix("/") { base.removeLast() }
        }
        var host = String(rest)
        var port: Int?
        if host.hasPrefix("[") {
            // IPv6 literal
            if let close = host.firstIndex(of: "]") {
                let after = host[host.index(after: close)...]
                if after.hasPrefix(":") { port = Int(after.dropFirst()) }
                host = String(host[...close])
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.basePath = base
        self.bucket = bucket
        self.region = region
        self.pathStyle = pathStyle
    }

    /// The Host header value for requests to the bucket.
    public var hostHeader: String {
        let h = pathStyle || bucket.isEmpty ? host : "\(bucket).\(host)"
        if let port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) { return "\(h):\(port)" }
        return h
    }

    /// The raw (unencoded) path of an object, or of the bucket when `key` is nil.
    public func rawPath(key: String?) -> String {
        var path = basePath
        if pathStyle && !bucket.isEmpty { path += "/" + bucket }
        if let key {
            path += "/" + key
        } else if path.isEmpty || pathStyle {
            path += "/"
        }
        return path.isEmpty ? "/" : path
    }

    /// A full URL with percent-encoded path and query.
    public func url(rawPath: String, query: [(name: String, value: String?)]) -> String {
        var url = "\(scheme)://\(hostHeader)\(SigV4Signer.uriEncode(rawPath, encodeSlash: false))"
        if !query.isEmpty {
            let parts = query.map { item -> String in
                let name = SigV4Signer.uriEncode(item.name, encodeSlash: true)
                guard let value = item.value else { return name }
                return "\(name)=\(SigV4Signer.uriEncode(value, encodeSlash: true))"
            }
            url += "?" + parts.joined(separator: "&")
        }
        return url
    }

    /// The endpoint URL as configured (for display).
    public var endpointDescription: String {
        var s = "\(scheme)://\(host)"
        if let port { s += ":\(port)" }
        return s + basePath
    }
}
