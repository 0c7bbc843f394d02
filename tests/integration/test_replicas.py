"""Reads spread over replicas (issue 4) on real streaming replicas: the topology
replicas.toml (s0-primary, s0-replica1, s0-replica2) and, for failover, failover.toml
(s0-primary, s0-replica1). Where a statement ran is read back as inet_server_port().

Tests that stop, kill or delay a node restore it in a finally block and wait until
it streams from its primary again."""
import collections
import contextlib
import os
import re
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import (BIN, DEMO_VERIFIER, ReplicaRouter, assert_serving, cluster, node_sql,
                      topology_nodes, wait_for)

PORT_QUERY = "SELECT inet_server_port()"


# ------------------------------------------------------------------ cluster helpers

def lsn_value(text):
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def wait_replayed(nodes, seconds=30):
    """Waits until every running replica has replayed the primary's current WAL position."""
    target = lsn_value(node_sql(nodes["s0-primary"], "SELECT pg_current_wal_lsn()").strip())
    deadline = time.monotonic() + seconds
    for node in nodes.values():
        if node["role"] != "replica":
            continue
        while True:
            replayed = node_sql(node, "SELECT pg_last_wal_replay_lsn()").strip()
            if replayed and lsn_value(replayed) >= target:
                break
            assert time.monotonic() < deadline, f"{node['name']} did not replay {target:X}"
            time.sleep(0.05)


def wait_streaming(nodes, name, seconds=60):
    """Waits until replica `name` streams from its primary."""
    query = f"SELECT state FROM pg_stat_replication WHERE application_name = '{name}'"
    deadline = time.monotonic() + seconds
    while node_sql(nodes["s0-primary"], query).strip() != "streaming":
        assert time.monotonic() < deadline, f"{name} does not stream again"
        time.sleep(0.1)


@contextlib.contextmanager
def node_down(nodes, name, how="stop-node"):
    """Stops (or kills) a replica for the block; then starts it and waits until it streams."""
    cluster("replicas", how, name)
    try:
        yield
    finally:
        cluster("replicas", "start-node", name)
        wait_streaming(nodes, name)


@contextlib.contextmanager
def apply_delay(nodes, name, delay):
    """recovery_min_apply_delay on a replica for the block; then reset and caught up."""
    node = nodes[name]
    node_sql(node, f"ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'")
    node_sql(node, "SELECT pg_reload_conf()")
    try:
        yield
    finally:
        node_sql(node, "ALTER SYSTEM RESET recovery_min_apply_delay")
        node_sql(node, "SELECT pg_reload_conf()")
        wait_streaming(nodes, name)
        wait_replayed(nodes)


def direct(node, **kwargs):
    """A connection as demo straight to a node."""
    return psycopg.connect(f"host=127.0.0.1 port={node['port']} user=demo password=demo "
                           "dbname=demo", autocommit=True, connect_timeout=10, **kwargs)


def pgbench(port, *args, timeout=120):
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")
    return subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "demo", *args,
                           "demo"], env=env, capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def nodes():
    """The replicas topology, running, every replica streaming."""
    nodes = topology_nodes("replicas")
    for name in ("s0-replica1", "s0-replica2"):
        wait_streaming(nodes, name)
    return nodes


@pytest.fixture(scope="module")
def ports(nodes):
    return {name: node["port"] for name, node in nodes.items()}


@pytest.fixture(scope="module")
def schema(nodes):
    """Tables owned by demo on the primary, replayed by both replicas: rw_items (written
    by the tests), rw_jobs (ten 'new' jobs), sequence rw_seq, a function rw_note(text)
    that inserts into rw_items, and pgbench's tables at scale 1."""
    with direct(nodes["s0-primary"]) as conn:
        conn.execute("DROP TABLE IF EXISTS rw_items, rw_jobs CASCADE")
        conn.execute("DROP SEQUENCE IF EXISTS rw_seq")
        conn.execute("CREATE TABLE rw_items (id bigserial PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE rw_jobs (id int PRIMARY KEY, state text)")
        conn.execute("INSERT INTO rw_jobs SELECT g, 'new' FROM generate_series(1, 10) g")
        conn.execute("CREATE SEQUENCE rw_seq")
        conn.execute("CREATE OR REPLACE FUNCTION rw_note(text) RETURNS bigint LANGUAGE sql"
                     " AS $$ INSERT INTO rw_items (v) VALUES ($1) RETURNING id $$")
        conn.execute("CREATE OR REPLACE FUNCTION rw_port() RETURNS int LANGUAGE sql STABLE"
                     " AS $$ SELECT inet_server_port() $$")
    out = pgbench(nodes["s0-primary"]["port"], "-i", "-s", "1", "-q")
    assert out.returncode == 0, out.stderr
    wait_replayed(nodes)


@pytest.fixture
def make_router(workdir, nodes, schema):
    """Starts routers over the replicas topology (options as render_replica_config) and
    waits until the replicas named in `up` have passed their first health check."""
    started = []

    def make(up=("s0-replica1", "s0-replica2"), **options):
        r = ReplicaRouter(workdir, nodes, **options)
        started.append(r)
        r.start()
        for name in up:
            r.wait_log(f"node={name} passed its health check")
        return r

    yield make
    for r in started:
        r.stop()


