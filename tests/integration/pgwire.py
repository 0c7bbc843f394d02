"""A small PostgreSQL v3 protocol client for wire-level tests.

It speaks the frontend side of the protocol message by message, so a test can
send exactly the bytes a driver would (pipelines, Flush, row-limited Execute,
COPY, FunctionCall) and look at every message that comes back. Authentication:
trust, cleartext, md5 and SCRAM-SHA-256 (without channel binding).

Every read has a timeout; a test never waits forever.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct

PROTOCOL_3_0 = 196608


class ProtocolError(Exception):
    pass


class Message:
    """One backend message: its type byte and its body (without the length)."""

    __slots__ = ("type", "body")

    def __init__(self, type_, body):
        self.type = type_
        self.body = body

    def __repr__(self):
        return f"Message({self.type!r}, {summarize_one(self)!r})"


# Frontend messages ---------------------------------------------------------------

def _msg(type_, body=b""):
    return type_ + struct.pack("!I", len(body) + 4) + body


def _cstr(text):
    if isinstance(text, str):
        text = text.encode()
    return text + b"\0"


def query(sql):
    return _msg(b"Q", _cstr(sql))


def parse(name, sql, types=()):
    body = _cstr(name) + _cstr(sql) + struct.pack("!H", len(types))
    body += b"".join(struct.pack("!I", t) for t in types)
    return _msg(b"P", body)


def bind(portal="", statement="", params=(), param_formats=(), result_formats=()):
    body = _cstr(portal) + _cstr(statement)
    body += struct.pack("!H", len(param_formats))
    body += b"".join(struct.pack("!H", f) for f in param_formats)
    body += struct.pack("!H", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            if isinstance(p, str):
                p = p.encode()
            elif isinstance(p, int):
                p = str(p).encode()
            body += struct.pack("!i", len(p)) + p
    body += struct.pack("!H", len(result_formats))
    body += b"".join(struct.pack("!H", f) for f in result_formats)
    return _msg(b"B", body)


def describe(kind, name=""):
    return _msg(b"D", kind.encode() + _cstr(name))


def execute(portal="", max_rows=0):
    return _msg(b"E", _cstr(portal) + struct.pack("!I", max_rows))


def close(kind, name=""):
    return _msg(b"C", kind.encode() + _cstr(name))


def sync():
    return _msg(b"S")


def flush():
    return _msg(b"H")


def terminate():
    return _msg(b"X")


def copy_data(data):
    if isinstance(data, str):
        data = data.encode()
    return _msg(b"d", data)


def copy_done():
    return _msg(b"c")


def copy_fail(reason):
    return _msg(b"f", _cstr(reason))


def function_call(oid, args, result_format=0):
    """FunctionCall with text-format arguments."""
    body = struct.pack("!IH", oid, 0) + struct.pack("!H", len(args))
    for a in args:
        if a is None:
            body += struct.pack("!i", -1)
        else:
            a = str(a).encode()
            body += struct.pack("!i", len(a)) + a
    body += struct.pack("!H", result_format)
    return _msg(b"F", body)


def extended(sql, params=(), name="", portal="", max_rows=0):
    """Parse, Bind, Describe portal, Execute: what most drivers send for one query."""
    return (parse(name, sql) + bind(portal, name, params) + describe("P", portal) +
            execute(portal, max_rows))


# Decoding ------------------------------------------------------------------------

def _split_cstrings(body):
    return [p.decode() for p in body.split(b"\0")[:-1]]


def error_fields(body):
    """Fields of an ErrorResponse or NoticeResponse, by their code letter."""
    fields = {}
    i = 0
    while i < len(body) and body[i] != 0:
        code = chr(body[i])
        end = body.index(b"\0", i + 1)
        fields[code] = body[i + 1:end].decode()
        i = end + 1
    return fields


def row_description(body):
    (count,) = struct.unpack_from("!H", body)
    pos = 2
    columns = []
    for _ in range(count):
        end = body.index(b"\0", pos)
        name = body[pos:end].decode()
        pos = end + 1
        table, attnum, typ, typlen, typmod, fmt = struct.unpack_from("!IhIhih", body, pos)
        pos += 18
        columns.append((name, table, attnum, typ, typlen, typmod, fmt))
    return columns


def data_row(body):
    (count,) = struct.unpack_from("!H", body)
    pos = 2
    values = []
    for _ in range(count):
        (length,) = struct.unpack_from("!i", body, pos)
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(body[pos:pos + length].decode())
            pos += length
    return values


def summarize_one(m):
    """A comparable tuple for one message: its kind and the fields a client reads."""
    t = m.type
    b = m.body
    if t == "1":
        return ("ParseComplete",)
    if t == "2":
        return ("BindComplete",)
    if t == "3":
        return ("CloseComplete",)
    if t == "n":
        return ("NoData",)
    if t == "s":
        return ("PortalSuspended",)
    if t == "I":
        return ("EmptyQueryResponse",)
    if t == "c":
        return ("CopyDone",)
    if t == "t":
        (count,) = struct.unpack_from("!H", b)
        return ("ParameterDescription", list(struct.unpack_from(f"!{count}I", b, 2)))
    if t == "T":
        return ("RowDescription", row_description(b))
    if t == "D":
        return ("DataRow", data_row(b))
    if t == "C":
        return ("CommandComplete", b.rstrip(b"\0").decode())
    if t == "Z":
        return ("ReadyForQuery", b.decode())
    if t in "EN":
        f = error_fields(b)
        kind = "ErrorResponse" if t == "E" else "NoticeResponse"
        return (kind, f.get("V"), f.get("C"), f.get("M"), f.get("P"))
    if t == "S":
        return ("ParameterStatus",) + tuple(_split_cstrings(b))
    if t == "A":
        # The sender's pid (first 4 bytes) differs between router and server; left out.
        return ("NotificationResponse",) + tuple(_split_cstrings(b[4:]))
    if t in "GHW":
        fmt, count = struct.unpack_from("!bH", b)
        cols = list(struct.unpack_from(f"!{count}H", b, 3))
        name = {"G": "CopyInResponse", "H": "CopyOutResponse", "W": "CopyBothResponse"}[t]
        return (name, fmt, cols)
    if t == "d":
        return ("CopyData", b.decode())
    if t == "V":
        (length,) = struct.unpack_from("!i", b)
        return ("FunctionCallResponse", None if length < 0 else b[4:4 + length].decode())
    if t == "K":
        return ("BackendKeyData",)
    if t == "R":
        return ("Authentication", struct.unpack_from("!I", b)[0])
    return (t, b)


def summarize(messages, skip=("S",)):
    return [summarize_one(m) for m in messages if m.type not in skip]


# The connection ----------------------------------------------------------------

class Conn:
    """One protocol connection. Messages are sent as given and read one by one."""

    def __init__(self, host, port, user="demo", database="demo", password="demo",
                 params=None, timeout=10.0):
        self.user = user
        self.password = password
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.parameters = {}
        self.parameter_order = []
        self.backend_key = None
        self.startup_messages = []
        self._startup(database, params or {})

    # I/O

    def send(self, *messages):
        self.sock.sendall(b"".join(messages))

    def recv(self, timeout=None):
        """The next backend message; raises socket.timeout when none comes in time."""
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        while True:
            if len(self.buf) >= 5:
                (length,) = struct.unpack_from("!I", self.buf, 1)
                if len(self.buf) >= length + 1:
                    type_ = chr(self.buf[0])
                    body = bytes(self.buf[5:length + 1])
                    del self.buf[:length + 1]
                    return Message(type_, body)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("connection closed by the server")
            self.buf += chunk

    def recv_until(self, types, timeout=None):
        """Messages up to and including the first whose type is in `types`."""
        out = []
        while True:
            m = self.recv(timeout)
            out.append(m)
            if m.type in types:
                return out

    def ready(self, timeout=None):
        """Messages up to and including ReadyForQuery."""
        return self.recv_until("Z", timeout)

    def recv_n(self, n, timeout=None):
        return [self.recv(timeout) for _ in range(n)]

    def run(self, *messages, syncs=1, timeout=None):
        """Sends the messages and reads through `syncs` ReadyForQuery messages."""
        self.send(*messages)
        out = []
        for _ in range(syncs):
            out += self.ready(timeout)
        return out

    def simple(self, sql, timeout=None):
        return self.run(query(sql), timeout=timeout)

    def rows(self, sql, timeout=None):
        """Rows of a simple query; raises ProtocolError on an ErrorResponse."""
        out = self.simple(sql, timeout)
        for m in out:
            if m.type == "E":
                raise ProtocolError(str(error_fields(m.body)))
        return [data_row(m.body) for m in out if m.type == "D"]

    def scalar(self, sql):
        return self.rows(sql)[0][0]

    def close(self):
        try:
            self.sock.sendall(terminate())
        except OSError:
            pass
        self.sock.close()

    def abort(self):
        """Drops the TCP connection without a Terminate message."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Startup and authentication

    def _startup(self, database, params):
        body = struct.pack("!I", PROTOCOL_3_0)
        for k, v in [("user", self.user), ("database", database)] + list(params.items()):
            body += _cstr(k) + _cstr(v)
        body += b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        scram = None
        while True:
            m = self.recv()
            self.startup_messages.append(m)
            if m.type == "E":
                raise ProtocolError(str(error_fields(m.body)))
            if m.type == "R":
                (code,) = struct.unpack_from("!I", m.body)
                if code == 0:
                    continue
                if code == 3:
                    self.send(_msg(b"p", _cstr(self.password)))
                elif code == 5:
                    self.send(_msg(b"p", _cstr(md5_response(self.user, self.password,
                                                            m.body[4:8]))))
                elif code == 10:
                    mechanisms = _split_cstrings(m.body[4:])
                    if "SCRAM-SHA-256" not in mechanisms:
                        raise ProtocolError(f"no supported SASL mechanism in {mechanisms}")
                    scram = ScramClient(self.password)
                    first = scram.client_first().encode()
                    self.send(_msg(b"p", _cstr("SCRAM-SHA-256") +
                                   struct.pack("!i", len(first)) + first))
                elif code == 11:
                    self.send(_msg(b"p", scram.client_final(m.body[4:].decode()).encode()))
                elif code == 12:
                    scram.verify_server_final(m.body[4:].decode())
                else:
                    raise ProtocolError(f"unsupported authentication request {code}")
            elif m.type == "S":
                name, value = _split_cstrings(m.body)
                self.parameters[name] = value
                self.parameter_order.append(name)
            elif m.type == "K":
                self.backend_key = struct.unpack("!II", m.body)
            elif m.type == "Z":
                return


def md5_response(user, password, salt):
    inner = hashlib.md5((password + user).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


class ScramClient:
    """SCRAM-SHA-256 (RFC 5802, RFC 7677) client side, no channel binding."""

    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def client_first(self):
        return "n,," + self.first_bare

    def client_final(self, server_first):
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ProtocolError("server nonce does not extend the client nonce")
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=" + base64.b64encode(b"n,,").decode() + ",r=" + attrs["r"]
        self.auth_message = ",".join([self.first_bare, server_first, without_proof]).encode()
        signature = hmac.new(stored_key, self.auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        return without_proof + ",p=" + base64.b64encode(proof).decode()

    def verify_server_final(self, server_final):
        attrs = dict(part.split("=", 1) for part in server_final.split(","))
        expected = hmac.new(self.server_key, self.auth_message, hashlib.sha256).digest()
        if base64.b64decode(attrs.get("v", "")) != expected:
            raise ProtocolError("server signature does not verify")
