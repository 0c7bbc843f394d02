#!/usr/bin/python3
"""Differential SQL runner: every file in cases/ runs statement by statement on
plain Postgres and through shardline over four shards, and the two must agree.

Run with the system interpreter (Debian's psycopg and xxhash):

    /usr/bin/python3 tests/differential/run.py [CASE.sql ...]

See README.md next to this file for the file format and what is compared.
Exit code: 0 when everything agrees, 1 on any difference, 2 when the run could
not be set up (cluster not running, router did not start).
"""
import argparse
import difflib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

import psycopg
import xxhash

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATABASE = "differential"
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_S = 20
ROUTER_START_TIMEOUT_S = 10

# The SCRAM verifier of password "demo" for role demo: the router checks its
# clients against this and logs in to the nodes with the plain password.
DEMO_VERIFIER = (
    "SCRAM-SHA-256$4096:XxwOmjt9LEHopvCz2cJ+FQ==$QzWztaICPEgDiwIyd16m8W2a7DzEG99YziGAfMapznw="
    ":xXxJxweWPRBUFUgyoEfke37cXcEvjiKK4E1cSc2LFbY="
)


class SetupError(Exception):
    """The run cannot start: reported, exit code 2."""


# --- Case files -------------------------------------------------------------

ANNOTATION = re.compile(r"--\s*(params|binary-params|error|prepared)\s*(?::\s*(.*))?$")
PLACEHOLDER = re.compile(r"\$(\d+)")
ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


class Statement:
    """One statement of a case file and how to run it."""

    def __init__(self, path, line, sql, annotations):
        self.path = path
        self.line = line  # line of the statement's first line in its file
        self.sql = sql
        self.params = annotations.get("params", annotations.get("binary-params"))
        self.binary = "binary-params" in annotations
        self.prepared = "prepared" in annotations
        self.error = annotations.get("error")  # SQLSTATE Postgres must raise
        self.ordered = bool(ORDER_BY.search(sql))

    def where(self):
        return f"{self.path.name}:{self.line}"

    def query(self):
        """The text and parameters psycopg sends: without parameters a simple
        Query; with them, $n become psycopg placeholders (extended protocol)."""
        if self.params is None:
            return self.sql, None
        kind = "b" if self.binary else "s"
        text = PLACEHOLDER.sub(lambda m: f"%(p{m.group(1)})" + kind, self.sql.replace("%", "%%"))
        return text, {f"p{i + 1}": value for i, value in enumerate(self.params)}


def parse_case(path):
    """Statements of a file: a statement ends with a line ending in ';'; lines
    starting with '--' are comments, and annotate the next statement when
    they read '-- params: JSON', '-- binary-params: JSON', '-- prepared' or
    '-- error: SQLSTATE'."""
    statements, lines, annotations, first = [], [], {}, None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        text = raw.strip()
        if not lines and text.startswith("--"):
            match = ANNOTATION.match(text)
            if match:
                annotations[match.group(1)] = annotation_value(path, number, match)
            continue
        if not text:
            continue
        first = first or number
        lines.append(raw.rstrip())
        if text.endswith(";"):
            sql = "\n".join(lines).rstrip()[:-1]
            statements.append(Statement(path, first, sql, annotations))
            lines, annotations, first = [], {}, None
    if lines:
        raise SetupError(f"{path}:{first}: statement without a closing ';'")
    return statements


def annotation_value(path, number, match):
    name, value = match.groups()
    if name not in ("params", "binary-params"):
        return value
    try:
        params = json.loads(value or "")
    except ValueError as e:
        raise SetupError(f"{path}:{number}: {name} must be a JSON list: {e}")
    if not isinstance(params, list):
        raise SetupError(f"{path}:{number}: {name} must be a JSON list")
    return params


# --- Clusters and databases ---------------------------------------------------

def cluster_nodes(*options):
    command = [str(REPO / "scripts" / "cluster"), *options, "status", "--json"]
    try:
        out = subprocess.run(command, check=True, capture_output=True, text=True,
                             timeout=60).stdout
    except (subprocess.SubprocessError, OSError) as e:
        raise SetupError(f"{' '.join(command)} failed: {e}")
    nodes = json.loads(out)
    stopped = [n["name"] for n in nodes if not n["running"]]
    if stopped:
        raise SetupError(f"not running: {', '.join(stopped)} (start it with "
                         f"scripts/cluster {' '.join(options)} start)")
    return {n["name"]: n for n in nodes}