def read_ports(router, count, fresh=False, sql=PORT_QUERY, **connect):
    """The node port of each of `count` reads, on one connection or each on a new one."""
    out = []
    if fresh:
        for _ in range(count):
            with router.connect(**connect) as conn:
                out.append(conn.execute(sql).fetchone()[0])
        return out
    with router.connect(**connect) as conn:
        for _ in range(count):
            out.append(conn.execute(sql).fetchone()[0])
    return out


def wait_for_reads_on(router, port, seconds, what):
    """Reads on new connections until one is answered by `port`; each read must succeed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port in read_ports(router, 4, fresh=True):
            return
        time.sleep(0.1)
    raise AssertionError(f"no read reached {what} within {seconds} s")


def log_lines(router, pattern, since=0):
    """Lines of the router's log (from character `since`) that match `pattern`."""
    return [line for line in router.log_text()[since:].splitlines() if re.search(pattern, line)]


# ------------------------------------------------------------------ 1. policies

def test_round_robin_alternates_between_the_replicas(make_router, ports):
    r = make_router(reads='policy = "round_robin"')
    seen = read_ports(r, 60)
    assert collections.Counter(seen) == {ports["s0-replica1"]: 30, ports["s0-replica2"]: 30}
    assert all(a != b for a, b in zip(seen, seen[1:])), seen
    fresh = collections.Counter(read_ports(r, 40, fresh=True))
    assert fresh == {ports["s0-replica1"]: 20, ports["s0-replica2"]: 20}


def test_include_primary_makes_the_primary_one_of_three_readers(make_router, ports):
    r = make_router(reads='policy = "round_robin"\ninclude_primary = true')
    seen = collections.Counter(read_ports(r, 60))
    assert seen == {ports["s0-primary"]: 20, ports["s0-replica1"]: 20, ports["s0-replica2"]: 20}


def test_weighted_reads_follow_the_weights(make_router, ports):
    r = make_router(reads='policy = "weighted"', weights={"s0-replica1": 3, "s0-replica2": 1})
    seen = read_ports(r, 60)
    assert collections.Counter(seen) == {ports["s0-replica1"]: 45, ports["s0-replica2"]: 15}
    # Smoothly interleaved: every four reads hold one on replica2.
    for i in range(0, 60, 4):
        assert seen[i:i + 4].count(ports["s0-replica2"]) == 1, seen


def test_least_connections_avoids_the_replica_with_a_client_attached(make_router, ports):
    r = make_router(reads='policy = "least_connections"')
    replicas = {ports["s0-replica1"], ports["s0-replica2"]}
    assert set(read_ports(r, 20)) == replicas  # ties go round
    with r.connect() as holder:
        holder.execute("BEGIN READ ONLY")
        held = holder.execute(PORT_QUERY).fetchone()[0]
        assert held in replicas
        assert set(read_ports(r, 20, fresh=True)) == replicas - {held}
        holder.execute("COMMIT")
    assert set(read_ports(r, 20)) == replicas


def test_random_reaches_both_replicas_and_never_the_primary(make_router, ports):
    r = make_router(reads='policy = "random"')
    seen = collections.Counter(read_ports(r, 60))
    assert set(seen) == {ports["s0-replica1"], ports["s0-replica2"]}, seen


def test_client_hash_by_address_keeps_a_client_on_one_replica(make_router, ports):
    r = make_router(reads='policy = "client_hash"\nclient_hash = "address"')
    seen = set(read_ports(r, 20, fresh=True)) | set(read_ports(r, 20))
    assert len(seen) == 1, seen
    assert seen < {ports["s0-replica1"], ports["s0-replica2"]}


HASH_USERS = [f"sl_hash_{i}" for i in range(8)]


