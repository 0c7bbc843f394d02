"""Fixtures for the integration tests: the local cluster (started by
scripts/test through scripts/cluster, topology scripts/topologies/dev.toml)
and shardline processes started with generated configurations.

Run with /usr/bin/python3 -m pytest tests/integration (Debian's psycopg).
"""
import json
import os
import pathlib
import socket
import subprocess
import tempfile
import threading
import time

import psycopg
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("SHARDLINE_BIN", str(REPO / "build" / "router" / "shardline"))
CLUSTER_DIR = os.environ.get("SHARDLINE_CLUSTER_DIR", "/var/tmp/shardline-cluster")

# The SCRAM verifier of password "demo" for role demo (any salt works: the
# router checks clients against its own copy), and md5user's md5 secret.
DEMO_VERIFIER = (
    "SCRAM-SHA-256$4096:XxwOmjt9LEHopvCz2cJ+FQ==$QzWztaICPEgDiwIyd16m8W2a7DzEG99YziGAfMapznw="
    ":xXxJxweWPRBUFUgyoEfke37cXcEvjiKK4E1cSc2LFbY="
)


def md5_secret(password, user):
    import hashlib
    return "md5" + hashlib.md5((password + user).encode()).hexdigest()


FOUR_DIR = os.environ.get("SHARDLINE_FOUR_DIR", CLUSTER_DIR + "-four")
FOUR_TOPOLOGY = str(REPO / "scripts" / "topologies" / "four.toml")


def cluster_nodes(topology="dev"):
    """Nodes of the dev topology (two shards with replicas) or of "four" (four
    primaries); the four-shard cluster is started when it is not running."""
    command = [str(REPO / "scripts" / "cluster")]
    if topology == "four":
        command += ["--topology", FOUR_TOPOLOGY, "--base", FOUR_DIR]
    out = subprocess.run(command + ["status", "--json"],
                         check=True, capture_output=True, text=True).stdout
    nodes = json.loads(out)
    if topology == "four" and not all(n["running"] for n in nodes):
        subprocess.run(command + ["start"], check=True, capture_output=True, text=True,
                       timeout=300)
        return cluster_nodes(topology)
    return nodes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Router:
    """A shardline process on a free port with a generated config."""

    def __init__(self, workdir, **options):
        self.port = options.pop("port", None) or free_port()
        self.socket_dir = tempfile.mkdtemp(prefix="sl-sock-")
        self.config_path = pathlib.Path(workdir) / f"shardline-{self.port}.toml"
        self.log_path = pathlib.Path(workdir) / f"shardline-{self.port}.log"
        self.config_path.write_text(render_config(self.port, self.socket_dir, **options))
        self.proc = None

    def start(self, wait=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BIN, "-c", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"shardline exited: {self.log_path.read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError("shardline did not start listening")
        return self

    def stop(self, sig=15, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def dsn(self, user="demo", password="demo", dbname="demo", **extra):
        parts = [f"host=127.0.0.1 port={self.port} user={user} dbname={dbname}"]
        if password is not None:
            parts.append(f"password={password}")
        parts += [f"{k}={v}" for k, v in extra.items()]
        return " ".join(parts)

    def connect(self, **kwargs):
        autocommit = kwargs.pop("autocommit", True)
        return psycopg.connect(self.dsn(**kwargs), autocommit=autocommit, connect_timeout=10)

    def log_text(self):
        return self.log_path.read_text()


def render_config(port, socket_dir, mode="transaction", max_size=10, checkout_timeout_ms=5000,
                  users=None, extra="", node="s0-primary", tls=None, log_level="info",
                  shutdown_drain_ms=5000, max_message_bytes=67108864, shards=None,
                  topology="dev"):
    """A router config; `shards` lists primary nodes of `topology` to route over
    (default: `node` alone)."""
    nodes = {n["name"]: n for n in cluster_nodes(topology)}
    if users is None:
        users = [
            {"name": "demo", "password": DEMO_VERIFIER, "backend_password": "demo"},
            {"name": "md5user", "password": md5_secret("md5pass", "md5user"),
             "backend_password": "md5pass"},
        ]
    lines = [
        "workers = 1",
        f"max_message_bytes = {max_message_bytes}",
        "[listen]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f'unix_socket_dir = "{socket_dir}"',
    ]
    if tls:
        lines += ["[tls]", f'cert_file = "{tls[0]}"', f'key_file = "{tls[1]}"']
    lines += [
        "[pool]",
        f'mode = "{mode}"',
        f"max_size = {max_size}",
        f"checkout_timeout_ms = {checkout_timeout_ms}",
        'tls = "disable"',
        "[timeouts]",
        f"shutdown_drain_ms = {shutdown_drain_ms}",
        "[log]",
        f'level = "{log_level}"',
    ]
    for u in users:
        lines.append("[[users]]")
        for k, v in u.items():
            lines.append(f'{k} = "{v}"')
    for name in shards or [node]:
        primary = nodes[name]
        lines += [
            "[[nodes]]",
            f'name = "{primary["name"]}"',
            f'shard = "{primary["shard"]}"',
            'role = "primary"',
            f'host = "{primary["host"]}"',
            f"port = {primary['port']}",
        ]
    return "\n".join(lines) + "\n" + extra


@pytest.fixture(scope="session")
def workdir():
    """Configs and logs of the routers the tests start (SHARDLINE_IT_WORKDIR to choose)."""
    d = os.environ.get("SHARDLINE_IT_WORKDIR") or tempfile.mkdtemp(prefix="sl-it-")
    os.makedirs(d, exist_ok=True)
    yield d


@pytest.fixture
def router_factory(workdir):
    """Starts routers with given options; stops them after the test."""
    started = []

    def make(**options):
        r = Router(workdir, **options).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


@pytest.fixture(scope="module")
def router(workdir):
    """One transaction-mode router on a pool of 10, shared by a test module."""
    r = Router(workdir).start()
    yield r
    r.stop()


@pytest.fixture
def direct():
    """A connection straight to s0-primary, for comparing results."""
    nodes = {n["name"]: n for n in cluster_nodes()}
    p = nodes["s0-primary"]
    conn = psycopg.connect(f"host=127.0.0.1 port={p['port']} user=demo password=demo dbname=demo",
                           autocommit=True)
    yield conn
    conn.close()


def direct_dsn():
    nodes = {n["name"]: n for n in cluster_nodes()}
    p = nodes["s0-primary"]
    return f"host=127.0.0.1 port={p['port']} user=demo password=demo dbname=demo"


def direct_port(node="s0-primary", topology="dev"):
    """The TCP port of a cluster node (127.0.0.1)."""
    return {n["name"]: n for n in cluster_nodes(topology)}[node]["port"]


def superuser_sql(sql, node="s0-primary", dbname="demo", timeout=60):
    """Runs SQL as the postgres superuser over the node's Unix socket (local trust).

    Returns psql's unaligned, tuples-only output; raises on any error.
    """
    return node_sql({n["name"]: n for n in cluster_nodes()}[node], sql, dbname, timeout)


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """A self-signed certificate and key for CN=localhost: (cert file, key file)."""
    d = tmp_path_factory.mktemp("tls")
    cert_file, key_file = d / "server.crt", d / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=localhost", "-days", "1", "-keyout", str(key_file), "-out",
                    str(cert_file)], check=True, capture_output=True, timeout=60)
    return str(cert_file), str(key_file)


