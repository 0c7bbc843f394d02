"""Routing through psql, node-postgres and pgjdbc over two and four shards:
rows written by each driver land on the shard an independent hash names, and
the same driver reads each one back by its key.

Every test runs twice: over the dev cluster's two primaries and over the
four-shard cluster. Expected shards come from Python's xxhash
(python3-xxhash), not from shardline's code. Each driver writes its own key
range, with integer keys (rd_users) and text keys (rd_tenants, some of them
non-ASCII); the driver programs are tests/drivers/node/routing_place.js and
tests/drivers/jdbc/RoutingPlace.java.
"""
import os
import subprocess
from types import SimpleNamespace

import psycopg
import pytest
import xxhash

from conftest import REPO, Router, direct_port

SLOTS = 4096
LAYOUTS = {
    "two": ("dev", ["s0-primary", "s1-primary"]),
    "four": ("four", ["s0-primary", "s1-primary", "s2-primary", "s3-primary"]),
}
DRIVER_TIMEOUT_S = 120  # the driver programs stop themselves after 60 s
NODE_DIR = REPO / "tests" / "drivers" / "node"
JDBC_PLACE = REPO / "tests" / "drivers" / "jdbc" / "RoutingPlace.java"
PGJDBC_JAR = os.environ.get("PGJDBC_JAR", "/usr/share/java/postgresql.jar")

MAP = """
[[tables]]
name = "rd_users"
key = "user_id"
type = "bigint"

[[tables]]
name = "rd_tenants"
key = "tenant"
type = "text"
"""

SCHEMA = [
    "DROP TABLE IF EXISTS rd_users, rd_tenants",
    "CREATE TABLE rd_users (user_id bigint PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE rd_tenants (tenant text PRIMARY KEY, n int NOT NULL)",
]


def slot_of(data):
    """xxh3_64 of the key's canonical bytes; the slot is the top 12 bits."""
    return xxhash.xxh3_64_intdigest(data) >> 52


def shard_of(table, key, shards):
    """Index of the shard owning `key`: the shards split the slots evenly, in order.
    Integer keys hash as 8-byte little-endian int64, text keys as UTF-8."""
    if table == "users":
        data = int(key).to_bytes(8, "little", signed=True)
    else:
        data = key.encode()
    return slot_of(data) // (SLOTS // shards)


def tenant_names(driver, count, first=0):
    """Text keys of one driver: mostly ASCII, every third with non-ASCII letters."""
    names = []
    for i in range(first, first + count):
        if i % 3 == 2:
            names.append(f"{driver}-mandant-ü{i}" if i % 2 else f"{driver}-テナント-{i}")
        else:
            names.append(f"{driver}-tenant-{i}")
    return names


def make_plan(driver, first_key, user_ways, tenant_ways, first_tenant=0):
    """Rows as (table, how, key, value): `user_ways` and `tenant_ways` list
    (how, count) in order; user keys count up from first_key, tenant numbers
    from first_tenant."""
    plan = []
    key = first_key
    for how, count in user_ways:
        for _ in range(count):
            plan.append(("users", how, str(key), f"{driver}-{how}-{key}"))
            key += 1
    tenants = iter(tenant_names(driver, sum(count for _, count in tenant_ways), first_tenant))
    n = 1
    for how, count in tenant_ways:
        for _ in range(count):
            plan.append(("tenants", how, next(tenants), str(n * 7)))
            n += 1
    return plan


def plan_text(plan):
    return "".join(" ".join(row) + "\n" for row in plan)


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def routed(workdir, request):
    """A router over the layout of this run, with rd_users and rd_tenants created
    through it (DDL reaches every shard)."""
    topology, nodes = LAYOUTS[request.param]
    r = Router(workdir, shards=nodes, topology=topology, extra=MAP).start()
    with psycopg.connect(r.dsn(), autocommit=True, connect_timeout=10) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
    yield SimpleNamespace(router=r, topology=topology, nodes=nodes, shards=len(nodes))
    with psycopg.connect(r.dsn(), autocommit=True, connect_timeout=10) as conn:
        conn.execute("DROP TABLE IF EXISTS rd_users, rd_tenants")
    r.stop()


