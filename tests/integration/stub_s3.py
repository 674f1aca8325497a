"""A small S3 stub on loopback that answers with recorded provider answers, for what no local
server emulates (AWS regions, R2, B2, clock skew, session tokens, bucket policies, Object Lock).

It is not an S3 implementation: it keeps a flat in-memory store so a healthy exchange (HEAD,
ListObjectsV2, PutObject, multipart create/part/list/abort, DeleteObject) can complete, and each
scenario replaces the answers a provider gives in one situation. Every answer body is in the
provider's documented format; the source of each is cited next to it.
"""
import hashlib
import http.server
import threading
import time
import uuid
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def error_xml(code, message, **extra):
    fields = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    return f"{XML_HEAD}<Error><Code>{code}</Code><Message>{message}</Message>{fields}<RequestId>4442587FB7D0A2F9</RequestId></Error>"


class Answer:
    def __init__(self, status, body="", headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class Request:
    def __init__(self, method, path, query, headers):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers

    def __repr__(self):
        return f"{self.method} {self.path}?{self.query}"


# Scenarios: (request) -> Answer, or None for the healthy default. `bucket_level` tells a request
# to the bucket (HEAD, ListObjectsV2) from one to an object.

def aws_wrong_region(req, stub):
    # HEAD to the wrong regional endpoint: 301 with x-amz-bucket-region and no body
    # (lyft/clutch#3027; awspring/spring-cloud-aws#452 shows the header on the 301).
    if req.method == "HEAD":
        return Answer(301, headers={"x-amz-bucket-region": "eu-central-1"})
    # The listing signed for us-east-1 at the bucket's region: 400 AuthorizationHeaderMalformed
    # with <Region> and the header (body as in jsoma/flatware#10).
    return Answer(400, error_xml(
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'",
        Region="eu-central-1", HostId="BisYpzkFJqTt3Aw5Lb9PtSGxim8A1nu7ndZrVp04DNNiga64JePe2gpklGTp6DWeycle6MJ4wI8="),
        headers={"x-amz-bucket-region": "eu-central-1"})


def aws_permanent_redirect(req, stub):
    if req.method == "HEAD":
        return Answer(301)
    # 301 PermanentRedirect naming the endpoint to use (appoxy/aws#110; cosmin/s3-bash#5).
    return Answer(301, error_xml(
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint. "
        "Please send all future requests to this endpoint.",
        Bucket=stub.bucket, Endpoint=f"{stub.bucket}.s3.eu-west-1.amazonaws.com"))


def r2_invalid_region(req, stub):
    if req.method == "HEAD":
        return Answer(400)
    # R2's answer to a region other than auto (jeessy2/backup-x#127; stackql PR #407 names the code).
    return Answer(400, error_xml(
        "InvalidRegionName",
        "The region name 'eu-central-1' is not valid. Must be one of: wnam, enam, weur, eeur, apac, oc, auto"))


def b2_wrong_region(req, stub):
    if req.method == "HEAD":
        return Answer(403)
    # A valid B2 key at another region's endpoint: 403 InvalidAccessKeyId "The key '...' is not
    # valid" (peak/s5cmd#269: the key worked at us-west-000, not at us-west-002).
    key_id = req.lower_headers.get("authorization", "").split("Credential=")[-1].split("/")[0]
    return Answer(403, error_xml("InvalidAccessKeyId", f"The key '{key_id}' is not valid"))


def clock_skew(req, stub):
    if req.method == "HEAD":
        return Answer(403)
    # AWS refuses a request dated more than 15 min off (versity/versitygw#1514, aws/aws-sdk-php#612).
    server = time.gmtime(stub.now())
    request_time = req.lower_headers.get("x-amz-date", "")
    return Answer(403, error_xml(
        "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.",
        RequestTime=request_time, ServerTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", server),
        MaxAllowedSkewMilliseconds="900000"))


def expired_token(req, stub):
    if req.method == "HEAD":
        return Answer(400)
    # AWS with an expired session token (craftcms/aws-s3#182).
    return Answer(400, error_xml("ExpiredToken", "The provided token has expired.", **{"Token-0": "FwoGZXIvYXdzEXAMPLE"}))


def signature_altered(req, stub):
    if req.method == "HEAD":
        return Answer(403)
    # AWS sends its string to sign (minio/minio#2986 quotes the body). A proxy that changed the
    # request makes the canonical request hash (last line) differ from the agent's.
    amz_date = req.lower_headers.get("x-amz-date", "")
    scope = req.lower_headers.get("authorization", "").split("Credential=")[-1].split(",")[0].split("/", 1)[-1]
    return Answer(403, error_xml(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        AWSAccessKeyId="AKIAEXAMPLE", StringToSign=f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n" + "0" * 64,
        SignatureProvided="f" * 64))


def encryption_required(req, stub):
    # A bucket policy denying PutObject without x-amz-server-side-encryption (the AWS blog's
    # DenyUnEncryptedObjectUploads, concourse/semver-resource#25); AWS names the explicit deny
    # (usdigitalresponse/usdr-gost#4044).
    if req.method in ("PUT", "POST") and req.key and "x-amz-server-side-encryption" not in req.lower_headers:
        return Answer(403, error_xml(
            "AccessDenied",
            f"User: arn:aws:iam::123456789012:user/backup is not authorized to perform: s3:PutObject on resource: "
            f"\"arn:aws:s3:::{stub.bucket}/{req.key}\" with an explicit deny in a resource-based policy"))
    return None


def object_lock(req, stub):
    # Object Lock buckets refuse uploads without Content-MD5 or a checksum header
    # (versity/versitygw#1740 for PutObject; s3tools/s3cmd#1436 for parts).
    if req.method == "PUT" and req.key and "content-md5" not in req.lower_headers and not any(
            h.startswith("x-amz-checksum-") for h in req.lower_headers):
        what = "Put Part" if "partNumber" in req.query else "Put Object"
        return Answer(400, error_xml(
            "InvalidRequest", f"Content-MD5 OR x-amz-checksum- HTTP header is required for {what} requests with Object Lock parameters"))
    # GetObjectLockConfiguration as AWS answers it for a bucket created with Object Lock
    # (API_GetObjectLockConfiguration.html).
    if req.method == "GET" and req.key is None and "object-lock" in req.query:
        return Answer(200, f'{XML_HEAD}<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                           "<ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>")
    # A single PUT's retention is kept and shown by HEAD (x-amz-object-lock-mode / -retain-until-date),
    # as AWS does for a key allowed s3:GetObjectRetention.
    retention = stub.__dict__.setdefault("retention", {})
    if req.method == "PUT" and req.key and not req.query and "x-amz-object-lock-mode" in req.lower_headers:
        retention[req.key] = (req.lower_headers["x-amz-object-lock-mode"], req.lower_headers.get("x-amz-object-lock-retain-until-date", ""))
    if req.method == "HEAD" and req.key in stub.objects and req.key in retention:
        mode, until = retention[req.key]
        return Answer(200, stub.objects[req.key], headers={
            "ETag": '"' + hashlib.md5(stub.objects[req.key]).hexdigest() + '"',
            "x-amz-object-lock-mode": mode, "x-amz-object-lock-retain-until-date": until})
    return None


def _lock_bucket_basics(req, stub):
    """What every Object Lock scenario shares: the configuration, and a HEAD whose ETag is the MD5."""
    if req.method == "GET" and req.key is None and "object-lock" in req.query:
        return Answer(200, f'{XML_HEAD}<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                           "<ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>")
    if req.method == "HEAD" and req.key in stub.objects:
        return Answer(200, stub.objects[req.key], headers={"ETag": '"' + hashlib.md5(stub.objects[req.key]).hexdigest() + '"'})
    return None


def object_lock_hidden(req, stub):
    # AWS shows x-amz-object-lock-* on HEAD only to a key allowed s3:GetObjectRetention; without it,
    # GetObjectRetention is refused (API_HeadObject.html, API_GetObjectRetention.html).
    if "retention" in req.query and req.key:
        if req.method == "PUT":
            return Answer(200)
        return Answer(403, error_xml(
            "AccessDenied", f"User: arn:aws:iam::123456789012:user/backup is not authorized to perform: s3:GetObjectRetention on resource: "
                            f"\"arn:aws:s3:::{stub.bucket}/{req.key}\" because no identity-based policy allows the s3:GetObjectRetention action"))
    return _lock_bucket_basics(req, stub)


def object_lock_ignored(req, stub):
    # A server that accepts the lock headers but keeps no retention and implements no PutObjectRetention.
    if "retention" in req.query and req.key:
        if req.method == "PUT":
            return Answer(501, error_xml("NotImplemented", "A header you provided implies functionality that is not implemented"))
        return Answer(404, error_xml("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration"))
    return _lock_bucket_basics(req, stub)


def object_lock_manifest_held(req, stub):
    # A versioned lock bucket seen by a key without s3:GetObjectRetention (HEAD shows no retention,
    # GetObjectRetention refused: object-lock-hidden) whose offsite manifests are still protected
    # (a legal hold, or a retention that outlasts the data's): AWS refuses the version's DELETE with
    # AccessDenied "Access Denied because object protected by object lock." (the words moto and the
    # AWS re:Post answers quote). Listings are complete here; versions as ListObjectVersions gives them
    # (API_ListObjectVersions.html), one per key.
    q = req.query
    if req.key is None and req.method == "GET" and "object-lock" not in q:
        prefix = q.get("prefix", [""])[0]
        keys = sorted(k for k in stub.objects if k.startswith(prefix))
        stamp = "<LastModified>2026-11-20T03:00:00.000Z</LastModified>"
        if "versions" in q:
            rows = "".join(f"<Version><Key>{k}</Key><VersionId>v-{hashlib.md5(k.encode()).hexdigest()[:12]}</VersionId><IsLatest>true</IsLatest>"
                           f"{stamp}<Size>{len(stub.objects[k])}</Size></Version>" for k in keys)
            return Answer(200, f"{XML_HEAD}<ListVersionsResult><Name>{stub.bucket}</Name><Prefix>{prefix}</Prefix>"
                               f"<IsTruncated>false</IsTruncated>{rows}</ListVersionsResult>")
        rows = "".join(f"<Contents><Key>{k}</Key>{stamp}<Size>{len(stub.objects[k])}</Size></Contents>" for k in keys)
        return Answer(200, f"{XML_HEAD}<ListBucketResult><Name>{stub.bucket}</Name><Prefix>{prefix}</Prefix>"
                           f"<KeyCount>{len(keys)}</KeyCount><IsTruncated>false</IsTruncated>{rows}</ListBucketResult>")
    if req.method == "DELETE" and req.key and "versionId" in q:
        if req.key.endswith("/offsite-manifest.json"):
            return Answer(403, error_xml("AccessDenied", "Access Denied because object protected by object lock."))
        stub.objects.pop(req.key, None)
        return Answer(204)
    return object_lock_hidden(req, stub)


def healthy(req, stub):
    return None


SCENARIOS = {
    "healthy": healthy,
    "aws-wrong-region": aws_wrong_region,
    "aws-permanent-redirect": aws_permanent_redirect,
    "r2-invalid-region": r2_invalid_region,
    "b2-wrong-region": b2_wrong_region,
    "clock-skew": clock_skew,
    "expired-token": expired_token,
    "signature-altered": signature_altered,
    "encryption-required": encryption_required,
    "object-lock": object_lock,
    "object-lock-hidden": object_lock_hidden,
    "object-lock-ignored": object_lock_ignored,
    "object-lock-manifest-held": object_lock_manifest_held,
}


class StubS3:
    """Serves one scenario for bucket `bucket` (path-style) on a free loopback port.
    `clock_offset` shifts the Date header (and ServerTime) by that many seconds."""

    def __init__(self, scenario, bucket="stub-bucket", clock_offset=0):
        self.scenario = SCENARIOS[scenario]
        self.bucket = bucket
        self.clock_offset = clock_offset
        self.requests = []
        self.objects = {}
        self.uploads = {}
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def date_time_string(self, timestamp=None):
                # send_response's own Date header follows the stub's clock.
                return formatdate(stub.now(), usegmt=True)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                req = Request(self.command, parts.path, query, dict(self.headers.items()))
                req.lower_headers = {k.lower(): v for k, v in self.headers.items()}
                segments = parts.path.lstrip("/").split("/", 1)
                req.key = segments[1] if len(segments) > 1 and segments[1] else None
                stub.requests.append(req)
                answer = stub.scenario(req, stub) or stub.default(req, body)
                data = answer.body.encode() if isinstance(answer.body, str) else answer.body
                self.send_response(answer.status)
                self.send_header("x-amz-request-id", "4442587FB7D0A2F9")
                if data:
                    self.send_header("Content-Type", "application/xml")
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def now(self):
        return time.time() + self.clock_offset

    def default(self, req, body):
        """The healthy answers, as AWS gives them (API_ListObjectsV2, API_CreateMultipartUpload...)."""
        q = req.query
        if req.key is None:
            if req.method == "HEAD":
                return Answer(200, headers={"x-amz-bucket-region": "us-east-1"})
            prefix = q.get("prefix", [""])[0]
            keys = sorted(k for k in self.objects if k.startswith(prefix))[:1]
            contents = "".join(f"<Contents><Key>{k}</Key><Size>{len(self.objects[k])}</Size></Contents>" for k in keys)
            return Answer(200, f"{XML_HEAD}<ListBucketResult><Name>{self.bucket}</Name><Prefix>{prefix}</Prefix>"
                               f"<KeyCount>{len(keys)}</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>")
        if req.method == "POST" and "uploads" in q:
            upload_id = uuid.uuid4().hex
            self.uploads[upload_id] = {"key": req.key, "parts": {}}
            return Answer(200, f"{XML_HEAD}<InitiateMultipartUploadResult><Bucket>{self.bucket}</Bucket><Key>{req.key}</Key>"
                               f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>")
        if "uploadId" in q:
            upload = self.uploads.get(q["uploadId"][0])
            if upload is None:
                return Answer(404, error_xml("NoSuchUpload", "The specified upload does not exist."))
            if req.method == "PUT":
                n = int(q["partNumber"][0])
                upload["parts"][n] = body
                return Answer(200, headers={"ETag": f'"{uuid.uuid4().hex}"'})
            if req.method == "GET":
                parts = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>\"x\"</ETag><Size>{len(b)}</Size></Part>"
                                for n, b in sorted(upload["parts"].items()))
                return Answer(200, f"{XML_HEAD}<ListPartsResult><IsTruncated>false</IsTruncated>{parts}</ListPartsResult>")
            if req.method == "DELETE":
                del self.uploads[q["uploadId"][0]]
                return Answer(204)
        if req.method == "PUT":
            self.objects[req.key] = body
            return Answer(200, headers={"ETag": f'"{uuid.uuid4().hex}"'})
        if req.method == "DELETE":
            self.objects.pop(req.key, None)
            return Answer(204)
        if req.method in ("GET", "HEAD") and req.key in self.objects:
            return Answer(200, self.objects[req.key])
        return Answer(404, error_xml("NoSuchKey", "The specified key does not exist."))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