@pytest.fixture(scope="module")
def hash_users(nodes):
    """Login roles sl_hash_0..7 (password "hash") on the primary, replayed by the replicas."""
    for name in HASH_USERS:
        node_sql(nodes["s0-primary"],
                 f"DO $$ BEGIN CREATE ROLE {name} LOGIN PASSWORD 'hash'; "
                 "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    wait_replayed(nodes)
    return HASH_USERS


def test_client_hash_by_user_keeps_every_connection_of_a_user_on_one_replica(
        make_router, ports, hash_users):
    users = [{"name": "demo", "password": DEMO_VERIFIER, "backend_password": "demo"}]
    users += [{"name": u, "password": "", "auth": "trust", "backend_password": "hash"}
              for u in hash_users]
    r = make_router(reads='policy = "client_hash"\nclient_hash = "user"', users=users)
    replicas = {ports["s0-replica1"], ports["s0-replica2"]}

    # TCP and Unix-socket connections of demo: one replica.
    tcp = read_ports(r, 10, fresh=True)
    unix = []
    for _ in range(10):
        with psycopg.connect(host=r.socket_dir, port=r.port, user="demo", password="demo",
                             dbname="demo", autocommit=True) as conn:
            unix.append(conn.execute(PORT_QUERY).fetchone()[0])
    assert len(set(tcp + unix)) == 1 and set(tcp) < replicas, (tcp, unix)

    # Each user sticks to its replica; eight users do not all land on the same one.
    chosen = {}
    for user in hash_users:
        seen = set(read_ports(r, 5, fresh=True, user=user, password=None))
        assert len(seen) == 1 and seen < replicas, (user, seen)
        chosen[user] = seen.pop()
    assert set(chosen.values()) == replicas, chosen


def test_policy_primary_keeps_reads_on_the_primary(make_router, ports):
    r = make_router(reads='policy = "primary"')
    assert set(read_ports(r, 20)) == {ports["s0-primary"]}


def test_role_replica_hint_reaches_a_replica_under_policy_primary(make_router, ports):
    r = make_router(reads='policy = "primary"')
    hinted = read_ports(r, 10, sql="/* shardline: role=replica */ " + PORT_QUERY)
    assert set(hinted) <= {ports["s0-replica1"], ports["s0-replica2"]}, hinted


def test_override_by_database_applies_to_its_database_only(make_router, ports):
    override = ('[[reads.override]]\ndatabase = "demo"\npolicy = "primary"\n'
                '[[reads.override]]\nshard = "s0"\ndatabase = "postgres"\npolicy = "weighted"\n')
    r = make_router(reads='policy = "round_robin"', extra=override)
    assert set(read_ports(r, 10)) == {ports["s0-primary"]}
    # The database "postgres" takes the second override: weighted, equal weights.
    seen = collections.Counter(read_ports(r, 10, dbname="postgres"))
    assert seen == {ports["s0-replica1"]: 5, ports["s0-replica2"]: 5}


def test_writes_reach_only_the_primary(make_router, ports):
    r = make_router(reads='policy = "round_robin"\ninclude_primary = false')
    seen = []
    with r.connect() as conn:
        for i in range(10):
            seen.append(conn.execute("INSERT INTO rw_items (v) VALUES (%s) "
                                     "RETURNING inet_server_port()", (f"w{i}",)).fetchone()[0])
            seen.append(conn.execute("UPDATE rw_items SET v = v WHERE v = 'w0' "
                                     "RETURNING inet_server_port()").fetchone()[0])
    for i in range(10):
        with r.connect() as conn:
            seen.append(conn.execute(f"DELETE FROM rw_items WHERE v = 'w{i}' "
                                     "RETURNING inet_server_port()").fetchone()[0])
    assert set(seen) == {ports["s0-primary"]}


# ------------------------------------------------------------------ 2. read classification

@pytest.fixture(scope="module")
def classifier(workdir, nodes, schema):
    """A round-robin router without read-your-writes: where a statement runs depends on
    its classification alone."""
    r = ReplicaRouter(workdir, nodes, reads='policy = "round_robin"\nread_your_writes = "off"')
    r.start()
    for name in ("s0-replica1", "s0-replica2"):
        r.wait_log(f"node={name} passed its health check")
    yield r
    r.stop()


def where(ports, port):
    if port == ports["s0-primary"]:
        return "primary"
    if port in (ports["s0-replica1"], ports["s0-replica2"]):
        return "replica"
    return f"port {port}"


def last_row(cursor):
    row = cursor.fetchone()
    while cursor.nextset():
        row = cursor.fetchone()
    return row


STATEMENTS = [
    # (case, statement whose result's first column is inet_server_port(), expected node)
    ("plain SELECT", "SELECT inet_server_port()", "replica"),
    ("SHOW", "SHOW port", "replica"),
    ("VALUES", "VALUES (inet_server_port())", "replica"),
    ("TABLE in a subquery", "SELECT inet_server_port() FROM (TABLE rw_jobs) j LIMIT 1", "replica"),
    ("array operator &&", "SELECT inet_server_port() WHERE ARRAY[1] && ARRAY[1]", "replica"),
    ("R1 writing CTE",
     "WITH t AS (UPDATE rw_jobs SET state = 'new' WHERE id = 1 RETURNING id) "
     "SELECT inet_server_port() FROM t", "primary"),
    ("R1 writing CTE, INSERT",
     "WITH t AS (INSERT INTO rw_items (v) VALUES ('cte') RETURNING id) "
     "SELECT inet_server_port() FROM t", "primary"),
    ("R2 FOR NO KEY UPDATE SKIP LOCKED",
     "SELECT inet_server_port() FROM rw_jobs WHERE state = 'new' "
     "FOR NO KEY UPDATE SKIP LOCKED LIMIT 1", "primary"),
    ("FOR SHARE", "SELECT inet_server_port() FROM rw_jobs WHERE id = 2 FOR SHARE", "primary"),
    ("lock in a subquery",
     "SELECT inet_server_port() FROM (SELECT id FROM rw_jobs WHERE id = 3 FOR UPDATE) j",
     "primary"),
    ("FOR UPDATE OF ... NOWAIT",
     "SELECT inet_server_port() FROM rw_jobs WHERE id = 5 FOR UPDATE OF rw_jobs NOWAIT",
     "primary"),
    ("nextval", "SELECT inet_server_port(), nextval('rw_seq')", "primary"),
    ("qualified nextval", "SELECT inet_server_port(), pg_catalog.nextval('rw_seq')", "primary"),
    ("nextval in a subquery", "SELECT inet_server_port() FROM (SELECT nextval('rw_seq')) s",
     "primary"),
    ("setval", "SELECT inet_server_port(), setval('rw_seq', 100)", "primary"),
    ("pg_advisory_xact_lock", "SELECT inet_server_port(), pg_advisory_xact_lock(7)", "primary"),
    ("pg_advisory_lock",
     "SELECT inet_server_port(), pg_advisory_lock(7), pg_advisory_unlock(7)", "primary"),
    ("pg_try_advisory_lock",
     "SELECT inet_server_port(), pg_try_advisory_lock(8), pg_advisory_unlock(8)", "primary"),
    ("pg_notify", "SELECT inet_server_port(), pg_notify('rw_channel', 'x')", "primary"),
    ("set_config", "SELECT inet_server_port(), set_config('app.x', '1', false)", "primary"),
    ("txid_current", "SELECT inet_server_port(), txid_current()", "primary"),
    ("hint role=primary", "/* shardline: role=primary */ SELECT inet_server_port()", "primary"),
    ("hint role=replica", "/* shardline: role=replica */ SELECT inet_server_port()", "replica"),
    ("reads then a write in one query",
     "SELECT 1; INSERT INTO rw_items (v) VALUES ('multi') RETURNING inet_server_port()",
     "primary"),
    ("two reads in one query", "SELECT 1; SELECT inet_server_port()", "replica"),
    # R4: a user's function that may write (volatile, outside pg_catalog, as the catalog
    # says) makes the read a write; a stable one cannot write, so the read stays a read.
    ("R4 user function that writes", "SELECT inet_server_port(), rw_note('fn')", "primary"),
    ("R4 user function that writes, with role=primary",
     "/* shardline: role=primary */ SELECT inet_server_port(), rw_note('fn')", "primary"),
    ("R4 stable user function", "SELECT inet_server_port(), rw_port()", "replica"),
    ("volatile built-in that writes nothing", "SELECT inet_server_port(), random()", "replica"),
]


@pytest.mark.parametrize("case,sql,expected", STATEMENTS, ids=[s[0] for s in STATEMENTS])
def test_statement_runs_where_its_class_says(classifier, ports, case, sql, expected):
    with classifier.connect() as conn:
        port = int(last_row(conn.execute(sql))[0])
    assert where(ports, port) == expected


EXTENDED = [
    ("read with a parameter", "SELECT inet_server_port() WHERE %s = 1", (1,), "replica"),
    ("nextval of a parameter", "SELECT inet_server_port(), nextval(%s)", ("rw_seq",), "primary"),
    ("locking read with a parameter",
     "SELECT inet_server_port() FROM rw_jobs WHERE id = %s FOR UPDATE", (4,), "primary"),
    ("INSERT with a parameter",
     "INSERT INTO rw_items (v) VALUES (%s) RETURNING inet_server_port()", ("ext",), "primary"),
]


@pytest.mark.parametrize("case,sql,params,expected", EXTENDED, ids=[e[0] for e in EXTENDED])
def test_extended_protocol_statement_runs_where_its_class_says(classifier, ports, case, sql,
                                                               params, expected):
    # Eight executions: psycopg prepares the statement from the fifth on.
    seen = []
    with classifier.connect() as conn:
        for _ in range(8):
            seen.append(where(ports, conn.execute(sql, params).fetchone()[0]))
    assert set(seen) == {expected}


def test_prepared_read_runs_on_both_replicas(classifier, ports):
    seen = set()
    with classifier.connect() as conn:
        for i in range(10):
            seen.add(conn.execute("SELECT inet_server_port() WHERE %s > 0", (i + 1,),
                                  prepare=True).fetchone()[0])
    assert seen == {ports["s0-replica1"], ports["s0-replica2"]}


def test_bad_role_hint_is_refused(classifier):
    with classifier.connect() as conn:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("/* shardline: role=bogus */ SELECT 1")
        assert failure.value.sqlstate == "SL006"
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_explain_analyze_delete_runs_on_the_primary(classifier, nodes):
    with direct(nodes["s0-primary"]) as conn:
        conn.execute("INSERT INTO rw_items (v) VALUES ('explain-me')")
    wait_replayed(nodes)
    with classifier.connect() as conn:
        conn.execute("EXPLAIN ANALYZE DELETE FROM rw_items WHERE v = 'explain-me'").fetchall()
        conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) INSERT INTO rw_items (v) "
                     "VALUES ('explained')").fetchall()
        # On a replica this would fail: cannot execute nextval() in a read-only transaction.
        conn.execute("EXPLAIN ANALYZE SELECT nextval('rw_seq')").fetchall()
        # EXPLAIN without ANALYZE writes nothing: any node may answer.
        conn.execute("EXPLAIN DELETE FROM rw_items WHERE v = 'explained'").fetchall()
    with direct(nodes["s0-primary"]) as conn:
        rows = conn.execute("SELECT v, count(*) FROM rw_items WHERE v IN "
                            "('explain-me', 'explained') GROUP BY v").fetchall()
    assert rows == [("explained", 1)]


