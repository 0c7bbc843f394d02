"""Wire protocol through the router, message by message, against Postgres itself.

Most tests run the same script twice, once through a transaction-mode router
and once straight to s0-primary, and compare the backend messages (type and
the fields a client reads). Regression tests for the field cases in
shared/cases/protocol.md name the case (P1..P10).
"""
import concurrent.futures
import os
import subprocess
import threading
import time

import psycopg
import pytest

import pgwire
from conftest import direct_dsn, direct_port
from pgwire import (bind, close, copy_data, copy_done, copy_fail, describe, execute, extended,
                    flush, function_call, parse, query, summarize, sync)

HOST = "127.0.0.1"
TABLE = "it_proto_rows"
COPY_TABLE = "it_proto_copy"


def wire(port, **kwargs):
    return pgwire.Conn(HOST, port, **kwargs)


def same_through_router(router, script):
    """Runs script(conn) through the router and directly; asserts equal results."""
    with wire(router.port) as conn:
        through = script(conn)
    with wire(direct_port()) as conn:
        straight = script(conn)
    assert through == straight
    return through


def run_threads(count, target, timeout=120):
    """Runs target(i) in `count` threads; re-raises the first failure."""
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(target, i) for i in range(count)]
        for f in futures:
            f.result(timeout=timeout)


@pytest.fixture(scope="module", autouse=True)
def tables():
    with psycopg.connect(direct_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id int, v text)")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {COPY_TABLE} (id int, v text)")
    yield


def truncate(conn, table=TABLE):
    conn.rows(f"TRUNCATE {table}")


# Startup -----------------------------------------------------------------------------------

def test_startup_parameter_status_as_postgres(router):
    """P3: startup through the router reports the same ParameterStatus names and values."""
    with wire(router.port) as through, wire(direct_port()) as straight:
        assert through.parameters == straight.parameters
        assert through.backend_key is not None
        assert through.startup_messages[-1].body == b"I"


def test_no_backend_at_startup_is_fatal(router_factory):
    """Startup while the pool of 1 is held past checkout_timeout: FATAL 53300 (as Postgres' too-many-clients), then close."""
    r = router_factory(max_size=1, checkout_timeout_ms=300)
    with wire(r.port) as holder:
        holder.simple("BEGIN")
        with pytest.raises(pgwire.ProtocolError) as failure:
            wire(r.port)
        assert "'C': '53300'" in str(failure.value)
        assert "'S': 'FATAL'" in str(failure.value)
        holder.simple("ROLLBACK")


def test_trust_user_starts_and_queries(router_factory):
    """A router user without a password is trusted; the backend still gets demo's password."""
    r = router_factory(users=[{"name": "demo", "backend_password": "demo"}])
    with wire(r.port, password="wrong") as conn:
        methods = [pgwire.summarize_one(m) for m in conn.startup_messages if m.type == "R"]
        assert methods == [("Authentication", 0)]
        assert conn.rows("SELECT current_user") == [["demo"]]


def test_startup_parameters_reach_the_backend(router):
    """Startup application_name and options=-c reach the backend and are reported back."""
    params = {"application_name": "it-start", "options": "-c statement_timeout=4321"}
    with wire(router.port, params=params) as conn:
        assert conn.parameters["application_name"] == "it-start"
        rows = conn.rows("SELECT current_setting('application_name'), "
                         "current_setting('statement_timeout')")
        assert rows == [["it-start", "4321ms"]]


# P1, P2, P4: extended protocol under transaction pooling --------------------------------

def test_p1_begin_extended_select_rollback(router):
    """P1: BEGIN; Parse/Bind/Execute/Sync of SELECT $1::int; ROLLBACK answers at once, as Postgres."""
    def script(conn):
        out = conn.simple("BEGIN")
        start = time.monotonic()
        out += conn.run(extended("SELECT $1::int", ["42"]), sync(), timeout=5)
        assert time.monotonic() - start < 2
        out += conn.simple("ROLLBACK")
        out += conn.simple("SELECT 1")
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["42"]) in out
    assert ("CommandComplete", "ROLLBACK") in out


