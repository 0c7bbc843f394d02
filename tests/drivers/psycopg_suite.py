#!/usr/bin/python3
"""Driver suite for psycopg 3 (Debian python3-psycopg 3.1).

Run with the system interpreter:  /usr/bin/python3 tests/drivers/psycopg_suite.py

Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
SUITE_LABEL is printed in the header; SUITE_SESSION_MODE=1 enables the checks
that need a session-pooled (or direct) connection (LISTEN/NOTIFY).

Every check prints "ok <name>", "FAIL <name>: <why>" or "skip <name>: <why>";
the last line is "N passed, M failed" and the exit code is non-zero on any
failure. The whole run is bounded by a 60 s watchdog.

The suite never uses TEMP tables (unsafe through a transaction pooler): every
table carries a per-run random suffix and is dropped at the end.
"""

import datetime as dt
import logging
import os
import secrets
import sys
import threading
import time
import traceback
import uuid
from decimal import Decimal

import psycopg
from psycopg import errors as pe
from psycopg import sql
from psycopg.types.json import Json, Jsonb

LABEL = os.environ.get("SUITE_LABEL", "direct")
SESSION_MODE = os.environ.get("SUITE_SESSION_MODE") == "1"
SUFFIX = secrets.token_hex(4)
BUDGET_S = float(os.environ.get("SUITE_BUDGET_S", "60"))  # whole-run bound

_lock = threading.Lock()
_passed = 0
_failed = 0
_tables = []   # qualified names to drop at the end
_schemas = []  # schemas to drop at the end


def _out(line):
    with _lock:
        print(line, flush=True)


def _finish():
    with _lock:
        print(f"{_passed} passed, {_failed} failed", flush=True)
    return 1 if _failed else 0


def _watchdog():
    global _failed
    with _lock:
        _failed += 1
        print(f"FAIL watchdog: suite exceeded {BUDGET_S:g} s", flush=True)
        print(f"{_passed} passed, {_failed} failed", flush=True)
    os._exit(2)


class CheckFailed(Exception):
    pass


def expect(actual, expected, what="value"):
    """Exact comparison; bool/int and int/float are told apart by type."""
    if type(actual) is not type(expected) or actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r} ({type(expected).__name__}),"
                          f" got {actual!r} ({type(actual).__name__})")


def expect_sqlstate(fn, code, what="statement"):
    try:
        fn()
    except psycopg.Error as e:
        if e.sqlstate != code:
            raise CheckFailed(f"{what}: expected SQLSTATE {code}, got {e.sqlstate}: {e}")
        return e
    raise CheckFailed(f"{what}: expected SQLSTATE {code}, but it succeeded")


def check(name, fn):
    global _passed, _failed
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is reported
        why = f"{type(e).__name__}: {e}".replace("\n", " | ")
        if not isinstance(e, CheckFailed) and os.environ.get("SUITE_DEBUG"):
            traceback.print_exc()
        with _lock:
            _failed += 1
        _out(f"FAIL {name}: {why}")
    else:
        with _lock:
            _passed += 1
        _out(f"ok {name}")


def skip(name, why):
    _out(f"skip {name}: {why}")


def section(name, fn):
    """Runs a group of checks; a failure outside any check (set-up) is
    reported and counted, and the next group still runs."""
    global _failed
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        if os.environ.get("SUITE_DEBUG"):
            traceback.print_exc()
        with _lock:
            _failed += 1
        _out(f"FAIL {name}.setup: {type(e).__name__}: {e}".replace("\n", " | "))


def connect(autocommit=True, timeout_guard=True):
    conn = psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER"),
        password=os.environ.get("PGPASSWORD"),
        dbname=os.environ.get("PGDATABASE"),
        connect_timeout=10,
        autocommit=autocommit,
    )
    if timeout_guard:
        # Server-side bound for every statement of the general checks; the
        # session-state checks use connections without it.
        conn.execute("SET statement_timeout = '20s'")
        if not autocommit:
            conn.commit()
    return conn


def table(purpose, columns):
    name = f"drv_py_{SUFFIX}_{purpose}"
    with connect() as c:
        c.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(name), sql.SQL(columns)))
    _tables.append(name)
    return sql.Identifier(name), name


def scalar(conn, query, params=None, **kw):
    return conn.execute(query, params, **kw).fetchone()[0]


# ---------------------------------------------------------------- 1. types

