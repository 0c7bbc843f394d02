#!/usr/bin/python3
"""Driver suite for asyncpg (Debian python3-asyncpg 0.27).

Run with the system interpreter:  /usr/bin/python3 tests/drivers/asyncpg_suite.py

Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
SUITE_LABEL is printed in the header; SUITE_SESSION_MODE=1 enables the checks
that need a session-pooled (or direct) connection (LISTEN/NOTIFY).

Every check prints "ok <name>", "FAIL <name>: <why>" or "skip <name>: <why>";
the last line is "N passed, M failed" and the exit code is non-zero on any
failure. Every operation has a command timeout and the whole run is bounded by
a 60 s watchdog.

asyncpg uses named prepared statements for almost everything (its statement
cache) and binary format for every type it knows, so this suite exercises the
extended protocol, Describe + Flush and prepared statements heavily.
"""

import asyncio
import datetime as dt
import io
import json
import os
import secrets
import sys
import threading
import time
import traceback
import uuid
from decimal import Decimal

import asyncpg

LABEL = os.environ.get("SUITE_LABEL", "direct")
SESSION_MODE = os.environ.get("SUITE_SESSION_MODE") == "1"
SUFFIX = secrets.token_hex(4)
BUDGET_S = float(os.environ.get("SUITE_BUDGET_S", "60"))  # whole-run bound

_lock = threading.Lock()
_passed = 0
_failed = 0
_tables = []
_schemas = []


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


def _same_type(actual, expected):
    # exact type, except that driver subclasses of uuid.UUID are accepted
    if type(actual) is type(expected):
        return True
    return isinstance(expected, uuid.UUID) and isinstance(actual, uuid.UUID)


def expect(actual, expected, what="value"):
    if not _same_type(actual, expected) or actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r} ({type(expected).__name__}),"
                          f" got {actual!r} ({type(actual).__name__})")


async def expect_sqlstate(coro, code, what="statement"):
    try:
        await coro
    except asyncpg.PostgresError as e:
        if e.sqlstate != code:
            raise CheckFailed(f"{what}: expected SQLSTATE {code}, got {e.sqlstate}: {e}")
        return e
    raise CheckFailed(f"{what}: expected SQLSTATE {code}, but it succeeded")


async def check(name, fn):
    global _passed, _failed
    try:
        await asyncio.wait_for(fn(), 30)
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


async def section(name, fn):
    """Runs a group of checks; a failure outside any check (set-up) is
    reported and counted, and the next group still runs."""
    global _failed
    try:
        await asyncio.wait_for(fn(), 45)
    except Exception as e:  # noqa: BLE001
        if os.environ.get("SUITE_DEBUG"):
            traceback.print_exc()
        with _lock:
            _failed += 1
        _out(f"FAIL {name}.setup: {type(e).__name__}: {e}".replace("\n", " | "))


async def connect(**kw):
    return await asyncpg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=int(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER"),
        password=os.environ.get("PGPASSWORD"),
        database=os.environ.get("PGDATABASE"),
        timeout=10,
        command_timeout=20,
        **kw,
    )


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def ql(text):
    return "'" + text.replace("'", "''") + "'"


async def table(purpose, columns):
    name = f"drv_apg_{SUFFIX}_{purpose}"
    c = await connect()
    try:
        await c.execute(f"CREATE TABLE {qi(name)} ({columns})")
    finally:
        await c.close()
    _tables.append(name)
    return qi(name), name


# ---------------------------------------------------------------- 1. types

TS = dt.datetime(2024, 2, 29, 12, 34, 56, 789012, tzinfo=dt.timezone.utc)
IV = dt.timedelta(days=3, hours=4, minutes=5, seconds=6, microseconds=7)
UU = uuid.UUID("6f1c2a4e-9b3d-4c5e-8f70-0123456789ab")
JIN = '{"n": null, "a": [1, 2, {"b": "ü"}]}'
JTEXT = '{"a": [1, 2, {"b": "ü"}], "n": null}'
JOBJ = {"n": None, "a": [1, 2, {"b": "ü"}]}
UNI = "héllo wörld ✓ 日本語 🐘 'q' \"dq\" \\ end"
TEXTS = ["a", "b c", "ü", 'say "hi"', "back\\slash", None, "", "NULL"]
TEXTS_OUT = '{a,"b c",ü,"say \\"hi\\"","back\\\\slash",NULL,"","NULL"}'