def test_do_block_runs_on_the_primary(classifier, nodes):
    with classifier.connect() as conn:
        conn.execute("DO $$ BEGIN INSERT INTO rw_items (v) VALUES ('from-do'); END $$")
    with direct(nodes["s0-primary"]) as conn:
        assert conn.execute("SELECT count(*) FROM rw_items WHERE v = 'from-do'").fetchone() == (1,)


TRANSACTIONS = [
    ("BEGIN READ ONLY", ["BEGIN READ ONLY"], "replica"),
    ("START TRANSACTION READ ONLY", ["START TRANSACTION READ ONLY"], "replica"),
    ("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
     ["BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"], "replica"),
    ("SET TRANSACTION READ ONLY", ["BEGIN", "SET TRANSACTION READ ONLY"], "replica"),
    ("plain BEGIN", ["BEGIN"], "primary"),
    ("BEGIN READ WRITE", ["BEGIN READ WRITE"], "primary"),
    ("SET TRANSACTION READ WRITE", ["BEGIN", "SET TRANSACTION READ WRITE"], "primary"),
]


@pytest.mark.parametrize("protocol", ["simple", "extended"])
@pytest.mark.parametrize("case,opening,expected", TRANSACTIONS, ids=[t[0] for t in TRANSACTIONS])
def test_transaction_runs_where_its_access_mode_says(make_router, ports, case, opening,
                                                     expected, protocol):
    # A router of its own: SET TRANSACTION READ WRITE spoils later clients' reads (see
    # test_set_transaction_read_write_leaves_other_clients_reads_on_replicas).
    r = make_router(reads='policy = "round_robin"\nread_your_writes = "off"')
    binary = protocol == "extended"  # psycopg sends binary-result queries as Parse/Bind/Execute
    with r.connect() as conn:
        for sql in opening:
            conn.execute(sql, binary=binary)
        seen = {conn.execute(PORT_QUERY, binary=binary).fetchone()[0] for _ in range(3)}
        conn.execute("COMMIT", binary=binary)
    assert len(seen) == 1, seen  # a transaction stays on one node
    assert where(ports, seen.pop()) == expected


