"""A small fault-injecting HTTP/1.1 proxy for the integration tests.

It sits between the agent and a real S3 server on loopback. It parses the request stream
(client -> server; the agent always sends Content-Length bodies), counts the requests, and can
apply one fault to the requests a rule matches: drop the connection part-way through the
body, answer 503 SlowDown instead of forwarding, flip one byte of the body, stall
(stop forwarding and hold the connection open), or reset the connection. The answers
(server -> client) are relayed unchanged.
"""
import socket
import struct
import threading
import time
import urllib.parse


class Request:
    def __init__(self, method, target, headers):
        self.method = method
        self.target = target
        parsed = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parsed.path)
        self.query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.headers = headers
        self.length = int(headers.get("content-length", "0") or 0)

    @property
    def is_part(self):
        return self.method == "PUT" and "partNumber" in self.query

    def __repr__(self):
        return f"{self.method} {self.target}"


class Rule:
    def __init__(self, match, action, times=1, at=0.5, stall_seconds=120.0, throttle=0, before=None):
        self.match = match
        self.action = action  # drop | 503 | flip | stall | reset | throttle | lose_answer | before
        self.before = before  # for "before": called with the request before it is forwarded
        self.times = times
        self.at = at  # fraction of the body before the fault
        self.stall_seconds = stall_seconds
        self.throttle = throttle  # bytes/s for "throttle"
        self.fired = 0


class FaultProxy:
    def __init__(self, upstream_port, rules=None):
        self.upstream = ("127.0.0.1", upstream_port)
        self.rules = list(rules or [])
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.closing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def add(self, rule):
        with self.lock:
            self.rules.append(rule)
        return rule

    def parts(self):
        with self.lock:
            return [r for r in self.requests if r.is_part]

    def close(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass

    # -- internals

    def _accept(self):
        while not self.closing:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _pick_rule(self, req):
        with self.lock:
            self.requests.append(req)
            for rule in self.rules:
                if rule.fired < rule.times and rule.match(req):
                    rule.fired += 1
                    return rule
        return None

    def _serve(self, client):
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        muted = threading.Event()  # set: the server's answers are read and thrown away
        answered = threading.Event()  # set once a muted answer has come from the server
        relay = threading.Thread(target=self._relay, args=(upstream, client, muted, answered), daemon=True)
        relay.start()
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = client.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                req = Request(method, target, headers)
                rule = self._pick_rule(req)
                if rule and rule.action == "503":
                    # Swallow the body, answer for the server.
                    need = req.length - len(buf)
                    while need > 0:
                        data = client.recv(min(65536, need))
                        if not data:
                            return
                        need -= len(data)
                    buf = buf[req.length:] if need <= 0 and len(buf) >= req.length else b""
                    body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                            b"<Message>Please reduce your request rate.</Message><RequestId>FAULT</RequestId></Error>")
                    client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
                                   b"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                    return
                if rule and rule.action == "before":
                    rule.before(req)
                if rule and rule.action == "lose_answer":
                    muted.set()  # the request reaches the server whole; its answer never comes back
                upstream.sendall(head + b"\r\n\r\n")
                remaining = req.length
                sent = 0
                fault_at = int(req.length * rule.at) if rule else -1
                while remaining > 0:
                    if buf:
                        chunk, buf = buf[:remaining], buf[remaining:]
                    else:
                        chunk = client.recv(min(65536, remaining))
                        if not chunk:
                            return
                    if rule and sent <= fault_at < sent + len(chunk):
                        cut = fault_at - sent
                        if rule.action == "flip":
                            chunk = chunk[:cut] + bytes([chunk[cut] ^ 0xFF]) + chunk[cut + 1:]
                        elif rule.action in ("drop", "reset", "stall"):
                            upstream.sendall(chunk[:cut])
                            if rule.action == "stall":
                                deadline = time.time() + rule.stall_seconds
                                client.settimeout(0.5)
                                while time.time() < deadline and not self.closing:
                                    try:
                                        if not client.recv(65536):
                                            break
                                    except socket.timeout:
                                        continue
                                    except OSError:
                                        break
                            if rule.action == "reset":
                                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            return
                    if rule and rule.action == "throttle" and rule.throttle > 0:
                        time.sleep(len(chunk) / rule.throttle)
                    upstream.sendall(chunk)
                    sent += len(chunk)
                    remaining -= len(chunk)
                if rule and rule.action == "lose_answer":
                    answered.wait(rule.stall_seconds)  # the server has acted on it; the client sees a dropped connection
                    time.sleep(0.2)
                    return
        except OSError:
            return
        finally:
            # shutdown() first: close() alone does not end a connection another thread is
            # blocked reading, and the server would keep seeing a half-sent body.
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    s.close()
                except OSError:
                    pass

    @staticmethod
    def _relay(src, dst, muted, answered):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if muted.is_set():
                    answered.set()
                    continue
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
