"""Idle clients for the memory test: raw sockets, startup and nothing more.

Each client connects over TCP, sends a v3 StartupMessage, accepts only
trust authentication (AuthenticationOk) and stops reading once
ReadyForQuery arrives; its socket then stays open and idle until closed.
Runs single-threaded on a selector; needs a file descriptor per client.
"""

import errno
import os
import selectors
import socket
import struct
import time

from bench_lib.common import kDatabase, kHost, kRole

kProtocolVersion = 196608  # 3.0


class IdleClient:
    """One client, from connect to ReadyForQuery."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.port = port
        self.buffer = b""
        self.state = "connecting"  # then "startup", and "ready" or "failed"
        self.error = ""

    def begin(self):
        code = self.sock.connect_ex((kHost, self.port))
        if code not in (0, errno.EINPROGRESS):
            self.fail(f"connect: {os.strerror(code)}")

    def on_writable(self):
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code != 0:
            self.fail(f"connect: {os.strerror(code)}")
            return
        params = ((b"user", kRole.encode()), (b"database", kDatabase.encode()),
                  (b"application_name", b"shardline-bench-idle"))
        body = struct.pack("!I", kProtocolVersion)
        body += b"".join(k + b"\0" + v + b"\0" for k, v in params) + b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        self.state = "startup"

    def on_readable(self):
        try:
            data = self.sock.recv(65536)
        except OSError as e:
            self.fail(f"recv: {e.strerror}")
            return
        if not data:
            self.fail("connection closed during startup")
            return
        self.buffer += data
        while len(self.buffer) >= 5 and self.state == "startup":
            length = struct.unpack("!I", self.buffer[1:5])[0]
            if len(self.buffer) < 1 + length:
                return
            kind, body = self.buffer[:1], self.buffer[5:1 + length]
            self.buffer = self.buffer[1 + length:]
            self.on_message(kind, body)

    def on_message(self, kind, body):
        if kind == b"R":
            request = struct.unpack("!I", body[:4])[0]
            if request != 0:
                self.fail(f"the proxy asks for a password (authentication request {request})")
        elif kind == b"E":
            fields = dict((f[:1], f[1:]) for f in body.split(b"\0") if f)
            self.fail(fields.get(b"M", b"error").decode(errors="replace"))
        elif kind == b"Z":
            self.state = "ready"

    def fail(self, message):
        self.state = "failed"
        self.error = message

    def close(self):
        self.sock.close()


def open_idle_clients(port, count, timeout_s=180, window=100):
    """Opens `count` clients, at most `window` of them in startup at once.

    Returns the clients that are ready and the errors of those that are not."""
    selector = selectors.DefaultSelector()
    pending = [IdleClient(port) for _ in range(count)]
    ready, errors = [], []
    deadline = time.monotonic() + timeout_s
    while (pending or selector.get_map()) and time.monotonic() < deadline:
        while pending and len(selector.get_map()) < window:
            client = pending.pop()
            client.begin()
            if client.state == "failed":
                errors.append(client.error)
                client.close()
            else:
                selector.register(client.sock, selectors.EVENT_WRITE, client)
        for key, _ in selector.select(timeout=1.0):
            step(selector, key.data, ready, errors)

    for key in list(selector.get_map().values()):
        errors.append(f"startup did not finish within {timeout_s} s")
        key.data.close()
    errors += ["not attempted: time ran out"] * len(pending)
    selector.close()
    return ready, errors


def step(selector, client, ready, errors):
    """Advances one client on a readiness event."""
    if client.state == "connecting":
        client.on_writable()
        if client.state == "startup":
            selector.modify(client.sock, selectors.EVENT_READ, client)
    else:
        client.on_readable()
    if client.state == "ready":
        selector.unregister(client.sock)
        ready.append(client)
    elif client.state == "failed":
        selector.unregister(client.sock)
        errors.append(client.error)
        client.close()
