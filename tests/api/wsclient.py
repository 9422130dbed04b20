"""A small RFC 6455 client over a raw (TLS) socket, for tests that must send
what a library would not (unmasked frames, odd fragmentation, oversized
messages) and see exactly what the server sends back."""
import base64
import os
import socket
import ssl
import struct
import time

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class HandshakeError(Exception):
    def __init__(self, status, headers, body):
        super().__init__(f"upgrade refused: {status} {body!r}")
        self.status, self.headers, self.body = status, headers, body


class WS:
    def __init__(self, panel, path, headers=None, timeout=10):
        sock = socket.create_connection(("127.0.0.1", panel.port), timeout=timeout)
        # as browsers and websocket libraries do: frames are not held back by
        # Nagle's algorithm waiting for the server's delayed ACK
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if panel.scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.buf = b""
        self.closed_by_server = None
        key = base64.b64encode(os.urandom(16)).decode()
        h = {"Host": f"127.0.0.1:{panel.port}", "Upgrade": "websocket",
             "Connection": "Upgrade", "Sec-WebSocket-Key": key,
             "Sec-WebSocket-Version": "13"}
        h.update(headers or {})
        req = f"GET {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in h.items() if v is not None) + "\r\n"
        self.sock.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        self.status, self.headers = status, headers
        if status != 101:
            n = int(headers.get("content-length", "0"))
            while len(self.buf) < n:
                self._fill()
            self.sock.close()
            raise HandshakeError(status, headers, self.buf[:n])
        import hashlib
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        assert headers.get("sec-websocket-accept") == want, headers

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        self.sock.sendall(self.frame_bytes(opcode, payload, fin, mask, rsv))

    @staticmethod
    def frame_bytes(opcode, payload=b"", fin=True, mask=True, rsv=0):
        """One client frame as bytes."""
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
            head += key
        return head + payload

    def send_binary(self, data):
        self.send_frame(OP_BINARY, data)

    def recv_frame(self):
        """(opcode, fin, payload) of the next frame from the server."""
        b0, b1 = self._take(2)
        assert not (b1 & 0x80), "server frames are never masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        return b0 & 0x0F, bool(b0 & 0x80), self._take(n)

    def recv_message(self, skip_pings=True):
        """The next data message (opcode, payload); answers pings; a close
        frame is returned as (OP_CLOSE, payload)."""
        while True:
            op, fin, data = self.recv_frame()
            if op == OP_PING:
                self.send_frame(OP_PONG, data)
                if skip_pings:
                    continue
            if op == OP_PONG:
                continue
            return op, data

    def close_code(self, timeout=5):
        """Read until the server's close frame: its code (None when none)."""
        self.sock.settimeout(timeout)
        while True:
            op, data = self.recv_message()
            if op == OP_CLOSE:
                return struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None

    def wait_eof(self, timeout=5):
        """True once the server has closed the TCP connection."""
        deadline = time.time() + timeout
        self.sock.settimeout(timeout)
        while time.time() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError, OSError):
                return True
            if not chunk:
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
