"""A small HTTP(S) proxy in front of `rclone serve s3` for `make bench`'s `crt` row.

rclone serve s3 answers CreateMultipartUpload with root element `InitiateMultipartUpload`; AWS
(and its documentation) name it `InitiateMultipartUploadResult`, and the AWS Common Runtime's
S3 client finds no UploadId in rclone's answer (AWS_ERROR_S3_MISSING_UPLOAD_ID). This proxy
passes every request through unchanged (bodies streamed, never held) and renames that one root
element. With `--cert/--key` it serves HTTPS (TLS ends here, rclone behind it speaks HTTP).

Usage: s3_rename_proxy.py LISTEN_PORT UPSTREAM_PORT [--cert CERT --key KEY]
Its own CPU is reported apart (it is neither the client's nor rclone's).
"""
import asyncio
import ssl
import sys

CHUNK = 1 << 20


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def copy_exact(reader, writer, left):
    while left:
        data = await reader.read(min(CHUNK, left))
        if not data:
            raise ConnectionError("body cut short")
        writer.write(data)
        left -= len(data)
        await writer.drain()


async def copy_body(reader, writer, headers):
    """Copies a Content-Length or chunked body."""
    length = header(headers, "content-length")
    if length is not None:
        await copy_exact(reader, writer, int(length))
        return
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        while True:
            line = await reader.readuntil(b"\r\n")
            writer.write(line)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while True:
                    trailer = await reader.readuntil(b"\r\n")
                    writer.write(trailer)
                    if trailer == b"\r\n":
                        break
                await writer.drain()
                return
            await copy_exact(reader, writer, size + 2)


def serialize(first, headers):
    return (first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


async def handle(client_reader, client_writer, upstream_port):
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    try:
        while True:
            try:
                request_line, headers = await read_head(client_reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            method, target, _ = request_line.split(" ", 2)
            if (header(headers, "expect") or "").lower() == "100-continue":
                # Answered here: rclone's own 100 would otherwise be taken for the final answer.
                headers = [(k, v) for k, v in headers if k.lower() != "expect"]
                client_writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await client_writer.drain()
            # The whole body first, then rclone gets it: the CRT cancels parts slower than its
            # measured latency and sends them again, and rclone (which streams parts into the
            # object) fails the whole upload for a part cut off mid-body. A part the client gave
            # up on here never reaches rclone; one that reached it completes there.
            body = _Collect()
            await copy_body(client_reader, body, headers)
            up_writer.write(serialize(request_line, headers) + bytes(body.data))
            await up_writer.drain()
            status_line, response_headers = await read_head(up_reader)
            while status_line.split(" ", 2)[1].startswith("1"):
                status_line, response_headers = await read_head(up_reader)
            status = int(status_line.split(" ", 2)[1])
            rewrite = method == "POST" and ("?uploads" in target or "&uploads" in target) and status == 200
            if rewrite or method == "HEAD" or status in (204, 304):
                body = b""
                if method != "HEAD" and status not in (204, 304):
                    sink = _Collect()
                    await copy_body(up_reader, sink, response_headers)
                    body = bytes(sink.data)
                if rewrite:
                    body = body.replace(b"<InitiateMultipartUpload ", b"<InitiateMultipartUploadResult ").replace(
                        b"<InitiateMultipartUpload>", b"<InitiateMultipartUploadResult>").replace(
                        b"</InitiateMultipartUpload>", b"</InitiateMultipartUploadResult>")
                    response_headers = [(k, v) for k, v in response_headers if k.lower() not in ("content-length", "transfer-encoding")]
                    response_headers.append(("Content-Length", str(len(body))))
                client_writer.write(serialize(status_line, response_headers) + body)
                await client_writer.drain()
            else:
                client_writer.write(serialize(status_line, response_headers))
                await copy_body(up_reader, client_writer, response_headers)
                await client_writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        up_writer.close()
        client_writer.close()


class _Collect:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b

    async def drain(self):
        pass


async def main():
    port, upstream = int(sys.argv[1]), int(sys.argv[2])
    context = None
    if "--cert" in sys.argv:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[sys.argv.index("--cert") + 1], sys.argv[sys.argv.index("--key") + 1])
    server = await asyncio.start_server(lambda r, w: handle(r, w, upstream), "127.0.0.1", port, ssl=context, limit=1 << 20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