TS = dt.datetime(2024, 2, 29, 12, 34, 56, 789012, tzinfo=dt.timezone.utc)
IV = dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7)
UU = uuid.UUID("6f1c2a4e-9b3d-4c5e-8f70-0123456789ab")
JOBJ = {"n": None, "a": [1, 2, {"b": "ü"}]}
JTEXT = '{"a": [1, 2, {"b": "ü"}], "n": null}'
UNI = "héllo wörld ✓ 日本語 🐘 'q' \"dq\" \\ end"
TEXTS = ["a", "b c", "ü", 'say "hi"', "back\\slash", None, "", "NULL"]
TEXTS_OUT = '{a,"b c",ü,"say \\"hi\\"","back\\\\slash",NULL,"","NULL"}'

# name, sql type, parameter, expected decoded value, server text expression
# ({p} is the parameter), expected server text, literal to decode (None: skip)
TYPE_CASES = [
    ("int2", "int2", 32767, 32767, "({p}::int2)::text", "32767", "32767"),
    ("int4", "int4", -2147483648, -2147483648, "({p}::int4)::text", "-2147483648", "-2147483648"),
    ("int8", "int8", 9223372036854775807, 9223372036854775807, "({p}::int8)::text",
     "9223372036854775807", "9223372036854775807"),
    ("numeric", "numeric", Decimal("-12345678901234567890.000123456789"),
     Decimal("-12345678901234567890.000123456789"), "({p}::numeric)::text",
     "-12345678901234567890.000123456789", "-12345678901234567890.000123456789"),
    ("float8", "float8", 3.141592653589793, 3.141592653589793, "({p}::float8)::text",
     "3.141592653589793", "3.141592653589793"),
    ("text", "text", UNI, UNI, "{p}::text || ''", UNI, UNI),
    ("bytea", "bytea", b"\x00\x01\xff\x80abc'\\", b"\x00\x01\xff\x80abc'\\", "({p}::bytea)::text",
     "\\x0001ff80616263275c", "\\x0001ff80616263275c"),
    ("bool_true", "bool", True, True, "({p}::bool)::text", "true", "t"),
    ("bool_false", "bool", False, False, "({p}::bool)::text", "false", "f"),
    ("date", "date", dt.date(2024, 2, 29), dt.date(2024, 2, 29), "({p}::date)::text",
     "2024-02-29", "2024-02-29"),
    ("timestamptz", "timestamptz", TS, TS,
     "to_char(({p}::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
     "2024-02-29 12:34:56.789012", "2024-02-29 12:34:56.789012+00"),
    ("interval", "interval", IV, IV, "({p}::interval)::text", "3 days 04:05:06.000007",
     "3 days 04:05:06.000007"),
    ("uuid", "uuid", UU, UU, "({p}::uuid)::text", str(UU), str(UU)),
    ("json", "json", Json(JOBJ), JOBJ, "({p}::json)::jsonb::text", JTEXT, JTEXT),
    ("jsonb", "jsonb", Jsonb(JOBJ), JOBJ, "({p}::jsonb)::text", JTEXT, JTEXT),
    ("int4_array", "int4[]", [1, None, -3], [1, None, -3], "({p}::int4[])::text",
     "{1,NULL,-3}", "{1,NULL,-3}"),
    ("text_array", "text[]", TEXTS, TEXTS, "({p}::text[])::text", TEXTS_OUT, TEXTS_OUT),
    ("null", "int4", None, None, "(({p}::int4) IS NULL)::text", "true", None),
]


def check_types():
    conn = connect()
    for fmt, ph in (("text", "%t"), ("binary", "%b")):
        cur = conn.cursor(binary=(fmt == "binary"))
        for name, typ, param, value, texpr, text, literal in TYPE_CASES:
            def one(typ=typ, param=param, value=value, texpr=texpr, text=text, literal=literal):
                # parameter -> server -> result
                got = cur.execute(f"SELECT {ph}::{typ}", [param]).fetchone()[0]
                expect(got, value, "round trip")
                # parameter as the server saw it
                got = cur.execute(f"SELECT {texpr.format(p=ph)}", [param]).fetchone()[0]
                expect(got, text, "server text")
                # server literal -> result decoding
                if literal is not None:
                    q = sql.SQL("SELECT {}::" + typ).format(sql.Literal(literal))
                    got = cur.execute(q).fetchone()[0]
                    expect(got, value, "decode literal")
            check(f"types.{fmt}.{name}", one)
    conn.close()


# ------------------------------------------------------ 2. prepared statements