def topology():
    """(plain Postgres node, the four shards' primaries in shard order)."""
    dev_dir = os.environ.get("SHARDLINE_CLUSTER_DIR", "/var/tmp/shardline-cluster")
    four_dir = os.environ.get("SHARDLINE_FOUR_DIR", dev_dir + "-four")
    dev = cluster_nodes("--base", dev_dir)
    four = cluster_nodes("--topology", str(REPO / "scripts" / "topologies" / "four.toml"),
                         "--base", four_dir)
    shards = sorted((n for n in four.values() if n["role"] == "primary"),
                    key=lambda n: n["port"])
    return dev["s0-primary"], shards


def recreate_database(node):
    """DROP and CREATE the database as the superuser over the node's Unix socket."""
    dsn = (f"host={node['socket_dir']} port={node['port']} user=postgres dbname=postgres"
           f" connect_timeout={CONNECT_TIMEOUT_S}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE} OWNER demo")


def connect(host, port):
    conn = psycopg.connect(host=host, port=port, user="demo", password="demo",
                           dbname=DATABASE, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    conn.prepare_threshold = 1 << 30  # only statements marked "-- prepared" are prepared
    conn.notices = []
    conn.add_notice_handler(
        lambda d: conn.notices.append(f"{d.severity} {d.sqlstate}: {d.message_primary}"))
    return conn


# --- The router ---------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def router_config(port, shards, shard_map):
    lines = [
        "workers = 1",
        "[listen]", 'host = "127.0.0.1"', f"port = {port}",
        "[pool]", 'mode = "transaction"', "max_size = 4", "checkout_timeout_ms = 5000",
        'tls = "disable"',
        "[timeouts]", "shutdown_drain_ms = 2000",
        "[[users]]", 'name = "demo"', f'password = "{DEMO_VERIFIER}"',
        'backend_password = "demo"',
    ]
    for node in shards:
        lines += ["[[nodes]]", f'name = "{node["name"]}"', f'shard = "{node["shard"]}"',
                  'role = "primary"', f'host = "{node["host"]}"', f"port = {node['port']}"]
    return "\n".join(lines) + "\n\n" + shard_map


class Router:
    """A shardline process on a free loopback port, logging into workdir."""

    def __init__(self, binary, workdir, shards, shard_map):
        self.port = free_port()
        self.config = workdir / "shardline.toml"
        self.config.write_text(router_config(self.port, shards, shard_map))
        self.log_path = workdir / "shardline.log"
        self.binary = binary
        self.proc = None

    def start(self):
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ROUTER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"shardline exited with {self.proc.returncode}:\n"
                                 + self.log_path.read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SetupError(f"shardline did not listen on 127.0.0.1:{self.port} within "
                         f"{ROUTER_START_TIMEOUT_S} s; log: {self.log_path}")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- Running statements -------------------------------------------------------

class Hung(Exception):
    """A statement did not answer within STATEMENT_TIMEOUT_S: it is cancelled and
    the run stops."""


def bounded(fn, seconds):
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
        return thread, None
    if "error" in outcome:
        raise outcome["error"]
    return None, outcome["value"]


def execute(conn, statement):
    """The outcome of one statement as lines of text, the unit of comparison."""
    text, params = statement.query()

    def run():
        with conn.cursor() as cur:
            try:
                cur.execute(text, params, prepare=statement.prepared or None)
            except psycopg.errors.Error as e:
                return describe_error(e)
            return describe_result(cur, statement.ordered)

    thread, lines = bounded(run, STATEMENT_TIMEOUT_S)
    if thread is not None:
        # The thread may still hold the connection: it is left open, unused.
        conn.hung = True
        bounded(conn.cancel, 5)
        raise Hung(f"{statement.where()}: no answer within {STATEMENT_TIMEOUT_S} s")
    notices, conn.notices[:] = list(conn.notices), []
    return lines + [f"notice: {n}" for n in notices]


def describe_error(e):
    d = e.diag
    if d.sqlstate is None:  # raised by the driver: a lost connection, for example
        first, *rest = str(e).splitlines() or [""]
        return [f"client error: {first}"] + [f"  {line.strip()}" for line in rest]
    lines = [f"error {d.sqlstate}: {d.message_primary}"]
    lines += [f"  {name}: {value}" for name, value in
              (("detail", d.message_detail), ("hint", d.message_hint)) if value]
    return lines


def describe_result(cur, ordered):
    lines = [f"status: {cur.statusmessage}", f"rowcount: {cur.rowcount}"]
    if cur.description is None:
        return lines
    lines.append("columns: " + ", ".join(f"{c.name}:{c.type_code}" for c in cur.description))
    rows = [repr(row) for row in cur.fetchall()]
    if not ordered:
        rows.sort()
    return lines + [f"row: {row}" for row in rows]


# --- Placement: rows on the shards the hash names -------------------------------

class ShardMap:
    """The tables of map.toml and the shard of a key (xxh3_64 of the key's bytes,
    slot = top bits of the hash, slots split evenly over the shards in order)."""

    def __init__(self, text, shard_count):
        parsed = tomllib.loads(text)
        self.slots = parsed.get("sharding", {}).get("slots", 4096)
        self.shard_count = shard_count
        self.tables = {t["name"]: t for t in parsed.get("tables", [])}

    def kind(self, table):
        entry = self.tables.get(table)
        if entry is None:
            return "unnamed"
        return "reference" if entry.get("reference") else "sharded"

    def shard_of(self, table, key):
        kind = self.tables[table]["type"].lower()
        if kind == "uuid":
            data = key.bytes
        elif kind in ("text", "varchar", "character varying"):
            data = key.encode()
        else:
            data = int(key).to_bytes(8, "little", signed=True)
        slot_bits = self.slots.bit_length() - 1  # slots is a power of two
        slot = xxhash.xxh3_64_intdigest(data) >> (64 - slot_bits)
        return slot // (self.slots // self.shard_count)


def table_rows(conn, table):
    """(column names, rows sorted by repr) of public.table, or None when it does
    not exist."""
    if conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()[0] is None:
        return None
    cur = conn.execute(f'SELECT * FROM public."{table}"')
    names = [c.name for c in cur.description]
    return names, sorted(cur.fetchall(), key=repr)


def public_tables(conn):
    return {r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}


def placement_problems(plain, endpoints):
    """Where the shards' contents disagree with plain Postgres and the map: sharded
    rows each on their key's shard and together equal to plain's, reference
    tables equal to plain's on every shard, other tables on the first shard only."""
    shard_conns = endpoints.shards()
    try:
        return compare_placement(plain, shard_conns, endpoints.shard_map)
    finally:
        for conn in shard_conns:
            conn.close()


def compare_placement(plain, shard_conns, shard_map):
    problems = []
    tables = public_tables(plain).union(*(public_tables(c) for c in shard_conns))
    for table in sorted(tables):
        expected = table_rows(plain, table)
        found = [table_rows(c, table) for c in shard_conns]
        kind = shard_map.kind(table)
        if kind == "sharded":
            problems += sharded_problems(table, expected, found, shard_map)
        else:
            holders = range(len(found)) if kind == "reference" else [0]
            for index, rows in enumerate(found):
                wanted = expected if index in holders else None
                if rows != wanted:
                    problems.append(f"{kind} table {table} on shard {index}: expected "
                                    f"{summary(wanted)}, found {summary(rows)}")
    return problems


def sharded_problems(table, expected, found, shard_map):
    if expected is None or any(rows is None for rows in found):
        if any(rows != expected for rows in found):
            return [f"sharded table {table}: exists on plain Postgres: {expected is not None},"
                    f" on shards: {[rows is not None for rows in found]}"]
        return []
    names, plain_rows = expected
    if shard_map.tables[table]["key"] not in names:
        return [f"sharded table {table} has no key column {shard_map.tables[table]['key']}"]
    key = names.index(shard_map.tables[table]["key"])
    problems = [f"sharded table {table} on shard {index}: columns {columns}, plain Postgres "
                f"{names}" for index, (columns, _) in enumerate(found) if columns != names]
    for index, (_, rows) in enumerate(found):
        stray = [row for row in rows if shard_map.shard_of(table, row[key]) != index]
        if stray:
            problems.append(f"sharded table {table} on shard {index}: rows of other shards: "
                            f"{stray[:5]}")
    union = sorted((row for _, rows in found for row in rows), key=repr)
    if union != plain_rows:
        problems.append(f"sharded table {table}: the shards together hold {len(union)} rows, "
                        f"plain Postgres {len(plain_rows)}; first difference: "
                        f"{first_difference(plain_rows, union)}")
    return problems


def summary(rows):
    if rows is None:
        return "no table"
    return f"{len(rows[1])} rows {rows[1][:3]}{' ...' if len(rows[1]) > 3 else ''}"


def first_difference(expected, found):
    for a, b in zip(expected, found):
        if a != b:
            return f"{a!r} against {b!r}"
    longer = expected if len(expected) > len(found) else found
    return repr(longer[min(len(expected), len(found))])


# --- One case file --------------------------------------------------------------

class Endpoints:
    """Where the statements go and where placement is checked."""

    def __init__(self, plain_node, shard_nodes, router_port, shard_map):
        self.plain_node = plain_node
        self.shard_nodes = shard_nodes
        self.router_port = router_port
        self.shard_map = shard_map

    def plain(self):
        return connect("127.0.0.1", self.plain_node["port"])

    def router(self):
        return connect("127.0.0.1", self.router_port)

    def shards(self):
        return [connect("127.0.0.1", n["port"]) for n in self.shard_nodes]


def run_case(path, prelude, endpoints, verbose):
    """Runs the prelude and one file on fresh connections; returns the number of
    statements and the failure texts."""
    statements = prelude + parse_case(path)
    failures = []
    conns = {"plain": endpoints.plain(), "router": endpoints.router()}
    try:
        for statement in statements:
            if verbose:
                print(f"  {statement.where()}: {statement.sql.splitlines()[0]}")
            expected = execute(conns["plain"], statement)
            actual = execute(conns["router"], statement)
            failures += authoring_problems(statement, expected)
            if expected != actual:
                failures.append(mismatch(statement, expected, actual))
            for name, conn in conns.items():
                if conn.closed:
                    conns[name] = endpoints.plain() if name == "plain" else endpoints.router()
        failures += [f"placement after {path.name}: {p}" for p in
                     placement_problems(conns["plain"], endpoints)]
    finally:
        for conn in conns.values():
            close(conn)
    return len(statements), failures


def close(conn):
    if not getattr(conn, "hung", False):
        conn.close()


def authoring_problems(statement, expected):
    """A file must say which statements Postgres refuses: an error nobody
    announced is a mistake in the file, not a finding."""
    raised = expected[0][6:11] if expected[0].startswith("error ") else None
    if raised == statement.error:
        return []
    return [f"{statement.where()}: case file says error {statement.error}, "
            f"plain Postgres gave: {expected[0]}\n    {statement.sql}"]


def mismatch(statement, expected, actual):
    header = f"{statement.where()}: results differ\n    " + statement.sql.replace("\n", "\n    ")
    if statement.params is not None:
        header += f"\n    parameters ({'binary' if statement.binary else 'text'}): " \
                  f"{statement.params}"
    diff = "\n".join(difflib.unified_diff(expected, actual, "postgres", "shardline",
                                         lineterm="", n=50))
    return header + "\n    " + diff.replace("\n", "\n    ")


# --- Main -----------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", type=pathlib.Path,
                        help="case files (default: every cases/*.sql)")
    parser.add_argument("--verbose", action="store_true", help="print each statement")
    parser.add_argument("--keep", action="store_true",
                        help="keep the router's config and log after a passing run")
    args = parser.parse_args()
    cases = args.cases or sorted((HERE / "cases").glob("*.sql"))
    binary = os.environ.get("SHARDLINE_BIN", str(REPO / "build" / "router" / "shardline"))

    started = time.monotonic()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="shardline-differential-"))
    router = None
    try:
        plain_node, shard_nodes = topology()
        shard_map_text = (HERE / "map.toml").read_text()
        for node in [plain_node, *shard_nodes]:
            recreate_database(node)
        router = Router(binary, workdir, shard_nodes, shard_map_text)
        router.start()
        endpoints = Endpoints(plain_node, shard_nodes, router.port,
                              ShardMap(shard_map_text, len(shard_nodes)))
        prelude = parse_case(HERE / "schema.sql")
        failed = run_cases(cases, prelude, endpoints, args.verbose)
    except (SetupError, Hung, psycopg.Error, OSError) as e:
        print(f"differential: cannot complete the run: {e}", file=sys.stderr)
        if router is not None and router.proc is not None and router.proc.poll() is not None:
            print(f"shardline exited with {router.proc.returncode}; the end of its log:\n"
                  + router.log_path.read_text()[-4000:], file=sys.stderr)
        print(f"router config and log kept in {workdir}", file=sys.stderr)
        return 2
    finally:
        if router is not None:
            router.stop()
    print(f"{len(cases) - failed} of {len(cases)} files agree "
          f"({time.monotonic() - started:.1f} s)")
    if failed or args.keep:
        print(f"router config and log kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def run_cases(cases, prelude, endpoints, verbose):
    failed = 0
    for path in cases:
        started = time.monotonic()
        count, failures = run_case(path, prelude, endpoints, verbose)
        verdict = "agree" if not failures else f"{len(failures)} DIFFERENCES"
        print(f"{path.name:36} {count:3} statements  {verdict}  "
              f"({time.monotonic() - started:.1f} s)", flush=True)
        for failure in failures:
            print("  " + failure.replace("\n", "\n  "))
        failed += bool(failures)
    return failed


if __name__ == "__main__":
    sys.exit(main())