def test_set_transaction_read_write_leaves_other_clients_reads_on_replicas(make_router, ports):
    r = make_router(reads='policy = "round_robin"\nread_your_writes = "off"')
    with r.connect() as first:
        first.execute("BEGIN")
        first.execute("SET TRANSACTION READ WRITE")
        first.execute("SELECT 1")
        first.execute("COMMIT")
    assert set(read_ports(r, 10)) == {ports["s0-replica1"], ports["s0-replica2"]}


def test_driver_read_only_transaction_runs_on_a_replica(classifier, ports):
    with psycopg.connect(classifier.dsn(), autocommit=False) as conn:
        conn.read_only = True
        with conn.transaction():
            port = conn.execute(PORT_QUERY).fetchone()[0]
    assert where(ports, port) == "replica"


def test_write_in_a_read_only_transaction_fails_as_in_postgres(classifier):
    with classifier.connect() as conn:
        conn.execute("BEGIN READ ONLY")
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("INSERT INTO rw_items (v) VALUES ('ro')")
        assert failure.value.sqlstate == "25006"
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("protocol", ["simple", "extended", "prepared"])
def test_pgbench_tpcb_runs_without_errors_with_reads_spread(classifier, nodes, protocol):
    """R3: BEGIN; UPDATE; SELECT; UPDATE; UPDATE; INSERT; END, all on the primary."""
    with direct(nodes["s0-primary"]) as conn:
        before = conn.execute("SELECT count(*) FROM pgbench_history").fetchone()[0]
    out = pgbench(classifier.port, "-n", "-M", protocol, "-c", "4", "-j", "2", "-t", "50")
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert re.search(r"^number of failed transactions: 0 \(", out.stdout, re.M), report
    assert re.search(r"^number of transactions actually processed: 200/200$", out.stdout,
                     re.M), report
    with direct(nodes["s0-primary"]) as conn:
        after = conn.execute("SELECT count(*) FROM pgbench_history").fetchone()[0]
    assert after - before == 200


# ------------------------------------------------------------------ 3. a replica killed

class Loop:
    """Runs self.run() on `threads` daemon threads while in a `with` block; run() loops until
    self.stopping is set."""

    def __init__(self, threads=1, join_seconds=20):
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        self.join_seconds = join_seconds

    def run(self):
        raise NotImplementedError

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(self.join_seconds)


class ReadLoad(Loop):
    """Threads reading inet_server_port() through a router in a loop, each on its own
    connection (a new one after a failure); every read's start, end, port or error."""

    def __init__(self, router, threads=4):
        super().__init__(threads)
        self.router = router
        self.results = []  # (started, ended, port or None, error or None)

    def run(self):
        conn = None
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                if conn is None:
                    conn = self.router.connect()
                port = conn.execute(PORT_QUERY).fetchone()[0]
                self.results.append((started, time.monotonic(), port, None))
            except psycopg.Error as e:
                self.results.append((started, time.monotonic(), None,
                                     f"{e.sqlstate}: {str(e).splitlines()[0]}"))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def test_killed_replica_fails_no_read_started_after_the_kill(make_router, nodes, ports):
    r = make_router(reads='policy = "round_robin"')
    try:
        with ReadLoad(r) as load:
            time.sleep(1)
            killing = time.monotonic()
            cluster("replicas", "kill", "s0-replica1")
            killed = time.monotonic()
            time.sleep(2)
        in_flight = [x for x in load.results if x[3] and x[0] <= killed]
        after = [x for x in load.results if x[0] > killed]
        print(f"kill took {killed - killing:.2f} s; {len(in_flight)} reads in flight failed:",
              sorted({x[3] for x in in_flight}))
        assert [x for x in after if x[3]] == []
        assert len(after) > 100
        assert {x[2] for x in after} == {ports["s0-replica2"]}

        cluster("replicas", "start-node", "s0-replica1")
        wait_for_reads_on(r, ports["s0-replica1"], 30, "the restarted s0-replica1")
    finally:
        cluster("replicas", "start-node", "s0-replica1")
        wait_streaming(nodes, "s0-replica1")