@pytest.fixture
def layout(routed):
    with psycopg.connect(routed.router.dsn(), autocommit=True, connect_timeout=10) as conn:
        conn.execute("TRUNCATE rd_users, rd_tenants")
    return routed


def driver_env(layout):
    env = dict(os.environ)
    env.update(PGHOST="127.0.0.1", PGPORT=str(layout.router.port), PGUSER="demo",
               PGPASSWORD="demo", PGDATABASE="demo", LC_ALL="C.UTF-8")
    return env


def run_driver(command, layout, stdin="", cwd=None):
    """Runs a driver program against the router; its stdout lines."""
    result = subprocess.run(command, input=stdin, capture_output=True, text=True,
                            encoding="utf-8", env=driver_env(layout), cwd=cwd,
                            timeout=DRIVER_TIMEOUT_S)
    assert result.returncode == 0, (
        f"{command[0]} exited with {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}")
    return result.stdout.splitlines()


def rows_on_shard(layout, index, table):
    port = direct_port(layout.nodes[index], layout.topology)
    sql = {"users": "SELECT user_id::text, name FROM rd_users",
           "tenants": "SELECT tenant, n::text FROM rd_tenants"}[table]
    with psycopg.connect(f"host=127.0.0.1 port={port} user=demo password=demo dbname=demo",
                         autocommit=True, connect_timeout=10) as conn:
        return sorted(conn.execute(sql).fetchall())


def assert_placed(layout, plan):
    """On every shard, read directly, exactly the plan's rows the hash assigns to it."""
    for table in ("users", "tenants"):
        rows = [(key, value) for t, _, key, value in plan if t == table]
        # Every shard owns some of the keys, or the check would prove less.
        assert {shard_of(table, key, layout.shards) for key, _ in rows} == set(
            range(layout.shards)), table
        expected = {index: sorted(r for r in rows if shard_of(table, r[0], layout.shards) == index)
                    for index in range(layout.shards)}
        actual = {index: rows_on_shard(layout, index, table) for index in range(layout.shards)}
        assert actual == expected, f"rd_{table}: rows per shard index"


def expected_reads(plan, mode):
    """The lines a driver program prints when it reads every row back by its key."""
    return [f"{mode} {table} {key} {value}" for table, _, key, value in plan]


# psql: the simple query protocol only (psql 15 has no \bind).

PSQL_PLAN = make_plan("psql", 1000,
                      [("literal", 10), ("reversed", 10), ("autocommit-off", 10)],
                      [("literal", 10), ("begin-commit", 10)])


def psql_insert(table, how, key, value):
    """The psql -c arguments that write one row."""
    if table == "users":
        if how == "reversed":
            return [f"INSERT INTO rd_users (name, user_id) VALUES ('{value}', {key})"]
        sql = f"INSERT INTO rd_users (user_id, name) VALUES ({key}, '{value}')"
    else:
        sql = f"INSERT INTO rd_tenants (tenant, n) VALUES ('{key}', {value})"
    if how == "autocommit-off":  # psql sends BEGIN on its own before the INSERT
        return [r"\set AUTOCOMMIT off", sql, "COMMIT", r"\set AUTOCOMMIT on"]
    if how == "begin-commit":  # one query string holding the whole transaction
        return [f"BEGIN; {sql}; COMMIT"]
    return [sql]


def psql(layout, commands):
    args = ["psql", "-X", "-q", "-A", "-t", "-F", " ", "-v", "ON_ERROR_STOP=1"]
    for command in commands:
        args += ["-c", command]
    return run_driver(args, layout)


