"""Uploads one file with the AWS Common Runtime's S3 client (PyPI `awscrt`): the transfer engine
the AWS SDKs' "CRT-based" clients use (parallel ranged parts, native SigV4, CRC checksums).
`make bench`'s `crt` row runs this in its own venv.

Usage: crt_put.py FILE ENDPOINT BUCKET KEY
Environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (never argv), CRT_CA_FILE (HTTPS), CRT_CHECKSUM
(CRC32C, CRC32, CRC64NVME... or empty for none), CRT_PART_SIZE (bytes, default 8 MiB: the CRT's own
default), CRT_THROUGHPUT_GBPS (default 10: the CRT's default target), CRT_CONNECTIONS (the most
connections at once; default: what the throughput target asks for).
"""
import os
import sys
import threading
import urllib.parse

from awscrt import auth, io, s3
from awscrt.http import HttpHeaders, HttpRequest


def main():
    path, endpoint, bucket, key = sys.argv[1:5]
    url = urllib.parse.urlsplit(endpoint)
    tls = url.scheme == "https"
    elg = io.EventLoopGroup()
    resolver = io.DefaultHostResolver(elg)
    bootstrap = io.ClientBootstrap(elg, resolver)
    credentials = auth.AwsCredentialsProvider.new_static(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    tls_options = None
    if tls:
        ctx_options = io.TlsContextOptions()
        ctx_options.override_default_trust_store_from_path(ca_filepath=os.environ["CRT_CA_FILE"])
        tls_options = io.ClientTlsContext(ctx_options).new_connection_options()
        tls_options.set_server_name(url.hostname)
    client = s3.S3Client(
        bootstrap=bootstrap, region="us-east-1", credential_provider=credentials,
        tls_mode=s3.S3RequestTlsMode.ENABLED if tls else s3.S3RequestTlsMode.DISABLED, tls_connection_options=tls_options,
        part_size=int(os.environ.get("CRT_PART_SIZE", str(8 << 20))),
        throughput_target_gbps=float(os.environ.get("CRT_THROUGHPUT_GBPS", "10")),
        max_active_connections_override=int(os.environ["CRT_CONNECTIONS"]) if os.environ.get("CRT_CONNECTIONS") else None)
    size = os.path.getsize(path)
    headers = HttpHeaders([("Host", url.netloc), ("Content-Length", str(size)), ("Content-Type", "application/octet-stream")])
    request = HttpRequest("PUT", f"/{bucket}/{urllib.parse.quote(key)}", headers)
    checksum = None
    name = os.environ.get("CRT_CHECKSUM", "")
    if name:
        checksum = s3.S3ChecksumConfig(algorithm=getattr(s3.S3ChecksumAlgorithm, name), location=s3.S3ChecksumLocation.TRAILER)
    done = threading.Event()
    outcome = {}

    def on_done(error=None, status_code=None, error_headers=None, error_body=None, **_):
        outcome.update(error=error, status=status_code, body=error_body)
        done.set()

    request_obj = client.make_request(type=s3.S3RequestType.PUT_OBJECT, request=request, send_filepath=path, checksum_config=checksum, on_done=on_done)
    try:
        request_obj.finished_future.result()
    except Exception as e:  # the details are in on_done's outcome
        outcome.setdefault("error", e)
    done.wait()
    if outcome.get("error"):
        body = (outcome.get("body") or b"")[:500]
        sys.exit(f"crt_put: {outcome['error']} (HTTP {outcome.get('status')}): {body!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
