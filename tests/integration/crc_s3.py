"""An HTTPS S3 stub that checks x-amz-checksum-crc32c the way AWS documents it (issue 17).

No local server verifies x-amz-checksum-crc32c (rclone and moto ignore it; Debian 12's Ceph RGW
16.2 predates checksum support), so this stub does, with its own CRC-32C (bitwise table, written
from the Castagnoli polynomial, independent of the agent's ISA-L code):
- PutObject / UploadPart with x-amz-checksum-crc32c: the body's CRC must match, else
  400 BadDigest "The CRC32C you specified did not match the calculated checksum."
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html);
- CreateMultipartUpload with x-amz-checksum-algorithm CRC32C and x-amz-checksum-type FULL_OBJECT:
  CompleteMultipartUpload must name the whole object's CRC-32C in x-amz-checksum-crc32c, which
  the stub computes over the assembled object (BadDigest otherwise);
- HeadObject with x-amz-checksum-mode: ENABLED answers the stored x-amz-checksum-crc32c.
`flip` damages one byte of a chosen request's body on arrival: what a bit flipped in transit
looks like to the server's check. It is a stub (no signature check), not an S3 implementation.
"""
import base64
import hashlib
import re
import ssl
import struct
import subprocess
import threading
import uuid

from stub_s3 import SCENARIOS, XML_HEAD, Answer, StubS3, error_xml

SCENARIOS.setdefault("crc32c-https", lambda req, stub: None)

_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def header_value(crc):
    return base64.b64encode(struct.pack(">I", crc)).decode()


class CRCStubS3(StubS3):
    def __init__(self, tmp):
        super().__init__("crc32c-https")
        self.server.shutdown()
        cert, key = tmp / "crc-cert.pem", tmp / "crc-key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.cert = cert
        self.endpoint = f"https://127.0.0.1:{self.port}"
        self.crcs = {}
        self.flips = []  # predicates (req) -> bool; each damages one matching body once
        self.refused = []  # requests answered BadDigest
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def default(self, req, body):
        h = req.lower_headers
        q = req.query
        for i, pred in enumerate(self.flips):
            if body and pred(req):
                body = bytearray(body)
                body[len(body) // 3] ^= 0x20
                body = bytes(body)
                del self.flips[i]
                break
        sent = h.get("x-amz-checksum-crc32c")
        if req.method == "PUT" and sent is not None and header_value(crc32c(body)) != sent:
            self.refused.append(req)
            return Answer(400, error_xml("BadDigest", "The CRC32C you specified did not match the calculated checksum."))
        if req.method == "POST" and "uploads" in q:
            answer = super().default(req, body)
            upload_id = re.search(r"<UploadId>(.*?)</UploadId>", answer.body).group(1)
            self.uploads[upload_id]["algorithm"] = h.get("x-amz-checksum-algorithm")
            self.uploads[upload_id]["type"] = h.get("x-amz-checksum-type")
            return answer
        if req.method == "POST" and "uploadId" in q:
            upload = self.uploads.get(q["uploadId"][0])
            if upload is None:
                return Answer(404, error_xml("NoSuchUpload", "The specified upload does not exist."))
            numbers = [int(n) for n in re.findall(r"<PartNumber>(\d+)</PartNumber>", body.decode())]
            data = b"".join(upload["parts"][n] for n in numbers)
            crc = crc32c(data)
            if upload.get("type") == "FULL_OBJECT" and h.get("x-amz-checksum-crc32c") != header_value(crc):
                self.refused.append(req)
                return Answer(400, error_xml("BadDigest", "The CRC32C you specified did not match the calculated checksum."))
            self.objects[upload["key"]] = data
            if upload.get("algorithm") == "CRC32C":
                self.crcs[upload["key"]] = crc
            del self.uploads[q["uploadId"][0]]
            etag = hashlib.md5(data).hexdigest() + f"-{len(numbers)}"
            return Answer(200, f"{XML_HEAD}<CompleteMultipartUploadResult><Bucket>{self.bucket}</Bucket><Key>{upload['key']}</Key>"
                               f"<ETag>\"{etag}\"</ETag><ChecksumCRC32C>{header_value(crc)}</ChecksumCRC32C>"
                               f"<ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>")
        answer = super().default(req, body)
        if req.method == "PUT" and "uploadId" not in q and answer.status == 200:
            if sent is not None:
                self.crcs[req.key] = crc32c(body)
            else:
                self.crcs.pop(req.key, None)
        if req.method == "HEAD" and answer.status == 200 and req.key in self.crcs \
                and h.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            answer.headers["x-amz-checksum-crc32c"] = header_value(self.crcs[req.key])
            answer.headers["x-amz-checksum-type"] = "FULL_OBJECT"
        return answer