# name, sql type, parameter, expected decoded value, server text expression
# ($1 is the parameter), expected server text, literal to decode (None: skip)
BINARY_CASES = [
    ("int2", "int2", 32767, 32767, "($1::int2)::text", "32767", "32767"),
    ("int4", "int4", -2147483648, -2147483648, "($1::int4)::text", "-2147483648", "-2147483648"),
    ("int8", "int8", 9223372036854775807, 9223372036854775807, "($1::int8)::text",
     "9223372036854775807", "9223372036854775807"),
    ("numeric", "numeric", Decimal("-12345678901234567890.000123456789"),
     Decimal("-12345678901234567890.000123456789"), "($1::numeric)::text",
     "-12345678901234567890.000123456789", "-12345678901234567890.000123456789"),
    ("float8", "float8", 3.141592653589793, 3.141592653589793, "($1::float8)::text",
     "3.141592653589793", "3.141592653589793"),
    ("text", "text", UNI, UNI, "$1::text || ''", UNI, UNI),
    ("bytea", "bytea", b"\x00\x01\xff\x80abc'\\", b"\x00\x01\xff\x80abc'\\", "($1::bytea)::text",
     "\\x0001ff80616263275c", "\\x0001ff80616263275c"),
    ("bool_true", "bool", True, True, "($1::bool)::text", "true", "t"),
    ("bool_false", "bool", False, False, "($1::bool)::text", "false", "f"),
    ("date", "date", dt.date(2024, 2, 29), dt.date(2024, 2, 29), "($1::date)::text",
     "2024-02-29", "2024-02-29"),
    ("timestamptz", "timestamptz", TS, TS,
     "to_char(($1::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
     "2024-02-29 12:34:56.789012", "2024-02-29 12:34:56.789012+00"),
    ("interval", "interval", IV, IV, "($1::interval)::text", "3 days 04:05:06.000007",
     "3 days 04:05:06.000007"),
    ("uuid", "uuid", UU, UU, "($1::uuid)::text", str(UU), str(UU)),
    # asyncpg passes json/jsonb as str both ways; jsonb comes back normalized
    ("json", "json", JIN, JIN, "($1::json)::text", JIN, JIN),
    ("jsonb", "jsonb", JIN, JTEXT, "($1::jsonb)::text", JTEXT, JIN),
    ("int4_array", "int4[]", [1, None, -3], [1, None, -3], "($1::int4[])::text",
     "{1,NULL,-3}", "{1,NULL,-3}"),
    ("text_array", "text[]", TEXTS, TEXTS, "($1::text[])::text", TEXTS_OUT, TEXTS_OUT),
    ("null", "int4", None, None, "(($1::int4) IS NULL)::text", "true", None),
]

# the same checks with codecs switched to text format on the wire
TEXT_CODECS = [
    ("int4", str, int),
    ("numeric", str, Decimal),
    ("date", lambda d: d.isoformat(), dt.date.fromisoformat),
    ("uuid", str, uuid.UUID),
    ("json", json.dumps, json.loads),
    ("jsonb", json.dumps, json.loads),
]
TEXT_CASES = [
    ("int4", "int4", -2147483648, -2147483648, "($1::int4)::text", "-2147483648", "-2147483648"),
    ("numeric", "numeric", Decimal("0.000000000000000000001"), Decimal("1E-21"), "($1::numeric)::text",
     "0.000000000000000000001", "0.000000000000000000001"),
    ("date", "date", dt.date(1999, 12, 31), dt.date(1999, 12, 31), "($1::date)::text",
     "1999-12-31", "1999-12-31"),
    ("uuid", "uuid", UU, UU, "($1::uuid)::text", str(UU), str(UU)),
    ("json", "json", JOBJ, JOBJ, "($1::json)::jsonb::text", JTEXT, JTEXT),
    ("jsonb", "jsonb", JOBJ, JOBJ, "($1::jsonb)::text", JTEXT, JTEXT),
    ("null", "int4", None, None, "(($1::int4) IS NULL)::text", "true", None),
]


async def run_type_cases(conn, fmt, cases):
    for name, typ, param, value, texpr, text, literal in cases:
        async def one(typ=typ, param=param, value=value, texpr=texpr, text=text, literal=literal):
            expect(await conn.fetchval(f"SELECT $1::{typ}", param), value, "round trip")
            expect(await conn.fetchval(f"SELECT {texpr}", param), text, "server text")
            if literal is not None:
                expect(await conn.fetchval(f"SELECT {ql(literal)}::{typ}"), value, "decode literal")
        await check(f"types.{fmt}.{name}", one)