def check_prepared():
    conn = connect()

    def repeated():
        for i in range(200):
            row = conn.execute("SELECT %s::int4 * 2, %s::text || '!'", [i, f"v{i}"],
                               prepare=True).fetchone()
            expect(row, (i * 2, f"v{i}!"), f"iteration {i}")

    def interleaved():
        for i in range(100):
            a = scalar(conn, "SELECT %s::int8 + 1000", [i], prepare=True)
            b = scalar(conn, "SELECT upper(%s::text)", [f"x{i}é"], prepare=True)
            expect(a, i + 1000, f"stmt A iteration {i}")
            expect(b, f"X{i}É", f"stmt B iteration {i}")

    def auto_prepared_binary():
        # default prepare_threshold (5): the driver switches to a named
        # statement on its own after a few runs; binary results too.
        cur = conn.cursor(binary=True)
        for i in range(30):
            row = cur.execute("SELECT %b::numeric * 2, %b::date + 1",
                              [Decimal(i) / 4, dt.date(2024, 1, 1)]).fetchone()
            expect(row, (Decimal(i) / 4 * 2, dt.date(2024, 1, 2)), f"iteration {i}")

    def error_then_reuse():
        for i in (1, 2, 0, 3, 0, 4):
            if i == 0:
                expect_sqlstate(lambda: conn.execute("SELECT 10 / %s::int4", [i], prepare=True),
                                "22012", "division by prepared zero")
            else:
                expect(scalar(conn, "SELECT 10 / %s::int4", [i], prepare=True), 10 // i)

    def sql_level_prepare():
        # PREPARE / EXECUTE / DEALLOCATE at SQL level, then the same name
        # again with different text, then DEALLOCATE ALL and again.
        conn.execute("PREPARE drv_q (int4) AS SELECT $1 * 10")
        for i in range(5):
            expect(scalar(conn, f"EXECUTE drv_q ({i})"), i * 10, f"execute {i}")
        expect_sqlstate(lambda: conn.execute("PREPARE drv_q (int4) AS SELECT $1"), "42P05", "duplicate")
        conn.execute("DEALLOCATE drv_q")
        expect_sqlstate(lambda: conn.execute("EXECUTE drv_q (1)"), "26000", "after DEALLOCATE")
        conn.execute("PREPARE drv_q (text) AS SELECT $1 || '?'")
        expect(scalar(conn, "EXECUTE drv_q ('why')"), "why?", "re-prepared with new text")
        conn.execute("DEALLOCATE ALL")
        expect_sqlstate(lambda: conn.execute("EXECUTE drv_q ('x')"), "26000", "after DEALLOCATE ALL")
        conn.execute("PREPARE drv_q (int4) AS SELECT $1 + 1")
        expect(scalar(conn, "EXECUTE drv_q (41)"), 42, "prepared after DEALLOCATE ALL")
        conn.execute("DEALLOCATE drv_q")

    check("prepared.repeated_200", repeated)
    check("prepared.interleaved_two", interleaved)
    check("prepared.auto_binary", auto_prepared_binary)
    check("prepared.error_then_reuse", error_then_reuse)
    check("prepared.sql_level_prepare", sql_level_prepare)
    conn.close()


# -------------------------------------------------------------- 3. pipeline

def check_pipeline():
    ident, _ = table("pipe", "id int PRIMARY KEY, v text")
    conn = connect()

    def inserts_then_select():
        with conn.pipeline():
            for i in range(100):
                conn.execute(sql.SQL("INSERT INTO {} (id, v) VALUES (%s, %s)").format(ident),
                             [i, f"v{i}"])
            cur = conn.execute(sql.SQL("SELECT count(*), sum(id), max(v) FROM {}").format(ident))
            squares = [conn.execute("SELECT %s::int4 * %s::int4", [i, i]) for i in range(20)]
        expect(cur.fetchone(), (100, Decimal(4950), "v99"))
        for i, c in enumerate(squares):
            expect(c.fetchone(), (i * i,), f"square {i}")

    def explicit_syncs():
        with conn.pipeline() as p:
            c1 = conn.execute("SELECT 1")
            p.sync()
            c2 = conn.execute("SELECT %s::text", ["two"])
            p.sync()
            c3 = conn.execute("SELECT 3")
        expect([c1.fetchone(), c2.fetchone(), c3.fetchone()], [(1,), ("two",), (3,)])

    def error_aborts_rest():
        # No Sync between the statements: one implicit transaction, so the
        # insert before the error is rolled back and the one after never runs.
        got = None
        try:
            with conn.pipeline():
                conn.execute(sql.SQL("INSERT INTO {} (id, v) VALUES (1000, 'a')").format(ident))
                conn.execute("SELECT 1 / %s::int4", [0])
                conn.execute(sql.SQL("INSERT INTO {} (id, v) VALUES (1001, 'b')").format(ident))
        except psycopg.Error as e:
            got = e
        if not isinstance(got, pe.DivisionByZero):
            raise CheckFailed(f"expected DivisionByZero, got {got!r}")
        n = scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE id >= 1000").format(ident))
        expect(n, 0, "rows from the failed pipeline")
        expect(scalar(conn, "SELECT %s::int4", [5]), 5, "next query")

    def pipeline_in_transaction():
        with conn.transaction():
            with conn.pipeline():
                for i in range(2000, 2010):
                    conn.execute(sql.SQL("INSERT INTO {} (id, v) VALUES (%s, 'tx')").format(ident), [i])
        expect(scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE v = 'tx'").format(ident)), 10)

    def executemany():
        cur = conn.cursor()
        cur.executemany(sql.SQL("INSERT INTO {} (id, v) VALUES (%s, %s)").format(ident),
                        [(i, "many") for i in range(3000, 3250)])
        expect(cur.rowcount, 250, "rowcount")
        expect(scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE v = 'many'").format(ident)), 250)

    check("pipeline.inserts_then_select", inserts_then_select)
    check("pipeline.explicit_syncs", explicit_syncs)
    check("pipeline.error_aborts_rest", error_aborts_rest)
    check("pipeline.in_transaction", pipeline_in_transaction)
    check("pipeline.executemany", executemany)
    conn.close()


# ---------------------------------------------------------- 4. transactions

def check_transactions():
    ident, _ = table("tx", "id int PRIMARY KEY, v text")
    conn = connect(autocommit=False)
    other = connect()
    count = sql.SQL("SELECT count(*) FROM {} WHERE id = %s").format(ident)
    insert = sql.SQL("INSERT INTO {} (id, v) VALUES (%s, %s)").format(ident)

    def commit_visible():
        conn.execute(insert, [1, "one"])
        expect(scalar(other, count, [1]), 0, "visible to others before commit")
        conn.commit()
        expect(scalar(other, count, [1]), 1, "visible to others after commit")

    def rollback_invisible():
        conn.execute(insert, [2, "two"])
        expect(scalar(conn, count, [2]), 1, "visible inside the transaction")
        conn.rollback()
        expect(scalar(conn, count, [2]), 0, "after rollback, same connection")
        conn.commit()
        expect(scalar(other, count, [2]), 0, "after rollback, other connection")

    def failed_statement_then_rollback():
        conn.execute(insert, [3, "three"])
        expect_sqlstate(lambda: conn.execute("SELECT 1 / 0"), "22012", "division")
        expect(conn.info.transaction_status, psycopg.pq.TransactionStatus.INERROR, "status")
        expect_sqlstate(lambda: conn.execute("SELECT 1"), "25P02", "statement in failed tx")
        conn.rollback()
        expect(conn.info.transaction_status, psycopg.pq.TransactionStatus.IDLE, "status")
        expect(scalar(conn, "SELECT %s::text", ["alive"]), "alive", "next query")
        expect(scalar(conn, count, [3]), 0, "insert of failed transaction")
        conn.commit()

    def savepoint():
        with conn.transaction():
            conn.execute(insert, [4, "four"])
            try:
                with conn.transaction():   # SAVEPOINT
                    conn.execute(insert, [4, "dup"])
            except pe.UniqueViolation:
                pass
            else:
                raise CheckFailed("expected a unique violation inside the savepoint")
            conn.execute(insert, [5, "five"])
        rows = other.execute(sql.SQL("SELECT id, v FROM {} WHERE id IN (4, 5) ORDER BY id")
                             .format(ident)).fetchall()
        expect(rows, [(4, "four"), (5, "five")])

    def simple_protocol_transaction():
        other.execute("BEGIN")
        other.execute(sql.SQL("INSERT INTO {} (id, v) VALUES (6, 'six')").format(ident))
        expect(other.info.transaction_status, psycopg.pq.TransactionStatus.INTRANS, "status")
        other.execute("ROLLBACK")
        expect(other.info.transaction_status, psycopg.pq.TransactionStatus.IDLE, "status")
        expect(scalar(other, count, [6]), 0, "rolled back row")

    check("tx.commit_visible", commit_visible)
    check("tx.rollback_invisible", rollback_invisible)
    check("tx.failed_statement_then_rollback", failed_statement_then_rollback)
    check("tx.savepoint", savepoint)
    check("tx.simple_begin_rollback", simple_protocol_transaction)
    conn.close()
    other.close()


# ------------------------------------------------------------------ 5. COPY

def copy_rows():
    rows = []
    for i in range(1, 1001):
        name = f"name {i} ü\t\n\\ end" if i % 3 else f"plain{i}"
        amount = None if i % 7 == 0 else Decimal(i) / 4
        rows.append((i, name, amount))
    return rows


def check_copy():
    ident, _ = table("copy", "id int PRIMARY KEY, name text, amount numeric")
    ident_b, _ = table("copyb", "id int PRIMARY KEY, name text, amount numeric")
    conn = connect()
    rows = copy_rows()

    def copy_in_text():
        cur = conn.cursor()
        with cur.copy(sql.SQL("COPY {} (id, name, amount) FROM STDIN").format(ident)) as cp:
            for r in rows:
                cp.write_row(r)
        expect(cur.rowcount, 1000, "rowcount")
        got = conn.execute(sql.SQL("SELECT id, name, amount FROM {} ORDER BY id").format(ident)).fetchall()
        expect(got, rows, "table contents")

    def copy_out_text():
        cur = conn.cursor()
        out = []
        with cur.copy(sql.SQL("COPY (SELECT id, name, amount FROM {} ORDER BY id) TO STDOUT")
                      .format(ident)) as cp:
            cp.set_types(["int4", "text", "numeric"])
            out = list(cp.rows())
        expect(out, rows, "copied rows")
        raw = b""
        with cur.copy(sql.SQL("COPY (SELECT id, name, amount FROM {} WHERE id IN (1, 3, 7) ORDER BY id)"
                              " TO STDOUT").format(ident)) as cp:
            for block in cp:
                raw += bytes(block)
        expect(raw, b"1\tname 1 \xc3\xbc\\t\\n\\\\ end\t0.25\n3\tplain3\t0.75\n7\tname 7 \xc3\xbc\\t\\n\\\\ end\t\\N\n",
               "raw text COPY")
        expect(scalar(conn, "SELECT 11"), 11, "next query")

    def copy_binary_round_trip():
        cur = conn.cursor()
        with cur.copy(sql.SQL("COPY {} (id, name, amount) FROM STDIN (FORMAT BINARY)").format(ident_b)) as cp:
            cp.set_types(["int4", "text", "numeric"])
            for r in rows:
                cp.write_row(r)
        expect(cur.rowcount, 1000, "rowcount in")
        with cur.copy(sql.SQL("COPY (SELECT id, name, amount FROM {} ORDER BY id) TO STDOUT (FORMAT BINARY)")
                      .format(ident_b)) as cp:
            cp.set_types(["int4", "text", "numeric"])
            out = list(cp.rows())
        expect(out, rows, "binary rows")

    def copy_error_then_usable():
        cur = conn.cursor()
        try:
            with cur.copy(sql.SQL("COPY {} (id, name) FROM STDIN").format(ident)) as cp:
                cp.write(b"5001\tok\nnot-a-number\tbad\n")
        except psycopg.Error as e:
            expect(e.sqlstate, "22P02", "sqlstate")
        else:
            raise CheckFailed("expected invalid_text_representation")
        expect(scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE id = 5001").format(ident)), 0,
               "row from the failed COPY")
        expect(scalar(conn, "SELECT %s::int4", [12]), 12, "next query")

    def copy_in_transaction_rollback():
        with conn.transaction(force_rollback=True):
            with conn.cursor().copy(sql.SQL("COPY {} (id, name) FROM STDIN").format(ident)) as cp:
                cp.write_row((6001, "in tx"))
            expect(scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE id = 6001").format(ident)), 1)
        expect(scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE id = 6001").format(ident)), 0)

    check("copy.in_text", copy_in_text)
    check("copy.out_text", copy_out_text)
    check("copy.binary_round_trip", copy_binary_round_trip)
    check("copy.error_then_usable", copy_error_then_usable)
    check("copy.in_transaction_rollback", copy_in_transaction_rollback)
    conn.close()


# ---------------------------------------------------------------- 6. cancel

def check_cancel():
    def cancel_sleep():
        conn = connect()
        timer = threading.Timer(0.5, conn.cancel)
        t0 = time.monotonic()
        timer.start()
        try:
            expect_sqlstate(lambda: conn.execute("SELECT pg_sleep(10)"), "57014", "pg_sleep")
        finally:
            timer.cancel()
        elapsed = time.monotonic() - t0
        if not 0.4 <= elapsed < 5:
            raise CheckFailed(f"cancel took {elapsed:.2f} s")
        expect(scalar(conn, "SELECT %s::int4 + 1", [41]), 42, "query after cancel")
        expect(scalar(conn, "SELECT 'still here'"), "still here", "simple query after cancel")
        conn.close()

    def cancel_in_transaction():
        conn = connect(autocommit=False)
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        try:
            expect_sqlstate(lambda: conn.execute("SELECT pg_sleep(10)"), "57014", "pg_sleep in tx")
        finally:
            timer.cancel()
        expect(conn.info.transaction_status, psycopg.pq.TransactionStatus.INERROR, "status")
        conn.rollback()
        expect(scalar(conn, "SELECT 5"), 5, "after rollback")
        conn.commit()
        conn.close()

    def statement_timeout():
        conn = connect()
        conn.execute("SET statement_timeout = '200ms'")
        e = expect_sqlstate(lambda: conn.execute("SELECT pg_sleep(3)"), "57014", "pg_sleep")
        expect(e.diag.message_primary, "canceling statement due to statement timeout", "message")
        conn.execute("RESET statement_timeout")
        expect(scalar(conn, "SELECT pg_sleep(0.3)::text"), "", "sleep under the limit")
        conn.close()

    check("cancel.pg_sleep", cancel_sleep)
    check("cancel.in_transaction", cancel_in_transaction)
    check("cancel.statement_timeout", statement_timeout)


# -------------------------------------------------------- 7. error recovery

def check_errors():
    ident, name = table("err", "id int PRIMARY KEY, v text")
    conn = connect()

    def syntax():
        e = expect_sqlstate(lambda: conn.execute("SELEC 1"), "42601", "simple protocol")
        expect(e.diag.message_primary, 'syntax error at or near "SELEC"', "message")
        expect(scalar(conn, "SELECT 1"), 1, "next query")
        expect_sqlstate(lambda: conn.execute("SELEC %s", [1]), "42601", "extended protocol")
        expect(scalar(conn, "SELECT %s::int4", [2]), 2, "next query")

    def division():
        expect_sqlstate(lambda: conn.execute("SELECT 1/0"), "22012", "simple protocol")
        expect(scalar(conn, "SELECT 3"), 3, "next query")
        expect_sqlstate(lambda: conn.execute("SELECT 1/%s::int4", [0]), "22012", "extended protocol")
        expect(scalar(conn, "SELECT %s::int4", [4]), 4, "next query")

    def unique():
        conn.execute(sql.SQL("INSERT INTO {} VALUES (1, 'a')").format(ident))
        e = expect_sqlstate(lambda: conn.execute(sql.SQL("INSERT INTO {} VALUES (1, 'b')").format(ident)),
                            "23505", "simple protocol")
        expect(e.diag.constraint_name, f"{name}_pkey", "constraint name")
        expect(e.diag.table_name, name, "table name")
        expect_sqlstate(lambda: conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(ident), [1, "c"]),
                        "23505", "extended protocol")
        expect(conn.execute(sql.SQL("SELECT id, v FROM {}").format(ident)).fetchall(), [(1, "a")], "table")

    def undefined_table():
        expect_sqlstate(lambda: conn.execute(f"SELECT * FROM drv_py_{SUFFIX}_missing"), "42P01", "select")
        expect(scalar(conn, "SELECT 'ok'"), "ok", "next query")

    def multi_statement_error():
        # one simple Query with three statements: the first commits on its
        # own (implicit transaction per Query covers all three, so it does not)
        expect_sqlstate(lambda: conn.execute(
            sql.SQL("INSERT INTO {} VALUES (10, 'x'); SELECT 1/0; INSERT INTO {} VALUES (11, 'y')")
            .format(ident, ident)), "22012", "multi-statement")
        expect(scalar(conn, sql.SQL("SELECT count(*) FROM {} WHERE id >= 10").format(ident)), 0,
               "rows of the failed multi-statement query")

    def notice():
        notices = []
        conn.add_notice_handler(lambda d: notices.append((d.severity, d.message_primary)))
        conn.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
        expect(notices, [("NOTICE", "hello 42")], "notices")

    check("errors.syntax_42601", syntax)
    check("errors.division_22012", division)
    check("errors.unique_23505", unique)
    check("errors.undefined_table_42P01", undefined_table)
    check("errors.multi_statement", multi_statement_error)
    check("errors.notice_passthrough", notice)
    conn.close()


# --------------------------------------------------------- 8. session state

def check_session():
    schema = f"drv_py_{SUFFIX}_s"
    with connect() as c:
        c.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        _schemas.append(schema)
        c.execute(sql.SQL("CREATE TABLE {}.sp_probe (v text)").format(sql.Identifier(schema)))
        c.execute(sql.SQL("INSERT INTO {}.sp_probe VALUES ('in schema')").format(sql.Identifier(schema)))

    conn = connect(timeout_guard=False)

    def show(name):
        return scalar(conn, f"SHOW {name}")

    def application_name():
        conn.execute("SET application_name = 'drv_app_one'")
        expect(show("application_name"), "drv_app_one", "SHOW")
        expect(scalar(conn, "SELECT current_setting(%s)", ["application_name"]), "drv_app_one",
               "current_setting (extended)")
        expect(conn.info.parameter_status("application_name"), "drv_app_one", "ParameterStatus")
        conn.execute("SELECT set_config('application_name', 'drv_app_two', false)")
        expect(show("application_name"), "drv_app_two", "after set_config")

    def search_path():
        default = show("search_path")
        expect(default, '"$user", public', "default")
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        expect(show("search_path"), f"{schema}, public", "SHOW")
        for _ in range(5):
            expect(scalar(conn, "SELECT v FROM sp_probe"), "in schema", "unqualified name")
        conn.execute("RESET search_path")
        expect(show("search_path"), default, "after RESET")
        expect_sqlstate(lambda: conn.execute("SELECT v FROM sp_probe"), "42P01", "after RESET")
        conn.execute("SELECT set_config('search_path', %s, false)", [schema])
        expect(scalar(conn, "SELECT v FROM sp_probe"), "in schema", "after set_config")
        conn.execute("RESET search_path")

    def statement_timeout():
        before = show("statement_timeout")
        conn.execute("SET statement_timeout = '1234ms'")
        expect(show("statement_timeout"), "1234ms", "SHOW")
        conn.execute("RESET statement_timeout")
        expect(show("statement_timeout"), before, "after RESET")
        conn.execute("SET statement_timeout = '1min'")
        conn.execute("RESET ALL")
        expect(show("statement_timeout"), before, "after RESET ALL")

    def rolled_back_set():
        conn.execute("SET application_name = 'before_tx'")
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'inside_tx'")
        conn.execute("SET search_path = pg_catalog")
        expect(show("application_name"), "inside_tx", "inside")
        conn.execute("ROLLBACK")
        expect(show("application_name"), "before_tx", "after ROLLBACK")
        expect(show("search_path"), '"$user", public', "search_path after ROLLBACK")

    def set_local_and_committed_set():
        conn.execute("SET application_name = 'outer'")
        conn.execute("BEGIN")
        conn.execute("SET LOCAL application_name = 'local'")
        expect(show("application_name"), "local", "inside")
        conn.execute("COMMIT")
        expect(show("application_name"), "outer", "SET LOCAL after COMMIT")
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'committed'")
        conn.execute("COMMIT")
        expect(show("application_name"), "committed", "SET after COMMIT")

    def reset_in_rolled_back_tx():
        # pg_dump-style restore: the RESET is undone by the ROLLBACK
        conn.execute("SET search_path = ''")
        conn.execute("BEGIN")
        conn.execute("RESET search_path")
        expect(show("search_path"), '"$user", public', "inside")
        conn.execute("ROLLBACK")
        expect(show("search_path"), '""', "after ROLLBACK")
        conn.execute("RESET search_path")

    def discard_all():
        c = connect(timeout_guard=False)
        start = scalar(c, "SHOW application_name")
        c.execute("SET application_name = 'to_discard'")
        c.execute("DISCARD ALL")
        expect(scalar(c, "SHOW application_name"), start, "after DISCARD ALL")
        c.close()

    def server_version():
        ps = conn.info.parameter_status("server_version")
        if ps is None:
            raise CheckFailed("no server_version ParameterStatus")
        expect(ps, show("server_version"), "ParameterStatus vs SHOW")
        expect(conn.info.server_version, int(show("server_version_num")), "server_version")
        c = connect(timeout_guard=False)
        for p in ("server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone",
                  "integer_datetimes", "standard_conforming_strings", "is_superuser",
                  "session_authorization", "application_name"):
            ps = c.info.parameter_status(p)
            if ps is None:
                raise CheckFailed(f"no {p} ParameterStatus")
            expect(ps, scalar(c, f"SHOW {p}"), p)
        c.close()

    check("session.application_name", application_name)
    check("session.search_path", search_path)
    check("session.statement_timeout_reset", statement_timeout)
    check("session.set_in_rolled_back_tx", rolled_back_set)
    check("session.set_local_and_commit", set_local_and_committed_set)
    check("session.reset_in_rolled_back_tx", reset_in_rolled_back_tx)
    check("session.discard_all", discard_all)
    check("session.server_version", server_version)
    conn.close()


# ------------------------------------------------------------ 9. LISTEN

def check_listen():
    if not SESSION_MODE:
        skip("listen.notify", "needs SUITE_SESSION_MODE=1 (transaction pooling)")
        return

    def notify():
        listener = connect()
        got = []
        listener.add_notify_handler(lambda n: got.append((n.channel, n.payload)))
        chan = f"drv_py_{SUFFIX}"
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(chan)))
        with connect() as sender:
            sender.execute("SELECT pg_notify(%s, %s)", [chan, "payload ü 1"])
            sender.execute(sql.SQL("NOTIFY {}, 'payload 2'").format(sql.Identifier(chan)))
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            listener.execute("SELECT 1")  # reading the socket dispatches notifications
            time.sleep(0.05)
        expect(got, [(chan, "payload ü 1"), (chan, "payload 2")], "notifications")
        listener.close()

    check("listen.notify", notify)


# ------------------------------------------------------- 11. concurrency

def check_concurrency():
    n_clients, n_queries = 20, 50
    errors = []

    def client(i):
        try:
            c = connect(timeout_guard=False)
            name = f"drv_c{i}"
            c.execute(sql.SQL("SET application_name = {}").format(sql.Literal(name)))
            for q in range(n_queries):
                if q and q % 10 == 0:
                    name = f"drv_c{i}_{q}"
                    c.execute(sql.SQL("SET application_name = {}").format(sql.Literal(name)))
                got = scalar(c, "SHOW application_name")
                if got != name:
                    errors.append(f"client {i} query {q}: SHOW application_name = {got!r}, expected {name!r}")
                    break
                v = scalar(c, "SELECT %s::int4 * 3 + %s::int4", [i, q], prepare=(q % 2 == 0))
                if v != i * 3 + q:
                    errors.append(f"client {i} query {q}: got {v!r}")
                    break
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(f"client {i}: {type(e).__name__}: {e}")

    def run():
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n_clients)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 40
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            raise CheckFailed("clients still running after 40 s")
        if errors:
            raise CheckFailed(f"{len(errors)} client(s) failed; first: {errors[0]}")

    check(f"concurrency.{n_clients}x{n_queries}_application_name", run)


# ------------------------------------------------------------------ main

def cleanup():
    try:
        with connect() as c:
            for t in _tables:
                c.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(t)))
            for s in _schemas:
                c.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(s)))
    except Exception as e:  # noqa: BLE001
        _out(f"# cleanup failed: {e}")


def main():
    # psycopg logs a warning when a pipeline ends in an error; keep such
    # driver messages on stderr, marked as comments.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("# driver log: %(message)s"))
    logging.getLogger("psycopg").addHandler(handler)
    wd = threading.Timer(BUDGET_S, _watchdog)
    wd.daemon = True
    wd.start()
    _out(f"# psycopg {psycopg.__version__} suite [{LABEL}] "
         f"{os.environ.get('PGHOST')}:{os.environ.get('PGPORT')} run {SUFFIX}")

    def connects():
        with connect() as c:
            expect(scalar(c, "SELECT 1"), 1)
    check("connect", connects)
    if not _failed:
        try:
            section("types", check_types)
            section("prepared", check_prepared)
            section("pipeline", check_pipeline)
            section("tx", check_transactions)
            section("copy", check_copy)
            section("cancel", check_cancel)
            section("errors", check_errors)
            section("session", check_session)
            section("listen", check_listen)
            section("concurrency", check_concurrency)
        finally:
            cleanup()
    wd.cancel()
    return _finish()


if __name__ == "__main__":
    sys.exit(main())