def with_client_idle(ms):
    """An edit for edited_router_factory that sets timeouts.client_idle_ms."""
    return lambda text: text.replace("shutdown_drain_ms", f"client_idle_ms = {ms}\nshutdown_drain_ms")


@pytest.fixture
def edited_router_factory(workdir):
    """Like router_factory, for keys it has no option for: `edit` rewrites the
    generated configuration text before the router starts. With wait=False
    the router is started without waiting for its TCP listener."""
    started = []

    def make(edit, wait=True, **options):
        r = Router(workdir, **options)
        r.config_path.write_text(edit(r.config_path.read_text()))
        started.append(r)
        return r.start(wait=wait)

    yield make
    for r in started:
        r.stop()


# Helpers for tests that check the router keeps serving.

def bounded(fn, seconds):
    """fn() in a thread; its result, or TimeoutError if it runs longer."""
    outcome = {}

    def run():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # handed to the caller
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"still running after {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def assert_serving(r):
    """The router process is alive and a new normal client gets an answer."""
    assert r.proc.poll() is None, f"router exited with {r.proc.returncode}"

    def check():
        with r.connect() as c:
            return c.execute("SELECT 40 + 2").fetchone()

    assert bounded(check, 15) == (42,)


def wait_for(predicate, seconds, what):
    """Polls predicate() until it is true; AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def direct_rows(sql):
    """Rows of a query run as the superuser on s0-primary, as tuples of text."""
    return [tuple(line.split("|")) for line in superuser_sql(sql).splitlines() if line]


def connection_refused(port):
    """Whether nothing listens on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def create_scratch_table(name):
    """(Re)creates table `name` (k text PRIMARY KEY, v int) on s0-primary for demo."""
    superuser_sql(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (k text PRIMARY KEY, v int);"
                  f" GRANT ALL ON {name} TO demo")