def test_p2_unnamed_statements_of_concurrent_clients(router_factory):
    """P2: 12 clients on a pool of 3 each Bind their own unnamed statement (3 or 2 params)."""
    r = router_factory(max_size=3)

    def client(n):
        three = n % 2 == 0
        sql = (f"SELECT $1::int + $2::int + $3::int AS c{n}" if three
               else f"SELECT $1::int * $2::int AS c{n}")
        with wire(r.port) as conn:
            for i in range(150):
                params = [i, n, 1] if three else [i, n]
                want = str(i + n + 1) if three else str(i * n)
                if i % 3 == 0:
                    out = conn.run(parse("", sql), bind("", "", params), describe("P"),
                                   execute(), sync())
                elif i % 3 == 1:
                    # Parse alone, then Bind in a later pipeline (maybe on another backend).
                    first = conn.run(parse("", sql), describe("S"), sync())
                    assert [m.type for m in first] == ["1", "t", "T", "Z"], summarize(first)
                    out = conn.run(bind("", "", params), describe("P"), execute(), sync())
                else:
                    conn.simple("SELECT 1")  # a simple query between uses of other clients
                    out = conn.run(parse("", sql), bind("", "", params), describe("P"),
                                   execute(), sync())
                got = summarize(out)
                assert got[-4:] == [("RowDescription", [(f"c{n}", 0, 0, 23, 4, -1, 0)]),
                                    ("DataRow", [want]), ("CommandComplete", "SELECT 1"),
                                    ("ReadyForQuery", "I")], got

    run_threads(12, client)


def test_p4_describe_then_flush_answers_without_sync(router):
    """P4: Parse+Describe(S)+Flush, then waiting: ParseComplete, ParameterDescription and RowDescription arrive."""
    def script(conn):
        out = []
        conn.send(parse("p4", "SELECT $1::int AS a, $2::text AS b"), describe("S", "p4"), flush())
        out += conn.recv_n(3, timeout=3)
        conn.send(parse("", "SELECT $1::int AS u"), describe("S", ""), flush())
        out += conn.recv_n(3, timeout=3)
        conn.send(bind("", "p4", ["7", "x"]), execute(), flush())
        out += conn.recv_n(3, timeout=3)
        conn.send(bind("", "", ["8"]), describe("P"), execute(), flush())
        out += conn.recv_n(4, timeout=3)
        out += conn.run(sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert out[:3] == [("ParseComplete",), ("ParameterDescription", [23, 25]),
                       ("RowDescription", [("a", 0, 0, 23, 4, -1, 0),
                                           ("b", 0, 0, 25, -1, -1, 0)])]


def test_flush_inside_transaction_then_commit(router):
    """Flush inside an explicit transaction returns rows before Sync; the transaction commits."""
    def script(conn):
        truncate(conn)
        out = conn.simple("BEGIN")
        conn.send(parse("", f"INSERT INTO {TABLE} VALUES ($1, 'f') RETURNING id"),
                  bind("", "", ["5"]), execute(), flush())
        out += conn.recv_n(4, timeout=3)
        out += conn.run(sync())
        out += conn.simple("COMMIT")
        out += conn.simple(f"SELECT count(*) FROM {TABLE}")
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["1"]) in out


def test_pipelined_mixed_messages_in_one_write(router):
    """500 simple queries, then extended/simple/BEGIN/COMMIT and a binary Bind, all in one write: replies in order."""
    def script(conn):
        out = conn.run(*[query(f"SELECT {i}") for i in range(500)], syncs=500, timeout=30)
        out += conn.run(extended("SELECT $1::int", ["1"]), sync(), query("BEGIN"),
                        extended("SELECT 2"), sync(), query("COMMIT"),
                        parse("", "SELECT $1::int4 + 1", [23]),
                        bind("", "", [b"\x00\x00\x00\x05"], param_formats=[1], result_formats=[1]),
                        execute(), sync(), syncs=5)
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[1] for m in out if m[0] == "DataRow"][:500] == [[str(i)] for i in range(500)]
    assert out[-3] == ("DataRow", ["\x00\x00\x00\x06"])


def test_large_result(router):
    """SELECT of 100000 rows of 1000 bytes (100 MB) arrives whole, the connection usable after."""
    with wire(router.port, timeout=60) as conn:
        out = conn.simple("SELECT repeat('x', 1000) FROM generate_series(1, 100000)")
        rows = [m for m in out if m.type == "D"]
        assert len(rows) == 100000 and all(len(m.body) == 1006 for m in rows)
        assert pgwire.summarize_one(out[-2]) == ("CommandComplete", "SELECT 100000")
        assert conn.rows("SELECT 1") == [["1"]]


# P5: pgbench --------------------------------------------------------------------------------

PGBENCH_SCRIPT = """\
\\set aid random(1, 100000)
\\set tid random(1, 10)
\\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, 1, :aid, :delta, CURRENT_TIMESTAMP);
"""


def pgbench_env():
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")
    return env