def test_psql_simple_protocol_rows_land_on_the_hash_shard(layout):
    commands = []
    for row in PSQL_PLAN:
        commands += psql_insert(*row)
    assert psql(layout, commands) == []
    assert_placed(layout, PSQL_PLAN)

    reads = []
    for table, _, key, _ in PSQL_PLAN:
        if table == "users":
            reads.append(f"SELECT 'read', 'users', user_id, name FROM rd_users "
                         f"WHERE user_id = {key}")
        else:
            reads.append(f"SELECT 'read', 'tenants', tenant, n FROM rd_tenants "
                         f"WHERE tenant = '{key}'")
    assert psql(layout, reads) == expected_reads(PSQL_PLAN, "read")

    # All of psql's user keys by one IN list, then by a keyless scatter read.
    keys = [key for table, _, key, _ in PSQL_PLAN if table == "users"]
    rows = psql(layout, [f"SELECT user_id FROM rd_users WHERE user_id IN ({', '.join(keys)})",
                         "SELECT user_id FROM rd_users WHERE name LIKE 'psql-%'"])
    assert sorted(rows) == sorted(keys + keys)


# node-postgres: parameters in text format, and in binary format where the
# value is a Buffer (node-postgres binds every Buffer with format code 1).

NODE_PLAN = make_plan("node", 2000,
                      [("text", 10), ("binary", 10), ("binary4", 8), ("named", 6), ("tx", 6)],
                      [("text", 5), ("binary", 5), ("named", 5), ("tx", 5)])


def ensure_node_postgres():
    if not (NODE_DIR / "node_modules" / "pg").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_DIR, check=True, capture_output=True, timeout=300)


def test_node_postgres_text_and_binary_parameters_land_on_the_hash_shard(layout):
    ensure_node_postgres()
    out = run_driver(["node", "routing_place.js"], layout, plan_text(NODE_PLAN), cwd=NODE_DIR)
    assert_placed(layout, NODE_PLAN)
    reads = [line for line in out if line.startswith("read-text ")]
    assert reads == expected_reads(NODE_PLAN, "read-text")
    reads = [line for line in out if line.startswith("read-binary ")]
    assert reads == expected_reads(NODE_PLAN, "read-binary")
    assert len(out) == 2 * len(NODE_PLAN)


# pgjdbc: PreparedStatements with setLong, setInt and setString (pgjdbc binds
# int8 and int4 in binary format), run often enough to become server-prepared.

JDBC_PLAN = make_plan("jdbc", 3000, [("setlong", 16), ("setint", 12)], [("setstring", 12)])
JDBC_TX_PLAN = make_plan("jdbc", 3100, [("tx", 20)], [("tx", 12)], first_tenant=100)


def run_jdbc(layout, plan):
    return run_driver(["java", "-cp", PGJDBC_JAR, str(JDBC_PLACE)], layout, plan_text(plan))


def test_pgjdbc_prepared_statements_land_on_the_hash_shard(layout):
    out = run_jdbc(layout, JDBC_PLAN)
    assert_placed(layout, JDBC_PLAN)
    assert sorted(line for line in out if line.startswith("server-prepared ")) == [
        "server-prepared tenants setstring true", "server-prepared users setint true",
        "server-prepared users setlong true"]
    reads = [line for line in out if line.startswith("read-auto ")]
    assert reads == expected_reads(JDBC_PLAN, "read-auto")


def test_pgjdbc_autocommit_off_commit_per_row_lands_on_the_hash_shard(layout):
    """pgjdbc sends BEGIN in the same pipeline as each transaction's first statement."""
    out = run_jdbc(layout, JDBC_TX_PLAN)
    assert_placed(layout, JDBC_TX_PLAN)
    assert sorted(line for line in out if line.startswith("server-prepared ")) == [
        "server-prepared tenants tx true", "server-prepared users tx true"]
    reads = [line for line in out if line.startswith("read-auto ")]
    assert reads == expected_reads(JDBC_TX_PLAN, "read-auto")
    reads = [line for line in out if line.startswith("read-tx ")]
    assert reads == expected_reads(JDBC_TX_PLAN, "read-tx")