# The replica topologies: replicas.toml (s0-primary, s0-replica1, s0-replica2), which
# scripts/test starts and these helpers start when it is not running, and failover.toml
# (s0-primary, s0-replica1), which its test sets up afresh and may leave broken.

REPLICAS_DIR = os.environ.get("SHARDLINE_REPLICAS_DIR", CLUSTER_DIR + "-replicas")
FAILOVER_DIR = os.environ.get("SHARDLINE_FAILOVER_DIR", "/var/tmp/shardline-failover")
TOPOLOGIES = {
    "replicas": (str(REPO / "scripts" / "topologies" / "replicas.toml"), REPLICAS_DIR),
    "failover": (str(REPO / "scripts" / "topologies" / "failover.toml"), FAILOVER_DIR),
}


def cluster(topology, *args, timeout=120):
    """Runs scripts/cluster on a replica topology; raises with its output on failure."""
    path, base = TOPOLOGIES[topology]
    command = [str(REPO / "scripts" / "cluster"), "--topology", path, "--base", base, *args]
    out = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {out.stdout}{out.stderr}")
    return out.stdout


def topology_nodes(topology, start=True):
    """The nodes of a replica topology by name (status --json), started first if any is down
    and `start` says so."""
    nodes = json.loads(cluster(topology, "status", "--json"))
    if start and not all(n["running"] for n in nodes):
        cluster(topology, "start", timeout=300)
        nodes = json.loads(cluster(topology, "status", "--json"))
    return {n["name"]: n for n in nodes}


def node_sql(node, sql, dbname="demo", timeout=60):
    """Runs SQL as the postgres superuser over a node's Unix socket (a node of
    topology_nodes); psql's unaligned, tuples-only output."""
    result = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", node["socket_dir"],
         "-p", str(node["port"]), "-U", "postgres", "-d", dbname, "-c", sql],
        capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"psql as postgres on {node['name']} failed: {result.stderr}")
    return result.stdout


def render_replica_config(port, socket_dir, nodes, reads="", health="", weights=None,
                          workers=1, log_level="info", max_size=10, users=None, extra=""):
    """A router config over every node of `nodes` (topology_nodes), in its configured role.
    `reads` and `health` are the bodies of those tables; `weights` maps node names to weights;
    `extra` is appended as is (for [[reads.override]] tables)."""
    if users is None:
        users = [{"name": "demo", "password": DEMO_VERIFIER, "backend_password": "demo"}]
    lines = [
        f"workers = {workers}",
        "[listen]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f'unix_socket_dir = "{socket_dir}"',
        "[pool]",
        'mode = "transaction"',
        f"max_size = {max_size}",
        "checkout_timeout_ms = 5000",
        'tls = "disable"',
        "[log]",
        f'level = "{log_level}"',
        "[reads]",
        reads,
        "[health]",
        health,
    ]
    for u in users:
        lines.append("[[users]]")
        lines += [f'{k} = "{v}"' for k, v in u.items()]
    for node in nodes.values():
        lines += [
            "[[nodes]]",
            f'name = "{node["name"]}"',
            f'shard = "{node["shard"]}"',
            f'role = "{node["role"]}"',
            f'host = "{node["host"]}"',
            f"port = {node['port']}",
        ]
        if weights and node["name"] in weights:
            lines.append(f"weight = {weights[node['name']]}")
    return "\n".join(lines) + "\n" + extra


class ReplicaRouter(Router):
    """A shardline process over a replica topology's nodes; options as render_replica_config."""

    def __init__(self, workdir, nodes, **options):
        self.port = free_port()
        self.socket_dir = tempfile.mkdtemp(prefix="sl-sock-")
        self.config_path = pathlib.Path(workdir) / f"shardline-{self.port}.toml"
        self.log_path = pathlib.Path(workdir) / f"shardline-{self.port}.log"
        self.config_path.write_text(
            render_replica_config(self.port, self.socket_dir, nodes, **options))
        self.proc = None

    def wait_log(self, text, seconds=10):
        """Waits until the router's log holds `text`."""
        wait_for(lambda: text in self.log_text(), seconds, f"{text!r} in {self.log_path}")
