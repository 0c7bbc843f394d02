"""The proxy processes scripts/bench starts, configures and measures.

Each proxy listens on a free TCP port of 127.0.0.1 only (no Unix socket),
authenticates clients by trust, runs one thread and logs in to its nodes as
`demo`. Its stdout and stderr go to a log file in the work directory.
"""

import os
import pwd
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench_lib.common import (BenchError, kDatabase, kHost, kNode, kPassword, kPgBouncer,
                              kRole, kShard, say)

kClockTicks = os.sysconf("SC_CLK_TCK")
kStartTimeoutS = 15


class Proxy:
    """One proxy process that this script started, and its /proc figures."""

    def __init__(self, label, argv, log, port, run_as=None):
        self.label = label  # its name in tables: "shardline", "pgbouncer", ...
        self.argv = [str(a) for a in argv]
        self.log = log
        self.port = port
        self.run_as = run_as  # OS user to run as; None: this script's user
        self.process = None

    def start(self):
        ids = owner_ids(self.run_as) if self.run_as else None
        with open(self.log, "ab") as out:
            if ids:
                os.chown(self.log, *ids)
            self.process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                user=ids and ids[0], group=ids and ids[1], extra_groups=[] if ids else None,
                start_new_session=True)
        deadline = time.monotonic() + kStartTimeoutS
        while not port_open(self.port):
            self.check_alive("while starting")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.label} does not listen on {self.port} after "
                                 f"{kStartTimeoutS} s; see {self.log}")
            time.sleep(0.05)

    def check_alive(self, when):
        """Ends the benchmark with the log's last lines if the proxy has exited."""
        if self.process.poll() is not None:
            raise BenchError(f"{self.label} exited with status {self.process.returncode} "
                             f"{when}; last lines of {self.log}:\n{tail(self.log)}")

    def cpu_seconds(self):
        """(utime, stime) of the whole process, all threads included."""
        text = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on
        return int(fields[11]) / kClockTicks, int(fields[12]) / kClockTicks

    def rss_kib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise BenchError(f"no VmRSS for {self.label}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            say(f"{self.label} did not stop within 10 s of SIGTERM; killing it")
            self.process.kill()
            self.process.wait()


def owner_ids(user):
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((kHost, 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection((kHost, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path, lines=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def node_host(link, socket_dir):
    """How a proxy reaches the node: its socket directory, or TCP on loopback."""
    return socket_dir if link == "unix" else kHost


@dataclass
class Node:
    """A node of a shard, as a shardline config names it."""
    name: str  # "s0-primary"
    shard: str  # "s0"
    port: int
    socket_dir: str
    role: str = "primary"  # or "replica"


def nodes_toml(nodes, link):
    return "".join(f"""
[[nodes]]
name = "{n.name}"
shard = "{n.shard}"
role = "{n.role}"
host = "{node_host(link, n.socket_dir)}"
port = {n.port}
""" for n in nodes)


def start_shardline(binary, workdir, node, link, pool_size, label="shardline",
                    nodes=None, shard_map="", settings=""):
    """Starts shardline in transaction pooling mode.

    Without `nodes`, it serves the one node `node` (port, socket_dir) of shard
    kShard; with them, those nodes (Node), a pool of `pool_size` each. `shard_map`
    holds the map's TOML tables ([[tables]] ...). With one shard, or no table in the
    map, the router does not route: every statement goes to the first shard; reads
    go to its replicas as [reads] says. `settings` holds more TOML tables of the
    config, such as [reads] and [health]."""
    port = free_port()
    nodes = nodes or [Node(kNode, kShard, *node)]
    config = workdir / f"shardline-{port}.toml"
    config.write_text(f"""\
workers = 1

[listen]
host = "{kHost}"
port = {port}
unix_socket_dir = ""

[pool]
mode = "transaction"
max_size = {pool_size}
tls = "disable"

[timeouts]
shutdown_drain_ms = 1000

[log]
level = "info"

[[users]]
name = "{kRole}"
password = ""
backend_password = "{kPassword}"
{settings}{nodes_toml(nodes, link)}{shard_map}""")
    proxy = Proxy(label, [binary, "--config", config], workdir / f"shardline-{port}.log", port)
    proxy.start()
    return proxy


def start_pgbouncer(workdir, node, link, pool_size, max_clients, pool_mode="transaction",
                    database=kDatabase):
    """Starts PgBouncer with the same pool size and authentication as shardline,
    serving `database` of the node `node` (port, socket_dir).

    PgBouncer refuses to run as root; as root, this runs it as `postgres`."""
    run_as = "postgres" if os.geteuid() == 0 else None
    port = free_port()
    users = workdir / f"pgbouncer-{port}.users"
    users.write_text(f'"{kRole}" "{kPassword}"\n')
    config = workdir / f"pgbouncer-{port}.ini"
    config.write_text(f"""\
[databases]
{database} = host={node_host(link, node[1])} port={node[0]} dbname={database}

[pgbouncer]
listen_addr = {kHost}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = {pool_mode}
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = {max_clients}
server_tls_sslmode = disable
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
""")
    for path in (users, config):
        os.chmod(path, 0o600)
        if run_as:
            os.chown(path, *owner_ids(run_as))
    label = "pgbouncer" if pool_mode == "transaction" else f"pgbouncer {pool_mode}"
    proxy = Proxy(label, [kPgBouncer, config], workdir / f"pgbouncer-{port}.log", port, run_as)
    proxy.start()
    return proxy