@pytest.fixture(scope="module")
def pgbench_tables():
    with psycopg.connect(direct_dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('pgbench_accounts') IS NOT NULL "
                              "AND to_regclass('pgbench_history') IS NOT NULL").fetchone()[0]
    if not exists:
        subprocess.run(["pgbench", "-i", "-s", "1", "-q", "-h", HOST, "-p", str(direct_port()),
                        "-U", "demo", "demo"], check=True, env=pgbench_env(),
                       capture_output=True, timeout=120)


@pytest.mark.parametrize("mode", ["prepared", "extended", "simple"])
def test_p5_pgbench_script_without_transaction(router_factory, pgbench_tables, tmp_path, mode):
    """P5: pgbench -M <mode>, 4-statement script without BEGIN, 20 clients x 100 on a pool of 4: no failure."""
    r = router_factory(max_size=4, checkout_timeout_ms=30000)
    script = tmp_path / "p5.sql"
    script.write_text(PGBENCH_SCRIPT)
    result = subprocess.run(
        ["pgbench", "-n", "-M", mode, "-c", "20", "-j", "2", "-t", "100", "-f", str(script),
         "-h", HOST, "-p", str(r.port), "-U", "demo", "demo"],
        env=pgbench_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "number of transactions actually processed: 2000/2000" in result.stdout, result.stdout
    assert "error" not in result.stderr.lower(), result.stderr[-3000:]


def test_p5_pgbench_select_only_prepared(router_factory, pgbench_tables):
    """P5: pgbench -S -M prepared, 20 clients on a pool of 4: every transaction processed."""
    r = router_factory(max_size=4, checkout_timeout_ms=30000)
    result = subprocess.run(
        ["pgbench", "-n", "-S", "-M", "prepared", "-c", "20", "-j", "2", "-t", "300",
         "-h", HOST, "-p", str(r.port), "-U", "demo", "demo"],
        env=pgbench_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "number of transactions actually processed: 6000/6000" in result.stdout


# P6..P10: prepared statements -------------------------------------------------------------

def test_p6_failed_set_then_next_query(router):
    """P6: exec_params SELECT $1, exec SELECT 1, SET lock_timeout TO 'nonsense' fails (22023), next query works."""
    def script(conn):
        out = conn.run(parse("", "SELECT $1"), bind("", "", ["1"]), describe("P"), execute(),
                       sync())
        out += conn.simple("SELECT 1")
        out += conn.simple("SET lock_timeout TO 'nonsense'")
        out += conn.simple("SELECT 2")
        out += conn.run(extended("SELECT $1::int + 1", ["2"]), sync())
        return summarize(out)

    out = same_through_router(router, script)
    errors = [m for m in out if m[0] == "ErrorResponse"]
    assert [e[2] for e in errors] == ["22023"]
    assert out[-3:] == [("DataRow", ["3"]), ("CommandComplete", "SELECT 1"),
                        ("ReadyForQuery", "I")]


def test_p7_deallocate_all_then_prepare_same_names(router):
    """P7: Parse a1,a2; DEALLOCATE ALL; Parse a1,a2 with new text: the new statements run."""
    def script(conn):
        out = conn.run(parse("a1", "SELECT 1 AS one"), parse("a2", "SELECT 2 AS two"), sync())
        out += conn.run(bind("", "a1"), execute(), bind("", "a2"), execute(), sync())
        out += conn.simple("DEALLOCATE ALL")
        out += conn.run(bind("", "a1"), execute(), sync())  # gone: 26000
        out += conn.run(parse("a1", "SELECT 11 AS eleven"), parse("a2", "SELECT 12 AS twelve"),
                        sync())
        out += conn.run(bind("", "a1"), describe("P"), execute(), bind("", "a2"), describe("P"),
                        execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["11"]) in out and ("DataRow", ["12"]) in out


def test_p7_deallocate_all_extended_then_prepare(router):
    """P7: DEALLOCATE ALL sent through Parse/Bind/Execute, then the same names prepare again."""
    def script(conn):
        out = conn.run(parse("b1", "SELECT 1"), sync())
        out += conn.run(extended("DEALLOCATE ALL"), sync())
        out += conn.run(parse("b1", "SELECT 21"), bind("", "b1"), execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["21"]) in out


def test_p7_sql_deallocate_name_then_prepare_again(router):
    """P7: Parse a1; SQL DEALLOCATE a1 (also PREPARE form, quoted name); re-Parse a1 runs the new text."""
    def script(conn):
        out = conn.run(parse("a1", "SELECT 1"), parse("A2", "SELECT 2"), sync())
        out += conn.simple("DEALLOCATE a1")
        out += conn.simple('DEALLOCATE PREPARE "A2"')
        out += conn.simple("DEALLOCATE a1")  # unknown now: 26000
        out += conn.run(parse("a1", "SELECT 31"), parse("A2", "SELECT 32"), sync())
        out += conn.run(bind("", "a1"), execute(), bind("", "A2"), execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["31"]) in out and ("DataRow", ["32"]) in out
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["26000"]


def test_p7_extended_deallocate_name_then_prepare_again(router):
    """P7: Parse c1; DEALLOCATE c1 sent by Parse/Bind/Execute (as JDBC does); re-Parse c1 works."""
    def script(conn):
        out = conn.run(parse("c1", "SELECT 1"), sync())
        out += conn.run(extended("DEALLOCATE c1"), sync())
        out += conn.run(parse("c1", "SELECT 41"), bind("", "c1"), execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("CommandComplete", "DEALLOCATE") in out
    assert ("DataRow", ["41"]) in out


def test_p8_close_then_parse_same_name_new_text(router):
    """P8: Close statement s, Parse s with other text (separate and same pipeline): new text runs."""
    def script(conn):
        out = conn.run(parse("s", "SELECT 1 AS x"), sync())
        out += conn.run(bind("", "s"), describe("P"), execute(), sync())
        out += conn.run(close("S", "s"), sync())
        out += conn.run(parse("s", "SELECT 'two'::text AS y"), describe("S", "s"), sync())
        out += conn.run(bind("", "s"), describe("P"), execute(), sync())
        out += conn.run(close("S", "s"), parse("s", "SELECT 3::int8 AS z"), describe("S", "s"),
                        bind("", "s"), execute(), sync())
        out += conn.run(close("S", "never_prepared"), close("P", "no_portal"), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["two"]) in out and ("DataRow", ["3"]) in out


def test_p9_thousands_of_named_statements_on_pool_of_two(router_factory):
    """P9: 3 clients each prepare 3000 distinct named statements on a pool of 2; every one executes, twice."""
    r = router_factory(max_size=2)
    count = 3000
    batch = 250

    def client(k):
        with wire(r.port, timeout=30) as conn:
            for start in range(0, count, batch):
                names = range(start, start + batch)
                out = conn.run(*[parse(f"st{i}", f"SELECT {k * 100000 + i} AS c")
                                 for i in names], sync())
                assert [m.type for m in out] == ["1"] * batch + ["Z"], summarize(out)[-3:]
            for order in (range(count), reversed(range(count))):
                order = list(order)
                for start in range(0, count, batch):
                    names = order[start:start + batch]
                    msgs = []
                    for i in names:
                        msgs += [bind("", f"st{i}"), execute()]
                    out = conn.run(*msgs, sync())
                    values = [pgwire.data_row(m.body)[0] for m in out if m.type == "D"]
                    errors = [pgwire.summarize_one(m) for m in out if m.type == "E"]
                    assert not errors, errors[:3]
                    assert values == [str(k * 100000 + i) for i in names]

    run_threads(3, client, timeout=150)


def test_p10_sql_prepare_by_many_psql_clients(router_factory):
    """P10: 16 concurrent psql runs of PREPARE q (int) AS SELECT $1; EXECUTE q(n), pool of 3: no 42P05."""
    r = router_factory(max_size=3, checkout_timeout_ms=20000)
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")

    def one(n):
        result = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(r.port),
             "-U", "demo", "-d", "demo", "-c", "PREPARE q (int) AS SELECT $1;",
             "-c", f"EXECUTE q({n});", "-c", f"EXECUTE q({n + 1000});"],
            env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [str(n), str(n + 1000)]

    run_threads(16, one)


def test_p10_sql_prepare_clients_keep_their_statement(router_factory):
    """P10: 8 clients on a pool of 4 each PREPARE q and EXECUTE it over 20 transactions: own value, no error."""
    r = router_factory(max_size=4, checkout_timeout_ms=20000)

    def client(n):
        with wire(r.port, timeout=30) as conn:
            assert not [m for m in conn.simple(f"PREPARE q (int) AS SELECT $1 + {n}")
                        if m.type == "E"]
            for i in range(20):
                assert conn.rows(f"EXECUTE q({i})") == [[str(i + n)]]
                conn.simple("BEGIN")
                assert conn.rows(f"EXECUTE q({i})") == [[str(i + n)]]
                conn.simple("COMMIT")
            conn.simple("DEALLOCATE q")

    run_threads(8, client)


# Errors inside pipelines ------------------------------------------------------------------

def test_duplicate_statement_name_in_pipeline(router):
    """Parse of an existing name in mid-pipeline: 42P05, rest skipped to Sync, ReadyForQuery I (E in a block)."""
    def script(conn):
        out = conn.run(parse("d1", "SELECT 1"), sync())
        out += conn.run(parse("d2", "SELECT 2"), parse("d1", "SELECT 3"), bind("", "d2"),
                        execute(), sync())
        out += conn.run(bind("", "d2"), execute(), bind("", "d1"), execute(), sync())
        out += conn.run(parse("d3", "SELECT 4"), parse("d3", "SELECT 5"), sync())
        out += conn.run(bind("", "d3"), execute(), sync())
        out += conn.simple("BEGIN")
        out += conn.run(parse("d1", "SELECT 6"), bind("", "d1"), execute(), sync())
        out += conn.run(bind("", "d1"), execute(), sync())  # aborted block: 25P02
        out += conn.simple("ROLLBACK")
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["42P05", "42P05", "42P05", "25P02"]


def test_unknown_statement_and_portal_in_pipeline(router):
    """Bind/Describe of an unknown statement (26000) and Execute of an unknown portal (34000) skip to Sync."""
    def script(conn):
        out = conn.run(bind("", "nosuch"), parse("", "SELECT 1"), bind(), execute(), sync())
        out += conn.run(describe("S", "nosuch"), execute(), sync())
        out += conn.run(parse("", "SELECT 1"), bind("", ""), execute("noportal"),
                        parse("", "SELECT 2"), sync())
        out += conn.simple("BEGIN")
        out += conn.run(bind("", "nosuch"), sync())
        out += conn.simple("ROLLBACK")
        out += conn.run(extended("SELECT 9"), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["26000", "26000", "34000",
                                                               "26000"]


def test_close_after_error_in_pipeline_is_skipped(router):
    """Bind of an unknown name, then Close of statement s, in one pipeline: Postgres skips the Close, so s still runs."""
    def script(conn):
        out = conn.run(parse("keep", "SELECT 'kept'::text"), sync())
        out += conn.run(bind("", "nosuch"), execute(), close("S", "keep"), sync())
        out += conn.run(bind("", "keep"), execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["kept"]) in out


def test_two_pipelines_in_one_write_first_fails(router):
    """Two pipelines sent in one write, the first failing (22012): the second runs, two ReadyForQuery as Postgres."""
    def script(conn):
        out = conn.run(extended("SELECT 1/0"), sync(), extended("SELECT $1::int", ["7"]), sync(),
                       query("SELECT 8"), syncs=3)
        return summarize(out)

    out = same_through_router(router, script)
    assert out.count(("ReadyForQuery", "I")) == 3 and ("DataRow", ["7"]) in out


def test_error_at_commit_of_pipeline(router):
    """A deferred FK violated in an extended pipeline fails at Sync (23503 before ReadyForQuery), as Postgres."""
    with psycopg.connect(direct_dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS it_proto_parent (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE IF NOT EXISTS it_proto_child (pid int REFERENCES it_proto_parent "
                     "DEFERRABLE INITIALLY DEFERRED)")

    def script(conn):
        out = conn.run(extended("INSERT INTO it_proto_child VALUES (12345)"), sync())
        out += conn.simple("BEGIN; INSERT INTO it_proto_child VALUES (12346); COMMIT")
        out += conn.simple("SELECT count(*) FROM it_proto_child")
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["23503", "23503"]


def test_protocol_and_sql_statements_share_names(router):
    """A statement prepared by Parse runs by SQL EXECUTE, and SQL PREPARE of its name gives 42P05, as Postgres."""
    def script(conn):
        out = conn.run(parse("shared1", "SELECT 'proto'::text"), sync())
        out += conn.simple("EXECUTE shared1")
        out += conn.simple("PREPARE shared1 AS SELECT 'sql'::text")
        out += conn.simple("DEALLOCATE shared1")
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["proto"]) in out


def test_named_parse_error_reported_at_parse(router):
    """A named Parse of a bad query (unknown table, syntax, int + text) errors at Parse; the name stays free."""
    def script(conn):
        out = conn.run(parse("e1", "SELECT * FROM it_proto_no_such_table"), sync())
        out += conn.run(parse("e1", "SELECT 1 AS fixed"), bind("", "e1"), execute(), sync())
        out += conn.run(parse("e2", "SELEC 1"), sync())
        out += conn.run(parse("e3", "SELECT $1 + $2", [23, 25]), sync())
        out += conn.run(parse("e2", "SELECT 2"), parse("e3", "SELECT 3"), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["42P01", "42601", "42883"]


def test_error_in_mid_pipeline_rolls_back_the_pipeline(router):
    """INSERT; SELECT 1/0; INSERT in one pipeline: 22012, rest skipped, first INSERT rolled back."""
    def script(conn):
        truncate(conn)
        ins = f"INSERT INTO {TABLE} VALUES ($1, 'p')"
        out = conn.run(parse("", ins), bind("", "", ["1"]), execute(),
                       parse("", "SELECT 1/0"), bind(), execute(),
                       parse("", ins), bind("", "", ["2"]), execute(), sync())
        out += conn.simple(f"SELECT count(*) FROM {TABLE}")
        out += conn.simple("BEGIN")
        out += conn.run(parse("", ins), bind("", "", ["3"]), execute(), parse("", "SELECT 1/0"),
                        bind(), execute(), sync())
        out += conn.simple("SELECT 1")  # 25P02
        out += conn.simple("ROLLBACK")
        out += conn.simple(f"SELECT count(*) FROM {TABLE}")
        return summarize(out)

    out = same_through_router(router, script)
    assert [m for m in out if m[0] == "DataRow"] == [("DataRow", ["0"]), ("DataRow", ["0"])]


def test_row_limited_execute_portal_suspended(router):
    """Execute with a row limit gives PortalSuspended and resumes; across Syncs inside a transaction too."""
    def script(conn):
        out = conn.run(parse("", "SELECT g FROM generate_series(1, 5) g"), bind("p", ""),
                       execute("p", 2), execute("p", 2), execute("p", 2), execute("p", 2),
                       sync())
        out += conn.run(execute("p", 1), sync())  # portal gone after the implicit commit: 34000
        out += conn.simple("BEGIN")
        out += conn.run(parse("", "SELECT g FROM generate_series(1, 3) g"), bind("q", ""),
                        execute("q", 2), sync())
        out += conn.run(execute("q", 2), sync())
        out += conn.simple("COMMIT")
        return summarize(out)

    out = same_through_router(router, script)
    assert out.count(("PortalSuspended",)) == 3


def test_empty_query(router):
    """Empty simple query, a lone ';' and an empty extended query give EmptyQueryResponse as Postgres."""
    def script(conn):
        out = conn.simple("")
        out += conn.simple(";")
        out += conn.simple("  -- nothing\n")
        out += conn.run(parse("", ""), bind(), describe("P"), execute(), sync())
        out += conn.run(sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert out.count(("EmptyQueryResponse",)) == 4


def test_multi_statement_query_is_one_implicit_transaction(router):
    """'INSERT; SELECT 1/0' leaves no row; 'INSERT; BEGIN; INSERT' then ROLLBACK leaves none (BEGIN adopts the first)."""
    def script(conn):
        truncate(conn)
        out = conn.simple(f"INSERT INTO {TABLE} VALUES (1, 'a'); SELECT 1/0")
        out += conn.simple(f"SELECT id FROM {TABLE} ORDER BY id")
        out += conn.simple(f"INSERT INTO {TABLE} VALUES (2, 'b'); BEGIN; "
                           f"INSERT INTO {TABLE} VALUES (3, 'c')")
        out += conn.simple("ROLLBACK")
        out += conn.simple(f"SELECT id FROM {TABLE} ORDER BY id")
        out += conn.simple(f"BEGIN; INSERT INTO {TABLE} VALUES (4, 'd'); COMMIT; "
                           f"INSERT INTO {TABLE} VALUES (5, 'e'); SELECT 1/0")
        out += conn.simple(f"SELECT id FROM {TABLE} ORDER BY id")
        return summarize(out)

    out = same_through_router(router, script)
    # Postgres folds statements before a BEGIN into the block it opens (protocol docs,
    # "Multiple Statements in a Simple Query"): the ROLLBACK removes row 2 as well.
    assert [m[1] for m in out if m[0] == "DataRow"] == [["4"]]
    assert ("ReadyForQuery", "T") in out


# COPY -----------------------------------------------------------------------------------------

def psql(port, *args, stdin=None):
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")
    result = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                             "-h", HOST, "-p", str(port), "-U", "demo", "-d", "demo", *args],
                            input=stdin, env=env, capture_output=True, text=True, timeout=60)
    return result


def test_copy_in_and_out_through_psql(router):
    """psql COPY FROM STDIN of 5000 rows then COPY TO STDOUT: same rows and output as direct."""
    data = "".join(f"{i}\trow {i}\n" for i in range(5000))
    outputs = []
    for port in (router.port, direct_port()):
        with psycopg.connect(direct_dsn(), autocommit=True) as conn:
            conn.execute(f"TRUNCATE {COPY_TABLE}")
        res = psql(port, "-c", f"COPY {COPY_TABLE} FROM STDIN", stdin=data)
        assert res.returncode == 0, res.stderr
        res = psql(port, "-c", f"COPY (SELECT * FROM {COPY_TABLE} ORDER BY id) TO STDOUT",
                   "-c", "SELECT 'after copy'")
        assert res.returncode == 0, res.stderr
        outputs.append(res.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0] == data + "after copy\n"


def test_copy_in_and_out_through_psycopg(router):
    """psycopg COPY in (2000 rows), COPY out, a failing COPY (22P02) and the connection still works."""
    rows = [(i, f"v{i}") for i in range(2000)]
    with router.connect() as conn:
        conn.execute(f"TRUNCATE {COPY_TABLE}")
        with conn.cursor() as cur:
            with cur.copy(f"COPY {COPY_TABLE} (id, v) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            with cur.copy(f"COPY (SELECT id, v FROM {COPY_TABLE} ORDER BY id) TO STDOUT") as copy:
                got = [(int(a), b) for a, b in copy.rows()]
        assert got == rows
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            with conn.cursor() as cur:
                with cur.copy(f"COPY {COPY_TABLE} (id, v) FROM STDIN") as copy:
                    copy.write(b"1\tok\nnot-a-number\tbad\n")
        assert conn.execute(f"SELECT count(*) FROM {COPY_TABLE}").fetchone() == (2000,)
        with conn.transaction():
            with conn.cursor().copy(f"COPY {COPY_TABLE} (id, v) FROM STDIN") as copy:
                copy.write_row((9999, "in tx"))
        assert conn.execute(f"SELECT count(*) FROM {COPY_TABLE}").fetchone() == (2001,)


def test_copy_wire_sequences(router):
    """COPY in, CopyFail (57014), COPY out, and COPY in a transaction: the same messages as Postgres."""
    def script(conn):
        out = conn.simple(f"TRUNCATE {COPY_TABLE}")
        conn.send(query(f"COPY {COPY_TABLE} FROM STDIN"))
        out += conn.recv_until("G")
        out += conn.run(copy_data("1\tone\n2\ttwo\n"), copy_data("3\tthree\n"), copy_done())
        conn.send(query(f"COPY {COPY_TABLE} FROM STDIN"))
        out += conn.recv_until("G")
        out += conn.run(copy_data("4\tfour\n"), copy_fail("client gave up"))
        out += conn.simple(f"COPY (SELECT * FROM {COPY_TABLE} ORDER BY id) TO STDOUT")
        out += conn.simple("BEGIN")
        conn.send(query(f"COPY {COPY_TABLE} FROM STDIN"))
        out += conn.recv_until("G")
        out += conn.run(copy_data("5\tfive\n"), copy_done())
        out += conn.simple("ROLLBACK")
        out += conn.simple(f"SELECT count(*) FROM {COPY_TABLE}")
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["57014"]
    assert ("DataRow", ["3"]) in out


def test_copy_in_through_extended_protocol(router):
    """COPY FROM STDIN by Parse/Bind/Execute/Sync: the Sync sent during copy-in is ignored, as Postgres does."""
    def script(conn):
        out = conn.simple(f"TRUNCATE {COPY_TABLE}")
        # Postgres ignores Flush and Sync during copy-in; the client syncs after CopyDone.
        conn.send(parse("", f"COPY {COPY_TABLE} FROM STDIN"), bind(), execute(), sync())
        out += conn.recv_until("G")
        out += conn.run(copy_data("1\tx\n"), copy_done(), sync())
        out += conn.simple(f"SELECT count(*) FROM {COPY_TABLE}")
        conn.send(parse("", f"COPY {COPY_TABLE} FROM STDIN"), bind(), execute(), flush())
        out += conn.recv_until("G")
        out += conn.run(copy_data("2\ty\n"), copy_done(), sync())
        out += conn.simple(f"SELECT count(*) FROM {COPY_TABLE}")
        return summarize(out)

    out = same_through_router(router, script)
    assert ("CommandComplete", "COPY 1") in out


def test_extended_copy_then_error_releases_backend(router_factory):
    """Extended COPY (Sync sent in copy-in), then SELECT 1/0: a second client on a pool of 1 still gets the backend."""
    r = router_factory(max_size=1, checkout_timeout_ms=2000)
    with wire(r.port) as a:
        a.send(parse("", f"COPY {COPY_TABLE} FROM STDIN"), bind(), execute(), sync())
        a.recv_until("G")
        a.run(copy_data("1\tx\n"), copy_done(), sync())
        assert [m.type for m in a.simple("SELECT 1/0")] == ["E", "Z"]
        assert a.rows("SELECT 1") == [["1"]]
        with wire(r.port) as b:  # a is idle outside a transaction: its backend is free
            assert b.rows("SELECT 2") == [["2"]]
        assert a.rows("SELECT 3") == [["3"]]


# Other messages -----------------------------------------------------------------------------

def test_function_call(router):
    """FunctionCall of int4pl(2, 3) gives FunctionCallResponse '5' and ReadyForQuery, as Postgres."""
    with psycopg.connect(direct_dsn()) as conn:
        oid = conn.execute("SELECT 'int4pl'::regproc::oid").fetchone()[0]

    def script(conn):
        out = conn.run(function_call(oid, [2, 3]))
        out += conn.run(function_call(oid, ["x", 3]))
        out += conn.simple("SELECT 1")
        return summarize(out)

    out = same_through_router(router, script)
    assert out[:2] == [("FunctionCallResponse", "5"), ("ReadyForQuery", "I")]


def test_notice_passthrough(router):
    """RAISE NOTICE / WARNING in a DO block reach the client before CommandComplete, as Postgres."""
    def script(conn):
        out = conn.simple("DO $$BEGIN RAISE NOTICE 'hello %', 42; "
                          "RAISE WARNING 'careful'; END$$")
        out += conn.run(extended("DO $$BEGIN RAISE NOTICE 'from extended'; END$$"), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert out[0][:4] == ("NoticeResponse", "NOTICE", "00000", "hello 42")


def test_parameter_status_on_set(router):
    """SET application_name and a failed SET inside a transaction report ParameterStatus as Postgres."""
    def script(conn):
        out = conn.simple("SET application_name = 'it-proto'")
        out += conn.simple("BEGIN; SET application_name = 'inner'; ROLLBACK")
        out += conn.simple("SHOW application_name")
        return summarize(out, skip=())

    out = same_through_router(router, script)
    assert ("ParameterStatus", "application_name", "it-proto") in out


def test_cancel_request(router):
    """A cancel request stops pg_sleep(30) through the router with 57014; the connection goes on."""
    with router.connect() as conn:
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - start < 10
        assert conn.execute("SELECT 1").fetchone() == (1,)


def listen_and_notify(r, channel):
    with wire(r.port) as listener, wire(r.port) as notifier:
        assert [m.type for m in listener.simple(f"LISTEN {channel}")] == ["C", "Z"]
        notifier.simple(f"NOTIFY {channel}, 'payload one'")
        notifier.simple(f"SELECT pg_notify('{channel}', 'payload two')")
        got = [listener.recv(timeout=5), listener.recv(timeout=5)]
        assert [pgwire.summarize_one(m) for m in got] == [
            ("NotificationResponse", channel, "payload one"),
            ("NotificationResponse", channel, "payload two")]
        # Notifications while the listener is itself busy come with its replies.
        notifier.simple(f"NOTIFY {channel}, 'three'")
        time.sleep(0.2)
        out = summarize(listener.simple("SELECT 1"))
        assert ("NotificationResponse", channel, "three") in out
        listener.simple(f"UNLISTEN {channel}")


def test_listen_notify_session_mode(router_factory):
    """LISTEN in session mode: NOTIFY and pg_notify from another client arrive while idle."""
    listen_and_notify(router_factory(mode="session"), "it_proto_ch")


def test_listen_notify_transaction_mode(router_factory):
    """LISTEN in transaction mode keeps the listener's backend: notifications arrive while idle."""
    listen_and_notify(router_factory(mode="transaction", max_size=3), "it_proto_ch_tx")


# The unnamed statement ----------------------------------------------------------------------

def test_unnamed_statement_survives_settings_readback(router):
    """Parse '' set_config(search_path, $1, false)+Describe+Sync, then Bind ['public']: runs as in Postgres."""
    def script(conn):
        out = conn.run(parse("", "SELECT set_config('search_path', $1, false)"), describe("S"),
                       sync())
        out += conn.run(bind("", "", ["public"]), execute(), sync())
        out += conn.run(parse("", "SELECT set_config('application_name', $1, false)"),
                        describe("S"), sync())
        out += conn.run(bind("", "", ["it-unnamed"]), execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert ("DataRow", ["public"]) in out
    assert not [m for m in out if m[0] == "ErrorResponse"]


def test_unnamed_statement_ends_as_in_postgres(router):
    """A simple query or Close drops the unnamed statement: a later Bind '' gives 26000, as Postgres."""
    def script(conn):
        out = conn.run(parse("", "SELECT 1"), sync())
        out += conn.simple("SELECT 2")
        out += conn.run(bind(), execute(), sync())
        out += conn.run(parse("", "SELECT 3"), sync())
        out += conn.run(close("S", ""), sync())
        out += conn.run(bind(), execute(), sync())
        return summarize(out)

    out = same_through_router(router, script)
    assert [m[2] for m in out if m[0] == "ErrorResponse"] == ["26000", "26000"]