def test_pgbench_select_only_through_a_replica_kill(make_router, nodes, record_property):
    """pgbench -S through the router while a replica is killed: reported, not asserted
    (a read in flight at the kill fails, and pgbench aborts that client)."""
    r = make_router(reads='policy = "round_robin"')
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")
    bench = subprocess.Popen(
        ["pgbench", "-h", "127.0.0.1", "-p", str(r.port), "-U", "demo", "-n", "-S", "-c", "4",
         "-j", "2", "-T", "6", "demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        time.sleep(2)
        with node_down(nodes, "s0-replica1", how="kill"):
            stdout, stderr = bench.communicate(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    summary = [line for line in (stdout + stderr).splitlines()
               if re.search(r"processed|failed|aborted|tps|error", line)]
    print(f"pgbench -S exit {bench.returncode}:", *summary, sep="\n  ")
    record_property("pgbench_select_only_kill", {"exit": bench.returncode, "summary": summary})
    assert_serving(r)


# ------------------------------------------------------------------ 4. health and ejection

def test_router_starts_and_serves_with_a_replica_down(make_router, nodes, ports):
    """R7."""
    with node_down(nodes, "s0-replica2"):
        r = make_router(reads='policy = "round_robin"', up=("s0-replica1",))
        assert set(read_ports(r, 20, fresh=True)) == {ports["s0-replica1"]}
        cluster("replicas", "start-node", "s0-replica2")
        wait_for_reads_on(r, ports["s0-replica2"], 30, "s0-replica2 once started")


def test_replica_refusing_connections_is_ejected_at_once(make_router, nodes, ports):
    """R6: with checks a minute apart, the first read that cannot connect ejects it."""
    r = make_router(reads='policy = "round_robin"', health="interval_ms = 60000",
                    log_level="debug")
    assert set(read_ports(r, 10)) == {ports["s0-replica1"], ports["s0-replica2"]}
    with node_down(nodes, "s0-replica2"):
        started = time.monotonic()
        seen = read_ports(r, 20, fresh=True) + read_ports(r, 20)
        took = time.monotonic() - started
        assert set(seen) == {ports["s0-replica1"]}
        tries = log_lines(r, r"node=s0-replica2 failed before the read was sent")
        assert len(tries) == 1, tries
        assert took < 10, f"40 reads took {took:.1f} s"


def test_ejected_replica_still_down_after_its_ban_gets_no_reads(make_router, nodes, ports):
    """R8: ban_ms 2000; a node still down when its ban ends is checked, not tried."""
    r = make_router(reads='policy = "round_robin"', health="interval_ms = 200\nban_ms = 2000",
                    log_level="debug")
    with node_down(nodes, "s0-replica2"):
        r.wait_log("node=s0-replica2 failed its health check", 10)
        time.sleep(3)  # past the ban
        mark = len(r.log_text())
        seen = read_ports(r, 20, fresh=True) + read_ports(r, 20)
        assert set(seen) == {ports["s0-replica1"]}
        assert log_lines(r, r"node=s0-replica2 (failed before the read|passed)", mark) == []
        cluster("replicas", "start-node", "s0-replica2")
        wait_for_reads_on(r, ports["s0-replica2"], 30, "s0-replica2 once started")
        assert log_lines(r, r"node=s0-replica2 passed its health check", mark)


# ------------------------------------------------------------------ 5. a delayed replica

def read_back(conn, row_id):
    """(v of rw_items row `row_id` or None, the port that answered)."""
    return conn.execute("SELECT (SELECT v FROM rw_items WHERE id = %s), inet_server_port()",
                        (row_id,)).fetchone()


def write_and_read_back(r, label, next_connection, writes=20):
    """Inserts `writes` rows through router `r`, reading each back at once, then three times
    100 ms apart: on the writing connection, or with `next_connection` on a new connection
    opened after the writing one closed. Every read must see the row. Returns the ports that
    answered the reads."""
    read_on = []

    def read_each(conn, row_id, i):
        for attempt in range(4):
            time.sleep(0.1 if attempt else 0)
            value, port = read_back(conn, row_id)
            assert value == f"{label}{i}", f"write {i}, read {attempt}: not seen on {port}"
            read_on.append(port)

    def insert(conn, i):
        return conn.execute("INSERT INTO rw_items (v) VALUES (%s) RETURNING id",
                            (f"{label}{i}",)).fetchone()[0]

    if next_connection:
        for i in range(writes):
            with r.connect() as first:
                row_id = insert(first, i)
            with r.connect() as second:
                read_each(second, row_id, i)
    else:
        with r.connect() as conn:
            for i in range(writes):
                read_each(conn, insert(conn, i), i)
    return read_on


def test_own_writes_are_read_back_with_a_replica_three_seconds_behind(make_router, nodes,
                                                                      ports):
    # Checks every 100 ms: once a check sees the write replayed on replica2, it may serve.
    r = make_router(reads='policy = "round_robin"\nread_your_writes = "session"',
                    health="interval_ms = 100")
    with apply_delay(nodes, "s0-replica1", "3s"):
        # The delay is in effect: a row written on the primary is not on replica1 yet.
        with direct(nodes["s0-primary"]) as conn:
            probe = conn.execute("INSERT INTO rw_items (v) VALUES ('probe') RETURNING id")
            probe = probe.fetchone()[0]
        with direct(nodes["s0-replica1"]) as conn:
            assert conn.execute("SELECT 1 FROM rw_items WHERE id = %s", (probe,)).fetchall() == []

        # Each write is read back at once, then three times 100 ms apart.
        read_on = write_and_read_back(r, "ryw", next_connection=False)
        print("own reads:", collections.Counter(read_on))
        assert set(read_on) <= {ports["s0-primary"], ports["s0-replica2"]}
        assert ports["s0-replica2"] in read_on


def test_other_clients_keep_reading_from_a_delayed_replica(make_router, nodes, ports):
    """Read-your-writes per session: one client's writes do not take the delayed replica
    away from a client that wrote nothing."""
    r = make_router(reads='policy = "round_robin"\nread_your_writes = "session"',
                    health="interval_ms = 100")
    with apply_delay(nodes, "s0-replica1", "3s"):
        with r.connect() as writer, r.connect() as reader:
            seen = []
            for i in range(20):
                writer.execute("INSERT INTO rw_items (v) VALUES (%s)", (f"other{i}",))
                seen.append(reader.execute(PORT_QUERY).fetchone()[0])
        assert collections.Counter(seen) == {ports["s0-replica1"]: 10, ports["s0-replica2"]: 10}


class Writer(Loop):
    """Inserts rows straight on the primary every 50 ms until stopped."""

    def __init__(self, node):
        super().__init__(join_seconds=10)
        self.node = node

    def run(self):
        with direct(self.node) as conn:
            while not self.stopping.is_set():
                conn.execute("INSERT INTO rw_items (v) SELECT 'steady' FROM generate_series(1, 10)")
                time.sleep(0.05)


def test_replica_over_max_lag_gets_no_reads_until_it_catches_up(make_router, nodes, ports):
    by_time = make_router(reads='policy = "round_robin"\nmax_lag_ms = 1000')
    by_bytes = make_router(reads='policy = "round_robin"\nmax_lag_bytes = 16384')
    with apply_delay(nodes, "s0-replica1", "3s"):
        with Writer(nodes["s0-primary"]):
            for r in (by_time, by_bytes):
                r.wait_log("node=s0-replica1 is over its lag limit", 15)
            for r in (by_time, by_bytes):
                seen = read_ports(r, 30) + read_ports(r, 10, fresh=True)
                assert set(seen) <= {ports["s0-replica2"], ports["s0-primary"]}, seen
        # Writes stopped: replica1 replays the last of them three seconds later.
        for r in (by_time, by_bytes):
            r.wait_log("node=s0-replica1 is back within its lag limit", 15)
            wait_for_reads_on(r, ports["s0-replica1"], 5, "s0-replica1 back within its limit")


def test_read_your_writes_user_covers_the_next_connection(make_router, nodes, ports):
    """R10: request 1 inserts and disconnects, request 2 connects at once and reads."""
    r = make_router(reads='policy = "round_robin"\nread_your_writes = "user"', workers=2,
                    health="interval_ms = 100")
    with apply_delay(nodes, "s0-replica1", "3s"):
        read_on = write_and_read_back(r, "user", next_connection=True)
        print("next connection's reads:", collections.Counter(read_on))
        assert set(read_on) <= {ports["s0-primary"], ports["s0-replica2"]}
        assert ports["s0-replica2"] in read_on


def test_new_client_reads_from_replicas_while_the_primary_is_down(make_router, nodes, ports):
    r = make_router(reads='policy = "round_robin"\nread_your_writes = "off"')
    cluster("replicas", "stop-node", "s0-primary")
    try:
        wait_for(lambda: log_lines(r, r"node=s0-primary failed its health check"), 5,
                 "the router to take s0-primary out")
        with r.connect() as conn:
            port = conn.execute(PORT_QUERY).fetchone()[0]
        assert port in (ports["s0-replica1"], ports["s0-replica2"])
    finally:
        cluster("replicas", "start-node", "s0-primary")
        for name in ("s0-replica1", "s0-replica2"):
            wait_streaming(nodes, name)


# ------------------------------------------------------------------ 6. failover

class WriteLoad(Loop):
    """Inserts numbered rows through a router in a loop, a new connection after a failure;
    every write's start, end, port or SQLSTATE."""

    def __init__(self, router):
        super().__init__()
        self.router = router
        self.results = []  # (id, started, ended, port or None, sqlstate or "connection")

    def run(self):
        conn = None
        number = 0
        while not self.stopping.is_set():
            number += 1
            started = time.monotonic()
            try:
                if conn is None:
                    conn = self.router.connect()
                port = conn.execute(f"INSERT INTO fo_writes (id) VALUES ({number}) "
                                    "RETURNING inet_server_port()").fetchone()[0]
                self.results.append((number, started, time.monotonic(), port, None))
            except psycopg.Error as e:
                self.results.append((number, started, time.monotonic(), None,
                                     e.sqlstate or f"connection: {str(e).splitlines()[0]}"))
                if conn is not None and conn.closed:
                    conn = None
            time.sleep(0.02)
        if conn is not None:
            conn.close()


def timed(fn):
    """(fn()'s result or the psycopg.Error it raised, seconds it took)."""
    started = time.monotonic()
    try:
        outcome = fn()
    except psycopg.Error as e:
        outcome = e
    return outcome, time.monotonic() - started


def test_failover_writes_resume_on_the_promoted_replica(workdir, record_property):
    """R9: stop the primary, promote the replica: writes resume there, no acknowledged
    write is lost, and the old primary, back on the old timeline, gets no writes."""
    cluster("failover", "stop", "--purge")
    cluster("failover", "start", timeout=300)
    r = None
    try:
        nodes = topology_nodes("failover")
        old, new = nodes["s0-primary"], nodes["s0-replica1"]
        node_sql(old, "CREATE TABLE fo_writes (id int PRIMARY KEY); "
                      "GRANT ALL ON fo_writes TO demo")
        wait_replayed(nodes)
        # Read-your-writes per session: the write loop's writes bind no other client's reads.
        r = ReplicaRouter(workdir, nodes,
                          reads='policy = "round_robin"\nread_your_writes = "session"').start()
        r.wait_log("node=s0-replica1 passed its health check")
        idle = r.connect()  # a client that holds no backend while the primary stops

        with WriteLoad(r) as load:
            time.sleep(1)
            cluster("failover", "stop-node", "s0-primary")
            stopped = time.monotonic()
            wait_for(lambda: log_lines(r, r"node=s0-primary (failed its health check|unreachable)"),
                     5, "the router to take s0-primary out")
            # No primary at all: a write fails at once; a read is served by the replica.
            write, write_took = timed(lambda: idle.execute(
                "INSERT INTO fo_writes (id) VALUES (-1)"))
            read, read_took = timed(lambda: idle.execute(PORT_QUERY).fetchone()[0])
            time.sleep(1)
            promoting = time.monotonic()
            cluster("failover", "promote", "s0-replica1")
            promoted = time.monotonic()
            deadline = promoted + 15
            while not any(x[4] is None and x[2] > promoting for x in load.results):
                assert time.monotonic() < deadline, "no write succeeded after the promotion"
                time.sleep(0.01)
            time.sleep(1)
            cluster("failover", "start-node", "s0-primary")
            restarted = time.monotonic()
            r.wait_log("node=s0-primary passed its health check: up as primary", 10)
            time.sleep(1.5)
        idle.close()

        results = load.results
        first_ok = min(x[2] for x in results if x[4] is None and x[2] > promoting)
        figure = first_ok - promoted
        print(f"failover: promote took {promoted - promoting:.3f} s; first write acknowledged "
              f"{first_ok - promoting:.3f} s after promote started, {figure:+.3f} s after it "
              "returned")
        record_property("failover_seconds_after_promote", round(figure, 3))

        assert isinstance(write, psycopg.Error) and write.sqlstate == "57P03", write
        assert write_took < 1
        assert read == new["port"] and read_took < 1, (read, read_took)

        # While no node was primary, the write loop's writes all failed, each within a second.
        window = [x for x in results if stopped < x[1] and x[2] < promoting]
        kinds = collections.Counter((x[4] or "ok")[:90] for x in window)
        print("writes while no primary:", dict(kinds))
        assert window and "ok" not in kinds, kinds
        assert [x for x in window if x[2] - x[1] >= 1] == []

        assert figure < 5

        # No acknowledged write lost; every write after the promotion on the new primary.
        acked = {x[0] for x in results if x[4] is None}
        stored = {int(v) for v in node_sql(new, "SELECT id FROM fo_writes").split()}
        assert acked - stored == set()
        after = [x for x in results if x[4] is None and x[1] > promoting]
        assert {x[3] for x in after} == {new["port"]}
        assert [x for x in after if x[1] > restarted], "no write after the old primary came back"
        last_before = max(x[0] for x in results if x[4] is None and x[2] < stopped)
        on_old = node_sql(old, f"SELECT count(*) FROM fo_writes WHERE id > {last_before}")
        assert on_old.strip() == "0"
    finally:
        if r is not None:
            r.stop()
        cluster("failover", "stop")


# ------------------------------------------------------------------ 7. configuration

READ_CONFIG_ERRORS = [
    ('[reads]\npolicy = "bogus"\n',
     '2: reads.policy: must be one of "primary", "round_robin", "random", '
     '"least_connections", "weighted", "client_hash" (got "bogus")'),
    ('[reads]\nclient_hash = "port"\n', '2: reads.client_hash: '),
    ('[reads]\nread_your_writes = "always"\n', '2: reads.read_your_writes: '),
    ('[reads]\nmax_lag_ms = -1\n', '2: reads.max_lag_ms: '),
    ('[reads]\n[[reads.override]]\npolicy = "random"\n',
     '2: reads.override[0].shard: an override names a shard, a database or both'),
    ('[reads]\n[[reads.override]]\ndatabase = "demo"\npolicy = "bogus"\n',
     '4: reads.override[0].policy: '),
    ('[health]\ninterval_ms = 0\n', '2: health.interval_ms: '),
    ('[health]\nban_sec = 1\n', '2: health.ban_sec: unknown key'),
]


@pytest.mark.parametrize("text,expected", READ_CONFIG_ERRORS,
                         ids=[e[1] for e in READ_CONFIG_ERRORS])
def test_bad_reads_config_is_refused_with_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "shardline.toml"
    path.write_text(text + '[[nodes]]\nname = "s0-primary"\nshard = "s0"\nrole = "primary"\n'
                    'host = "127.0.0.1"\n')
    out = subprocess.run([BIN, "-c", str(path)], capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert out.stderr.splitlines()[0].startswith(f"shardline: {path}:{expected}"), out.stderr