async def check_types():
    conn = await connect()
    await run_type_cases(conn, "binary", BINARY_CASES)
    await conn.close()
    conn = await connect()
    for typ, enc, dec in TEXT_CODECS:
        await conn.set_type_codec(typ, schema="pg_catalog", encoder=enc, decoder=dec, format="text")
    await run_type_cases(conn, "text", TEXT_CASES)
    await conn.close()


# ------------------------------------------------------ 2. prepared statements

async def check_prepared():
    conn = await connect()

    async def repeated():
        stmt = await conn.prepare("SELECT $1::int4 * 2 AS doubled, $2::text || '!' AS bang")
        expect([t.name for t in stmt.get_parameters()], ["int4", "text"], "parameter types")
        expect([(a.name, a.type.name) for a in stmt.get_attributes()],
               [("doubled", "int4"), ("bang", "text")], "result columns")
        for i in range(200):
            row = await stmt.fetchrow(i, f"v{i}")
            expect(tuple(row), (i * 2, f"v{i}!"), f"iteration {i}")

    async def interleaved():
        a = await conn.prepare("SELECT $1::int8 + 1000")
        b = await conn.prepare("SELECT upper($1::text)")
        for i in range(100):
            expect(await a.fetchval(i), i + 1000, f"stmt A iteration {i}")
            expect(await b.fetchval(f"x{i}é"), f"X{i}É", f"stmt B iteration {i}")

    async def statement_cache():
        # conn.fetch* with the same text reuses the cached named statement
        for i in range(100):
            row = await conn.fetchrow("SELECT $1::numeric / 4, $2::date + 1", Decimal(i), dt.date(2024, 1, 1))
            expect(tuple(row), (Decimal(i) / 4, dt.date(2024, 1, 2)), f"iteration {i}")

    async def inferred_parameter_type():
        stmt = await conn.prepare("SELECT $1 || 'x', $2 + 1")
        expect([t.name for t in stmt.get_parameters()], ["text", "int4"], "inferred types")
        expect(tuple(await stmt.fetchrow("a", 41)), ("ax", 42), "values")

    async def error_then_reuse():
        stmt = await conn.prepare("SELECT 10 / $1::int4")
        for i in (1, 2, 0, 3, 0, 4):
            if i == 0:
                await expect_sqlstate(stmt.fetchval(i), "22012", "division by prepared zero")
            else:
                expect(await stmt.fetchval(i), 10 // i)

    async def many_distinct():
        # more distinct statements than the driver's cache holds (100)
        for i in range(300):
            expect(await conn.fetchval(f"SELECT $1::int4 + {i}", i), 2 * i, f"statement {i}")

    await check("prepared.repeated_200", repeated)
    await check("prepared.interleaved_two", interleaved)
    await check("prepared.statement_cache", statement_cache)
    await check("prepared.inferred_parameter_types", inferred_parameter_type)
    await check("prepared.error_then_reuse", error_then_reuse)
    await check("prepared.300_distinct", many_distinct)
    await conn.close()


# -------------------------------------------------------------- 3. pipeline

async def check_pipeline():
    t, _ = await table("pipe", "id int PRIMARY KEY, v text")
    conn = await connect()

    async def executemany():
        await conn.executemany(f"INSERT INTO {t} (id, v) VALUES ($1, $2)",
                               [(i, f"v{i}") for i in range(500)])
        expect(tuple(await conn.fetchrow(f"SELECT count(*), sum(id), max(v) FROM {t}")),
               (500, 124750, "v99"), "table")

    async def executemany_atomic():
        rows = [(1000, "a"), (1001, "b"), (1, "dup"), (1002, "c")]
        e = await expect_sqlstate(conn.executemany(f"INSERT INTO {t} (id, v) VALUES ($1, $2)", rows),
                                  "23505", "duplicate in executemany")
        expect(e.constraint_name, f"{t.strip(chr(34))}_pkey", "constraint")
        expect(await conn.fetchval(f"SELECT count(*) FROM {t} WHERE id >= 1000"), 0,
               "rows of the failed executemany")
        expect(await conn.fetchval("SELECT $1::int4", 3), 3, "next query")

    async def executemany_in_transaction():
        async with conn.transaction():
            stmt = await conn.prepare(f"INSERT INTO {t} (id, v) VALUES ($1, 'tx')")
            await stmt.executemany([(i,) for i in range(2000, 2100)])
        expect(await conn.fetchval(f"SELECT count(*) FROM {t} WHERE v = 'tx'"), 100, "rows")

    async def cursor_row_limited():
        # a cursor inside a transaction uses a portal and row-limited Execute
        async with conn.transaction():
            got = [r[0] async for r in conn.cursor("SELECT g FROM generate_series(1, 1000) g", prefetch=64)]
            expect(got, list(range(1, 1001)), "iterated rows")
            cur = await conn.cursor("SELECT g, g::text FROM generate_series($1::int4, $2::int4) g", 1, 100)
            expect([tuple(r) for r in await cur.fetch(3)], [(1, "1"), (2, "2"), (3, "3")], "fetch(3)")
            expect(await cur.forward(10), 10, "forward")
            expect(tuple(await cur.fetchrow()), (14, "14"), "fetchrow")
        expect(await conn.fetchval("SELECT 'after'"), "after", "next query")

    await check("pipeline.executemany", executemany)
    await check("pipeline.executemany_atomic", executemany_atomic)
    await check("pipeline.executemany_in_transaction", executemany_in_transaction)
    await check("pipeline.cursor_row_limited", cursor_row_limited)
    await conn.close()


# ---------------------------------------------------------- 4. transactions

async def check_transactions():
    t, _ = await table("tx", "id int PRIMARY KEY, v text")
    conn = await connect()
    other = await connect()
    count = f"SELECT count(*) FROM {t} WHERE id = $1"
    insert = f"INSERT INTO {t} (id, v) VALUES ($1, $2)"

    async def commit_visible():
        tx = conn.transaction()
        await tx.start()
        await conn.execute(insert, 1, "one")
        expect(await other.fetchval(count, 1), 0, "visible to others before commit")
        await tx.commit()
        expect(await other.fetchval(count, 1), 1, "visible to others after commit")

    async def rollback_invisible():
        tx = conn.transaction()
        await tx.start()
        await conn.execute(insert, 2, "two")
        expect(await conn.fetchval(count, 2), 1, "inside the transaction")
        await tx.rollback()
        expect(await conn.fetchval(count, 2), 0, "after rollback, same connection")
        expect(await other.fetchval(count, 2), 0, "after rollback, other connection")

    async def failed_statement_then_rollback():
        tx = conn.transaction()
        await tx.start()
        await conn.execute(insert, 3, "three")
        await expect_sqlstate(conn.fetchval("SELECT 1 / 0"), "22012", "division")
        await expect_sqlstate(conn.fetchval("SELECT 1"), "25P02", "statement in failed tx")
        await tx.rollback()
        expect(conn.is_in_transaction(), False, "in transaction")
        expect(await conn.fetchval("SELECT $1::text", "alive"), "alive", "next query")
        expect(await conn.fetchval(count, 3), 0, "insert of failed transaction")

    async def nested_savepoint():
        async with conn.transaction():
            await conn.execute(insert, 4, "four")
            try:
                async with conn.transaction():  # SAVEPOINT
                    await conn.execute(insert, 4, "dup")
            except asyncpg.UniqueViolationError:
                pass
            else:
                raise CheckFailed("expected a unique violation inside the savepoint")
            await conn.execute(insert, 5, "five")
        rows = await other.fetch(f"SELECT id, v FROM {t} WHERE id IN (4, 5) ORDER BY id")
        expect([tuple(r) for r in rows], [(4, "four"), (5, "five")], "rows")

    async def simple_begin_rollback():
        await other.execute("BEGIN")
        await other.execute(f"INSERT INTO {t} (id, v) VALUES (6, 'six')")
        expect(other.is_in_transaction(), True, "in transaction")
        await other.execute("ROLLBACK")
        expect(other.is_in_transaction(), False, "in transaction")
        expect(await other.fetchval(count, 6), 0, "rolled back row")

    async def read_only():
        async with conn.transaction(readonly=True):
            await expect_sqlstate(conn.execute(insert, 7, "seven"), "25006", "write in read-only tx")
        expect(await conn.fetchval(count, 7), 0, "row")

    await check("tx.commit_visible", commit_visible)
    await check("tx.rollback_invisible", rollback_invisible)
    await check("tx.failed_statement_then_rollback", failed_statement_then_rollback)
    await check("tx.savepoint", nested_savepoint)
    await check("tx.simple_begin_rollback", simple_begin_rollback)
    await check("tx.read_only", read_only)
    await conn.close()
    await other.close()


# ------------------------------------------------------------------ 5. COPY

def copy_rows():
    rows = []
    for i in range(1, 1001):
        name = f"name {i} ü\t\n\\ end" if i % 3 else f"plain{i}"
        amount = None if i % 7 == 0 else Decimal(i) / 4
        rows.append((i, name, amount))
    return rows


async def check_copy():
    t, tname = await table("copy", "id int PRIMARY KEY, name text, amount numeric")
    t2, t2name = await table("copy2", "id int PRIMARY KEY, name text, amount numeric")
    conn = await connect()
    rows = copy_rows()

    async def records_to_table():
        status = await conn.copy_records_to_table(tname, records=rows, columns=["id", "name", "amount"])
        expect(status, "COPY 1000", "status")
        got = await conn.fetch(f"SELECT id, name, amount FROM {t} ORDER BY id")
        expect([tuple(r) for r in got], rows, "table contents")

    async def from_query_text():
        buf = io.BytesIO()
        status = await conn.copy_from_query(
            f"SELECT id, name, amount FROM {t} WHERE id = ANY($1::int4[]) ORDER BY id", [1, 3, 7],
            output=buf, format="text")
        expect(status, "COPY 3", "status")
        expect(buf.getvalue(),
               b"1\tname 1 \xc3\xbc\\t\\n\\\\ end\t0.25\n3\tplain3\t0.75\n7\tname 7 \xc3\xbc\\t\\n\\\\ end\t\\N\n",
               "raw text COPY")

    async def table_round_trip_binary():
        buf = io.BytesIO()
        expect(await conn.copy_from_table(tname, output=buf, format="binary"), "COPY 1000", "out")
        buf.seek(0)
        expect(await conn.copy_to_table(t2name, source=buf, format="binary"), "COPY 1000", "in")
        got = await conn.fetch(f"SELECT id, name, amount FROM {t2} ORDER BY id")
        expect([tuple(r) for r in got], rows, "copied table")

    async def copy_error_then_usable():
        src = io.BytesIO(b"5001\tok\nnot-a-number\tbad\n")
        await expect_sqlstate(conn.copy_to_table(tname, source=src, columns=["id", "name"]),
                              "22P02", "bad row")
        expect(await conn.fetchval(f"SELECT count(*) FROM {t} WHERE id = 5001"), 0, "row of failed COPY")
        expect(await conn.fetchval("SELECT $1::int4", 12), 12, "next query")

    async def copy_in_rolled_back_tx():
        tx = conn.transaction()
        await tx.start()
        await conn.copy_records_to_table(tname, records=[(6001, "in tx", None)])
        expect(await conn.fetchval(f"SELECT count(*) FROM {t} WHERE id = 6001"), 1, "inside")
        await tx.rollback()
        expect(await conn.fetchval(f"SELECT count(*) FROM {t} WHERE id = 6001"), 0, "after rollback")

    await check("copy.records_to_table", records_to_table)
    await check("copy.from_query_text", from_query_text)
    await check("copy.table_round_trip_binary", table_round_trip_binary)
    await check("copy.error_then_usable", copy_error_then_usable)
    await check("copy.in_rolled_back_tx", copy_in_rolled_back_tx)
    await conn.close()


# ---------------------------------------------------------------- 6. cancel

async def check_cancel():
    async def timeout_sends_cancel():
        conn = await connect()
        t0 = time.monotonic()
        try:
            await conn.fetchval("SELECT pg_sleep(10)", timeout=0.5)
        except asyncio.TimeoutError:
            pass
        else:
            raise CheckFailed("expected a timeout")
        # the next operation waits until the cancel has been answered; had
        # the cancel not reached the backend it would wait for the sleep
        expect(await conn.fetchval("SELECT $1::int4 + 1", 41), 42, "query after cancel")
        elapsed = time.monotonic() - t0
        if not 0.4 <= elapsed < 4:
            raise CheckFailed(f"timeout + recovery took {elapsed:.2f} s")
        expect(await conn.fetchval("SELECT 'still here'"), "still here", "second query")
        await conn.close()

    async def task_cancel():
        conn = await connect()
        task = asyncio.ensure_future(conn.execute("SELECT pg_sleep(10)"))
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise CheckFailed("expected CancelledError")
        expect(await conn.fetchval("SELECT 7"), 7, "query after cancel")
        if time.monotonic() - t0 >= 4:
            raise CheckFailed("cancel did not stop the statement")
        await conn.close()

    async def cancel_in_transaction():
        conn = await connect()
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.fetchval("SELECT pg_sleep(10)", timeout=0.5)
        except asyncio.TimeoutError:
            pass
        else:
            raise CheckFailed("expected a timeout")
        await expect_sqlstate(conn.fetchval("SELECT 1"), "25P02", "after cancel in tx")
        await tx.rollback()
        expect(await conn.fetchval("SELECT 5"), 5, "after rollback")
        await conn.close()

    async def statement_timeout():
        conn = await connect()
        await conn.execute("SET statement_timeout = '200ms'")
        e = await expect_sqlstate(conn.execute("SELECT pg_sleep(3)"), "57014", "pg_sleep")
        expect(e.message, "canceling statement due to statement timeout", "message")
        expect(type(e), asyncpg.QueryCanceledError, "exception class")
        await conn.execute("RESET statement_timeout")
        expect(await conn.fetchval("SELECT pg_sleep(0.3)::text"), "", "sleep under the limit")
        await conn.close()

    await check("cancel.timeout_sends_cancel", timeout_sends_cancel)
    await check("cancel.task_cancel", task_cancel)
    await check("cancel.in_transaction", cancel_in_transaction)
    await check("cancel.statement_timeout_57014", statement_timeout)


# -------------------------------------------------------- 7. error recovery

async def check_errors():
    t, tname = await table("err", "id int PRIMARY KEY, v text")
    conn = await connect()

    async def syntax():
        e = await expect_sqlstate(conn.execute("SELEC 1"), "42601", "simple protocol")
        expect(e.message, 'syntax error at or near "SELEC"', "message")
        expect(await conn.fetchval("SELECT 1"), 1, "next query")
        await expect_sqlstate(conn.fetchval("SELEC $1", 1), "42601", "extended protocol")
        expect(await conn.fetchval("SELECT $1::int4", 2), 2, "next query")

    async def division():
        await expect_sqlstate(conn.execute("SELECT 1/0"), "22012", "simple protocol")
        expect(await conn.fetchval("SELECT 3"), 3, "next query")
        await expect_sqlstate(conn.fetchval("SELECT 1/$1::int4", 0), "22012", "extended protocol")
        expect(await conn.fetchval("SELECT $1::int4", 4), 4, "next query")

    async def unique():
        await conn.execute(f"INSERT INTO {t} VALUES (1, 'a')")
        e = await expect_sqlstate(conn.execute(f"INSERT INTO {t} VALUES (1, 'b')"), "23505", "simple")
        expect(e.constraint_name, f"{tname}_pkey", "constraint name")
        expect(e.table_name, tname, "table name")
        await expect_sqlstate(conn.execute(f"INSERT INTO {t} VALUES ($1, $2)", 1, "c"), "23505", "extended")
        expect([tuple(r) for r in await conn.fetch(f"SELECT id, v FROM {t}")], [(1, "a")], "table")

    async def undefined_table():
        await expect_sqlstate(conn.fetch(f"SELECT * FROM drv_apg_{SUFFIX}_missing"), "42P01", "select")
        expect(await conn.fetchval("SELECT 'ok'"), "ok", "next query")

    async def multi_statement_error():
        await expect_sqlstate(conn.execute(
            f"INSERT INTO {t} VALUES (10, 'x'); SELECT 1/0; INSERT INTO {t} VALUES (11, 'y')"),
            "22012", "multi-statement")
        expect(await conn.fetchval(f"SELECT count(*) FROM {t} WHERE id >= 10"), 0,
               "rows of the failed multi-statement query")

    async def notice():
        got = []
        conn.add_log_listener(lambda c, m: got.append((m.severity, m.message)))
        await conn.execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
        await conn.fetchval("SELECT 1")   # let the callback run
        expect(got, [("NOTICE", "hello 42")], "notices")

    await check("errors.syntax_42601", syntax)
    await check("errors.division_22012", division)
    await check("errors.unique_23505", unique)
    await check("errors.undefined_table_42P01", undefined_table)
    await check("errors.multi_statement", multi_statement_error)
    await check("errors.notice_passthrough", notice)
    await conn.close()


# --------------------------------------------------------- 8. session state

async def check_session():
    schema = f"drv_apg_{SUFFIX}_s"
    c = await connect()
    await c.execute(f"CREATE SCHEMA {qi(schema)}")
    _schemas.append(schema)
    await c.execute(f"CREATE TABLE {qi(schema)}.sp_probe (v text)")
    await c.execute(f"INSERT INTO {qi(schema)}.sp_probe VALUES ('in schema')")
    await c.close()

    conn = await connect()

    async def show(name):
        return await conn.fetchval(f"SHOW {name}")

    async def application_name():
        await conn.execute("SET application_name = 'drv_app_one'")
        expect(await show("application_name"), "drv_app_one", "SHOW")
        expect(await conn.fetchval("SELECT current_setting($1)", "application_name"), "drv_app_one",
               "current_setting")
        expect(conn.get_settings().application_name, "drv_app_one", "ParameterStatus")
        await conn.execute("SELECT set_config('application_name', 'drv_app_two', false)")
        expect(await show("application_name"), "drv_app_two", "after set_config")
        expect(conn.get_settings().application_name, "drv_app_two", "ParameterStatus after set_config")

    async def search_path():
        default = await show("search_path")
        expect(default, '"$user", public', "default")
        await conn.execute(f"SET search_path TO {qi(schema)}, public")
        expect(await show("search_path"), f"{schema}, public", "SHOW")
        for _ in range(5):
            expect(await conn.fetchval("SELECT v FROM sp_probe"), "in schema", "unqualified name")
        await conn.execute("RESET search_path")
        expect(await show("search_path"), default, "after RESET")
        await expect_sqlstate(conn.fetchval("SELECT v FROM sp_probe"), "42P01", "after RESET")
        await conn.execute("SELECT set_config('search_path', $1, false)", schema)
        expect(await conn.fetchval("SELECT v FROM sp_probe"), "in schema", "after set_config")
        await conn.execute("RESET search_path")

    async def statement_timeout():
        before = await show("statement_timeout")
        await conn.execute("SET statement_timeout = '1234ms'")
        expect(await show("statement_timeout"), "1234ms", "SHOW")
        await conn.execute("RESET statement_timeout")
        expect(await show("statement_timeout"), before, "after RESET")
        await conn.execute("SET statement_timeout = '1min'")
        await conn.execute("RESET ALL")
        expect(await show("statement_timeout"), before, "after RESET ALL")

    async def rolled_back_set():
        await conn.execute("SET application_name = 'before_tx'")
        await conn.execute("BEGIN")
        await conn.execute("SET application_name = 'inside_tx'")
        await conn.execute("SET search_path = pg_catalog")
        expect(await show("application_name"), "inside_tx", "inside")
        await conn.execute("ROLLBACK")
        expect(await show("application_name"), "before_tx", "after ROLLBACK")
        expect(await show("search_path"), '"$user", public', "search_path after ROLLBACK")

    async def set_local_and_commit():
        await conn.execute("SET application_name = 'outer'")
        async with conn.transaction():
            await conn.execute("SET LOCAL application_name = 'local'")
            expect(await show("application_name"), "local", "inside")
        expect(await show("application_name"), "outer", "SET LOCAL after COMMIT")
        async with conn.transaction():
            await conn.execute("SET application_name = 'committed'")
        expect(await show("application_name"), "committed", "SET after COMMIT")

    async def reset_in_rolled_back_tx():
        await conn.execute("SET search_path = ''")
        await conn.execute("BEGIN")
        await conn.execute("RESET search_path")
        expect(await show("search_path"), '"$user", public', "inside")
        await conn.execute("ROLLBACK")
        expect(await show("search_path"), '""', "after ROLLBACK")
        await conn.execute("RESET search_path")

    async def server_settings_at_connect():
        # startup parameters other than user/database, as asyncpg sends them
        c = await connect(server_settings={"application_name": "drv_startup", "search_path": schema})
        expect(await c.fetchval("SHOW application_name"), "drv_startup", "application_name")
        expect(await c.fetchval("SELECT v FROM sp_probe"), "in schema", "search_path")
        await c.execute("SET application_name = 'changed'")
        await c.execute("RESET application_name")
        expect(await c.fetchval("SHOW application_name"), "drv_startup", "RESET goes to startup value")
        await c.close()

    async def server_version():
        c = await connect()
        v = c.get_server_version()
        num = int(await c.fetchval("SHOW server_version_num"))
        # asyncpg parses "15.20 (Debian ...)" as major 15, micro 20
        expect(v.major * 10000 + v.micro, num, "server version")
        expect(v.major, num // 10000, "major version")
        s = c.get_settings()
        for p in ("server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
                  "TimeZone", "integer_datetimes", "standard_conforming_strings", "is_superuser",
                  "session_authorization", "application_name"):
            ps = getattr(s, p, None)
            if ps is None:
                raise CheckFailed(f"no {p} ParameterStatus")
            expect(ps, await c.fetchval(f"SHOW {p}"), p)
        await c.close()

    await check("session.application_name", application_name)
    await check("session.search_path", search_path)
    await check("session.statement_timeout_reset", statement_timeout)
    await check("session.set_in_rolled_back_tx", rolled_back_set)
    await check("session.set_local_and_commit", set_local_and_commit)
    await check("session.reset_in_rolled_back_tx", reset_in_rolled_back_tx)
    await check("session.startup_server_settings", server_settings_at_connect)
    await check("session.server_version", server_version)
    await conn.close()


# ------------------------------------------------------------ 9. LISTEN

async def check_listen():
    if not SESSION_MODE:
        skip("listen.notify", "needs SUITE_SESSION_MODE=1 (transaction pooling)")
        return

    async def notify():
        listener = await connect()
        chan = f"drv_apg_{SUFFIX}"
        got = []
        done = asyncio.get_running_loop().create_future()

        def cb(conn, pid, channel, payload):
            got.append((channel, payload))
            if len(got) == 2 and not done.done():
                done.set_result(None)

        await listener.add_listener(chan, cb)
        sender = await connect()
        await sender.execute("SELECT pg_notify($1, $2)", chan, "payload ü 1")
        await sender.execute(f"NOTIFY {qi(chan)}, 'payload 2'")
        await sender.close()
        await asyncio.wait_for(done, 5)
        expect(got, [(chan, "payload ü 1"), (chan, "payload 2")], "notifications")
        await listener.remove_listener(chan, cb)
        await listener.close()

    await check("listen.notify", notify)


# ------------------------------------------------------- 11. concurrency

async def check_concurrency():
    n_clients, n_queries = 20, 50

    async def client(i):
        c = await connect()
        try:
            name = f"drv_c{i}"
            await c.execute(f"SET application_name = {ql(name)}")
            for q in range(n_queries):
                if q and q % 10 == 0:
                    name = f"drv_c{i}_{q}"
                    await c.execute(f"SET application_name = {ql(name)}")
                got = await c.fetchval("SHOW application_name")
                if got != name:
                    raise CheckFailed(f"client {i} query {q}: SHOW application_name = {got!r}, expected {name!r}")
                v = await c.fetchval("SELECT $1::int4 * 3 + $2::int4", i, q)
                if v != i * 3 + q:
                    raise CheckFailed(f"client {i} query {q}: got {v!r}")
        finally:
            await c.close()

    async def run():
        results = await asyncio.gather(*(client(i) for i in range(n_clients)), return_exceptions=True)
        errs = [r for r in results if isinstance(r, BaseException)]
        if errs:
            raise CheckFailed(f"{len(errs)} client(s) failed; first: {type(errs[0]).__name__}: {errs[0]}")

    await check(f"concurrency.{n_clients}x{n_queries}_application_name", run)


# ------------------------------------------------------------------ main

async def cleanup():
    try:
        c = await connect()
        for t in _tables:
            await c.execute(f"DROP TABLE IF EXISTS {qi(t)}")
        for s in _schemas:
            await c.execute(f"DROP SCHEMA IF EXISTS {qi(s)} CASCADE")
        await c.close()
    except Exception as e:  # noqa: BLE001
        _out(f"# cleanup failed: {e}")


async def main():
    _out(f"# asyncpg {asyncpg.__version__} suite [{LABEL}] "
         f"{os.environ.get('PGHOST')}:{os.environ.get('PGPORT')} run {SUFFIX}")

    async def connects():
        c = await connect()
        expect(await c.fetchval("SELECT 1"), 1)
        await c.close()

    await check("connect", connects)
    if _failed:
        return
    try:
        await section("types", check_types)
        await section("prepared", check_prepared)
        await section("pipeline", check_pipeline)
        await section("tx", check_transactions)
        await section("copy", check_copy)
        await section("cancel", check_cancel)
        await section("errors", check_errors)
        await section("session", check_session)
        await section("listen", check_listen)
        await section("concurrency", check_concurrency)
    finally:
        await asyncio.wait_for(cleanup(), 10)


if __name__ == "__main__":
    wd = threading.Timer(BUDGET_S, _watchdog)
    wd.daemon = True
    wd.start()
    asyncio.run(main())
    wd.cancel()
    sys.exit(_finish())
