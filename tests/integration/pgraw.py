"""A minimal Postgres v3 protocol client on a raw socket, for tests that must
send what no driver sends (bad lengths, unknown message types, requests out
of order) or observe the exact messages a server answers with.

Every read has a deadline, so a server that stops answering fails the test
instead of hanging it.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import time

PROTOCOL_3_0 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


def message(type_byte, body=b""):
    """One typed message: type byte, int32 length (itself included), body."""
    return type_byte + struct.pack("!I", len(body) + 4) + body


def cstr(text):
    return text.encode() + b"\0"


def startup_packet(params, version=PROTOCOL_3_0):
    body = struct.pack("!I", version)
    for name, value in params.items():
        body += cstr(name) + cstr(value)
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def special_request(code, *ints):
    """SSLRequest, GSSENCRequest or CancelRequest: length, code, then int32s."""
    body = struct.pack("!I", code) + b"".join(struct.pack("!i", i) for i in ints)
    return struct.pack("!I", len(body) + 4) + body


def query(sql):
    return message(b"Q", cstr(sql))


def error_fields(body):
    """The fields of an ErrorResponse or NoticeResponse body, by field code."""
    fields = {}
    pos = 0
    while pos < len(body) and body[pos] != 0:
        code = chr(body[pos])
        end = body.index(b"\0", pos + 1)
        fields[code] = body[pos + 1:end].decode()
        pos = end + 1
    return fields


class Closed(Exception):
    """The server closed the connection."""


class ScramClient:
    """The client side of SCRAM-SHA-256 without channel binding (RFC 5802/7677)."""

    def __init__(self, password):
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.server_signature = None

    def first(self):
        return ("n,," + self.first_bare).encode()

    def final(self, server_first):
        attrs = dict(item.split("=", 1) for item in server_first.decode().split(","))
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        if not attrs["r"].startswith(self.nonce):
            raise ValueError("server nonce does not extend the client nonce")
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.first_bare},{server_first.decode()},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self.server_signature = hmac.digest(server_key, auth_message, "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


class RawConn:
    """A socket speaking the v3 protocol by hand."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        self.timeout = timeout
        self.buf = b""
        self.auth_codes = []  # AuthenticationRequest codes seen, in order

    @classmethod
    def tcp(cls, port, host="127.0.0.1", timeout=10.0, rcvbuf=None):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        return cls(sock, timeout)

    @classmethod
    def unix(cls, path, timeout=10.0):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
        return cls(sock, timeout)

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer from the server in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no answer from the server in time") from None
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def read_bytes(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_message(self, timeout=None):
        """The next (type, body); raises Closed at end of stream, TimeoutError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < 5:
            self._fill(deadline)
        length = struct.unpack("!I", self.buf[1:5])[0]
        while len(self.buf) < length + 1:
            self._fill(deadline)
        type_byte, body = self.buf[:1], self.buf[5:length + 1]
        self.buf = self.buf[length + 1:]
        return type_byte, body

    def read_until(self, types=b"Z", timeout=None):
        """Messages up to and including the first whose type is in `types`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while True:
            msg = self.read_message(max(deadline - time.monotonic(), 0.001))
            out.append(msg)
            if msg[0] in [bytes([t]) for t in types]:
                return out

    def read_to_close(self, timeout=None):
        """Every message until the server closes; TimeoutError if it never does."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while True:
            try:
                out.append(self.read_message(max(deadline - time.monotonic(), 0.001)))
            except Closed:
                return out

    def wait_closed(self, timeout=None):
        """Raw bytes received until the server closes; TimeoutError if it never does."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                self._fill(deadline)
            except Closed:
                data, self.buf = self.buf, b""
                return data

    # Startup and authentication.

    def authenticate(self, user, password, database, version=PROTOCOL_3_0, **params):
        """Sends a StartupMessage and answers whatever authentication the
        server asks for. Returns the messages after the last authentication
        step: up to ReadyForQuery on success, up to the ErrorResponse (and the
        close) on failure."""
        self.user_for_md5 = user
        self.send(startup_packet({"user": user, "database": database, **params}, version))
        return self.answer_auth(password)

    def answer_auth(self, password):
        scram = None
        seen = []
        while True:
            type_byte, body = self.read_message()
            if type_byte != b"R":
                seen.append((type_byte, body))
                if type_byte in (b"Z", b"E"):
                    return seen
                continue
            code = struct.unpack("!i", body[:4])[0]
            self.auth_codes.append(code)
            if code == 0:
                continue
            if code == 3:
                self.send(message(b"p", cstr(password)))
            elif code == 5:
                inner = hashlib.md5((password + self.user_for_md5).encode()).hexdigest()
                outer = hashlib.md5(inner.encode() + body[4:8]).hexdigest()
                self.send(message(b"p", cstr("md5" + outer)))
            elif code == 10:
                mechanisms = [m.decode() for m in body[4:].split(b"\0") if m]
                self.sasl_mechanisms = mechanisms
                scram = ScramClient(password)
                first = scram.first()
                self.send(message(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) +
                                  first))
            elif code == 11:
                self.send(message(b"p", scram.final(body[4:])))
            elif code == 12:
                expected = b"v=" + base64.b64encode(scram.server_signature)
                if body[4:] != expected:
                    raise AssertionError(f"bad SCRAM server signature {body[4:]!r}")
            else:
                raise AssertionError(f"unexpected authentication request {code}")

    def login(self, user="demo", password="demo", database="demo", **params):
        """Authenticates and reads through the first ReadyForQuery; returns the
        startup messages (ParameterStatus, BackendKeyData, ReadyForQuery)."""
        msgs = self.authenticate(user, password, database, **params)
        if msgs[-1][0] != b"Z":
            raise AssertionError(f"login failed: {describe(msgs)}")
        return msgs

    def simple_query(self, sql, timeout=None):
        self.send(query(sql))
        return self.read_until(b"Z", timeout)


def describe(msgs):
    """A readable summary of messages for assertion failures."""
    out = []
    for type_byte, body in msgs:
        if type_byte in (b"E", b"N"):
            out.append((type_byte.decode(), error_fields(body)))
        else:
            out.append((type_byte.decode(), body[:60]))
    return out


def errors(msgs):
    return [error_fields(body) for type_byte, body in msgs if type_byte == b"E"]


def data_rows(msgs):
    """Text values of the DataRow messages."""
    rows = []
    for type_byte, body in msgs:
        if type_byte != b"D":
            continue
        count = struct.unpack("!h", body[:2])[0]
        pos = 2
        row = []
        for _ in range(count):
            length = struct.unpack("!i", body[pos:pos + 4])[0]
            pos += 4
            if length < 0:
                row.append(None)
            else:
                row.append(body[pos:pos + length].decode())
                pos += length
        rows.append(tuple(row))
    return rows
