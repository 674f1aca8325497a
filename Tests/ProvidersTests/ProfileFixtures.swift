/// A complete, valid profile in the `providers/*.toml` schema, for tests that change one line.
enum ProfileFixtures {
    static func profile(name: String = "acme", displayName: String = "Acme Storage") -> String {
        """
        name = "\(name)"
        display_name = "\(displayName)"
        endpoint = "https://{account_id}.{region}.acme.example"
        default_region = "eu-1"
        regions = ["eu-1", "us-1"]
        known_regions = ["eu-1", "us-1"]
        required_settings = ["account_id"]
        addressing = "path"
        virtual_hosted = true
        region_hint = "see the Acme console"

        [multipart]
        min_part_size = "5MiB"
        max_part_size = "5GiB"
        max_parts = 10000
        equal_parts = true
        max_single_put = "5GiB"
        max_object_size = "5TiB"
        multipart_threshold = "64MiB"

        [integrity]
        signed_payload = true
        unsigned_payload = true
        content_md5 = true
        checksum_algorithms = ["crc32c", "sha256"]
        aws_chunked = false
        preferred = "signed_payload"
        etag_is_md5 = true

        [terms]
        access_key = "Key ID"
        secret_key = "Key Secret"
        key_console = "Acme console > Keys"
        bucket_console = "Acme console > Buckets"

        [terms.permissions]
        "s3:PutObject" = "the Writer role"

        """
    }

    /// `profile()` with the line starting `key =` replaced by `replacement` (nil: removed).
    static func profile(replacing key: String, with replacement: String?, name: String = "acme") -> String {
        profile(name: name).split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            line.hasPrefix(key + " =") ? replacement : String(line)
        }.joined(separator: "\n")
    }

    /// The 1-based line on which `key =` appears in `text`.
    static func line(of key: String, in text: String) -> Int {
        (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix(key + " =") } ?? -1) + 1
    }
}
