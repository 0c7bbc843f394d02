"""Routing over two and four shards: rows land where the independent hash says,
reads find them, and what cannot run on one shard gets a clear error.

Every test runs twice: over the dev cluster's two primaries and over the
four-shard cluster. Expected shards come from Python's xxhash
(python3-xxhash), not from shardline's code.
"""
import asyncio

import asyncpg
import psycopg
import pytest
import xxhash

from conftest import direct_port

SLOTS = 4096
LAYOUTS = {
    "two": ("dev", ["s0-primary", "s1-primary"]),
    "four": ("four", ["s0-primary", "s1-primary", "s2-primary", "s3-primary"]),
}
layout = LAYOUTS["two"]  # the layout of the module fixture's current run

MAP = """
[[tables]]
name = "rt_users"
key = "user_id"
type = "bigint"

[[tables]]
name = "rt_orders"
key = "user_id"
type = "bigint"
colocate_with = "rt_users"

# K5: the key written in another case than the table's unquoted column: folded alike.
[[tables]]
name = "RT_Tenants"
key = "Tenant"
type = "text"

[[tables]]
name = "rt_countries"
reference = true
"""

SCHEMA = [
    "DROP TABLE IF EXISTS rt_orders, rt_users, rt_tenants, rt_countries, rt_local",
    "CREATE TABLE rt_users (user_id bigint PRIMARY KEY, name text)",
    "CREATE TABLE rt_orders (user_id bigint, order_id int, amount int, "
    "PRIMARY KEY (user_id, order_id))",
    "CREATE TABLE rt_tenants (tenant text PRIMARY KEY, plan text)",
    "CREATE TABLE rt_countries (code text PRIMARY KEY, name text)",
    "CREATE TABLE rt_local (x int)",
]


def shard_count():
    return len(layout[1])


def shard_of_slot(slot):
    """The shards split the slots evenly, in order."""
    return slot // (SLOTS // shard_count())


def shard_of_int(key):
    """Index of the shard owning an integer key: xxh3_64 of its 8-byte little-endian
    form, slot = top 12 bits."""
    return shard_of_slot(
        xxhash.xxh3_64_intdigest(int(key).to_bytes(8, "little", signed=True)) >> 52)


def shard_of_text(key):
    return shard_of_slot(xxhash.xxh3_64_intdigest(key.encode()) >> 52)


def on_shard(index, sql):
    topology, nodes = layout
    port = direct_port(nodes[index], topology)
    with psycopg.connect(f"host=127.0.0.1 port={port} user=demo password=demo dbname=demo",
                         autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else None


def ids_on_shard(index, table="rt_users", column="user_id"):
    return sorted(row[0] for row in on_shard(index, f"SELECT {column} FROM {table}"))


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def two_shards(workdir, request):
    """The router over the layout of this run (the name stays from the first layout)."""
    global layout
    from conftest import Router
    layout = LAYOUTS[request.param]
    topology, nodes = layout
    r = Router(workdir, shards=nodes, topology=topology, extra=MAP).start()
    with psycopg.connect(r.dsn(), autocommit=True) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
    yield r
    r.stop()


@pytest.fixture
def conn(two_shards):
    with psycopg.connect(two_shards.dsn(), autocommit=True) as c:
        c.execute("TRUNCATE rt_orders, rt_users, rt_tenants, rt_countries")
        yield c


def test_ddl_on_sharded_and_reference_tables_reaches_every_shard(conn):
    for index in range(shard_count()):
        tables = {row[0] for row in on_shard(
            index, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'rt_%'")}
        assert {"rt_users", "rt_orders", "rt_tenants", "rt_countries"} <= tables
    # A table the map does not name lives on the default shard only.
    assert on_shard(0, "SELECT count(*) FROM pg_tables WHERE tablename = 'rt_local'") == [(1,)]
    for index in range(1, shard_count()):
        assert on_shard(index,
                        "SELECT count(*) FROM pg_tables WHERE tablename = 'rt_local'") == [(0,)]


def test_inserts_land_on_the_shard_the_hash_names(conn):
    keys = list(range(1, 41))
    for key in keys[:10]:
        conn.execute(f"INSERT INTO rt_users (user_id, name) VALUES ({key}, 'simple')")
    for key in keys[10:20]:
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'text')", (key,))
    for key in keys[20:30]:
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%b, 'binary')", (key,))
    with conn.cursor() as cur:
        for key in keys[30:]:
            cur.execute("INSERT INTO rt_users (name, user_id) VALUES ('prepared', %s)", (key,),
                        prepare=True)
    for index in range(shard_count()):
        assert ids_on_shard(index) == [k for k in keys if shard_of_int(k) == index]
    assert {shard_of_int(k) for k in keys} == set(range(shard_count()))


def test_asyncpg_binary_parameters_route_by_key(conn, two_shards):
    async def run():
        c = await asyncpg.connect(host="127.0.0.1", port=two_shards.port, user="demo",
                                  password="demo", database="demo")
        try:
            for key in range(100, 120):
                await c.execute("INSERT INTO rt_users (user_id, name) VALUES ($1, $2)", key,
                                f"a{key}")
            names = [await c.fetchval("SELECT name FROM rt_users WHERE user_id = $1", key)
                     for key in range(100, 120)]
            return names
        finally:
            await c.close()
    names = asyncio.run(run())
    assert names == [f"a{key}" for key in range(100, 120)]
    for index in range(shard_count()):
        assert ids_on_shard(index) == [k for k in range(100, 120) if shard_of_int(k) == index]


def test_text_keys_route_by_their_bytes(conn):
    tenants = [f"tenant-{i}" for i in range(20)]
    for tenant in tenants:
        conn.execute("INSERT INTO rt_tenants (tenant, plan) VALUES (%s, 'free')", (tenant,))
    for index in range(shard_count()):
        assert ids_on_shard(index, "rt_tenants", "tenant") == sorted(
            t for t in tenants if shard_of_text(t) == index)
    assert conn.execute("SELECT plan FROM rt_tenants WHERE tenant = 'tenant-7'").fetchall() == [
        ("free",)]


def test_reads_by_key_in_lists_and_scatter(conn):
    for key in range(1, 21):
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, %s)", (key, f"u{key}"))
    assert conn.execute("SELECT name FROM rt_users WHERE user_id = 7").fetchall() == [("u7",)]
    rows = conn.execute("SELECT user_id FROM rt_users WHERE user_id IN (3, 4, 5, 6)").fetchall()
    assert sorted(rows) == [(3,), (4,), (5,), (6,)]
    rows = conn.execute("SELECT user_id FROM rt_users WHERE user_id = ANY(%s)",
                        ([8, 9, 10],)).fetchall()
    assert sorted(rows) == [(8,), (9,), (10,)]
    # No key: every shard's rows under one RowDescription, the count summed.
    cur = conn.execute("SELECT user_id, name FROM rt_users WHERE name LIKE 'u%'")
    assert sorted(cur.fetchall()) == [(k, f"u{k}") for k in range(1, 21)]
    assert cur.rowcount == 20
    assert [d.name for d in cur.description] == ["user_id", "name"]
    cur = conn.execute("SELECT user_id FROM rt_users WHERE name LIKE %s", ("u1%",))
    assert sorted(r[0] for r in cur.fetchall()) == [1] + list(range(10, 20))


def test_copy_out_streams_every_shard(conn):
    for key in range(1, 11):
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'c')", (key,))
    with conn.cursor() as cur:
        with cur.copy("COPY rt_users (user_id) TO STDOUT") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
    assert sorted(int(line) for line in data.decode().split()) == list(range(1, 11))


def test_reference_tables_written_everywhere_read_once(conn):
    cur = conn.execute("INSERT INTO rt_countries (code, name) VALUES ('fr', 'France'), "
                       "('de', 'Germany')")
    assert cur.rowcount == 2  # one shard's count, not the sum of copies
    for index in range(shard_count()):
        assert on_shard(index, "SELECT code FROM rt_countries ORDER BY code") == [("de",), ("fr",)]
    assert sorted(conn.execute("SELECT code FROM rt_countries").fetchall()) == [("de",), ("fr",)]
    conn.execute("INSERT INTO rt_users (user_id, name) VALUES (5, 'fr')")
    rows = conn.execute("SELECT c.name FROM rt_users u JOIN rt_countries c ON c.code = u.name "
                        "WHERE u.user_id = 5").fetchall()
    assert rows == [("France",)]


def test_colocated_join_and_transaction_on_one_shard(conn):
    with conn.transaction():
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (11, 'x')")
        conn.execute("INSERT INTO rt_orders (user_id, order_id, amount) VALUES (11, 1, 5)")
        conn.execute("INSERT INTO rt_orders (user_id, order_id, amount) VALUES (11, 2, 7)")
    rows = conn.execute("SELECT sum(o.amount) FROM rt_users u JOIN rt_orders o "
                        "ON o.user_id = u.user_id WHERE u.user_id = 11").fetchall()
    assert rows == [(12,)]
    owner = shard_of_int(11)
    for index in range(shard_count()):
        assert ids_on_shard(index, "rt_orders") == ([11, 11] if index == owner else [])


def keys_on(index, count, start=1000):
    out = []
    key = start
    while len(out) < count:
        if shard_of_int(key) == index:
            out.append(key)
        key += 1
    return out


def test_a_second_shard_in_a_transaction_is_refused_and_nothing_commits(conn):
    a = keys_on(0, 1)[0]
    b = keys_on(1, 1)[0]
    with pytest.raises(psycopg.Error) as failure:
        with conn.transaction():
            conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'a')", (a,))
            conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'b')", (b,))
    assert failure.value.sqlstate == "SL003"
    assert "shard s1" in str(failure.value) and "shard s0" in str(failure.value)
    assert ids_on_shard(0) == [] and ids_on_shard(1) == []
    # The session is usable afterwards, on either shard.
    conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'b')", (b,))
    assert ids_on_shard(1) == [b]


def test_statements_of_one_query_string_must_share_a_shard(conn):
    a = keys_on(0, 1)[0]
    b = keys_on(1, 1)[0]
    with pytest.raises(psycopg.Error) as failure:
        conn.execute(f"INSERT INTO rt_users (user_id, name) VALUES ({a}, 'a'); "
                     f"INSERT INTO rt_users (user_id, name) VALUES ({b}, 'b')")
    assert failure.value.sqlstate == "SL003"
    assert ids_on_shard(0) == [] and ids_on_shard(1) == []
    a2 = keys_on(0, 2)[1]
    conn.execute(f"INSERT INTO rt_users (user_id, name) VALUES ({a}, 'a'); "
                 f"INSERT INTO rt_users (user_id, name) VALUES ({a2}, 'a')")
    assert ids_on_shard(0) == sorted([a, a2])


def test_begin_without_statements_and_read_only_transactions(conn):
    conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    level = conn.execute("SHOW transaction_isolation").fetchone()[0]
    conn.execute("COMMIT")
    assert level == "repeatable read"
    # The BEGIN's options reach the shard the transaction runs on.
    key = keys_on(1, 1)[0]
    conn.execute("BEGIN READ ONLY")
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'x')", (key,))
    assert failure.value.sqlstate == "25006"
    conn.execute("ROLLBACK")
    assert ids_on_shard(1) == []


def test_psycopg_transactions_route_on_each_shard(two_shards, conn):
    with psycopg.connect(two_shards.dsn()) as c:  # not autocommit: psycopg sends BEGIN
        for key in keys_on(0, 3) + keys_on(1, 3):
            c.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 't')", (key,))
            c.commit()
        cur = c.execute("SELECT name FROM rt_users WHERE user_id = %s", (keys_on(1, 1)[0],))
        assert cur.fetchall() == [("t",)]
        c.rollback()
    assert ids_on_shard(0) == keys_on(0, 3) and ids_on_shard(1) == keys_on(1, 3)


def test_writes_without_a_key_are_refused(conn):
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("UPDATE rt_users SET name = 'x'")
    assert failure.value.sqlstate == "SL001"
    assert "rt_users" in str(failure.value) and "user_id" in str(failure.value)
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("UPDATE rt_users SET user_id = 2 WHERE user_id = 1")
    assert failure.value.sqlstate == "SL002"
    # The error points at the statement it is about.
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("SELECT 'é'; UPDATE rt_users SET name = 'x'")
    assert failure.value.sqlstate == "SL001"
    assert failure.value.diag.statement_position == "13"


def test_multishard_writes_when_allowed(router_factory, conn):
    r = router_factory(shards=layout[1], topology=layout[0],
                       extra="[routing]\nallow_multishard_writes = true\n" + MAP)
    for key in keys_on(0, 2) + keys_on(1, 3):
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'old')", (key,))
    with psycopg.connect(r.dsn(), autocommit=True) as c:
        cur = c.execute("UPDATE rt_users SET name = 'new' WHERE name = 'old'")
        assert cur.rowcount == 5  # counts summed over the shards
    for index in (0, 1):
        assert on_shard(index, "SELECT DISTINCT name FROM rt_users") == [("new",)]


def test_merges_not_supported_yet_get_a_clear_error(conn):
    for sql in ["SELECT * FROM rt_users ORDER BY user_id",
                "SELECT count(*) FROM rt_users",
                "SELECT * FROM rt_users LIMIT 1"]:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(sql)
        assert failure.value.sqlstate == "SL004", sql
        assert "not supported yet" in str(failure.value)


def test_hints_pick_the_shard(conn):
    for key in keys_on(0, 2) + keys_on(1, 3):
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'h')", (key,))
    assert conn.execute("/* shardline: shard=s1 */ SELECT count(*) FROM rt_users").fetchall() == [
        (3,)]
    assert conn.execute("/* shardline: shard=s0 */ SELECT count(*) FROM rt_users").fetchall() == [
        (2,)]
    key = keys_on(1, 1)[0]
    assert conn.execute(f"/* shardline: key={key} */ SELECT count(*) FROM rt_users").fetchall() == [
        (3,)]
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("/* shardline: shard=s9 */ SELECT 1")
    assert failure.value.sqlstate == "SL006"


def test_errors_of_a_statement_on_every_shard(conn):
    # Every shard says the same: the client sees it as Postgres says it.
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("CREATE TABLE rt_users (x int)")
    assert failure.value.sqlstate == "42P07"
    assert failure.value.diag.message_primary == 'relation "rt_users" already exists'
    # One shard differs: the error names it.
    on_shard(1, "ALTER TABLE rt_users ADD COLUMN extra int")
    try:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("ALTER TABLE rt_users ADD COLUMN extra int")
        assert failure.value.sqlstate == "42701"
        assert failure.value.diag.message_primary == (
            'shard s1: column "extra" of relation "rt_users" already exists')
    finally:
        conn.execute("ALTER TABLE rt_users DROP COLUMN IF EXISTS extra")
    assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_reference_writes_with_returning_return_each_row_once(conn):
    cur = conn.execute("INSERT INTO rt_countries (code, name) VALUES ('pt', 'Portugal'), "
                       "('es', 'Spain') RETURNING code")
    assert cur.rowcount == 2
    assert sorted(cur.fetchall()) == [("es",), ("pt",)]
    cur = conn.execute("UPDATE rt_countries SET name = upper(name) WHERE code = 'pt' "
                       "RETURNING name")
    assert cur.fetchall() == [("PORTUGAL",)]


def test_multi_row_insert_on_one_shard_and_across_shards(conn):
    a, a2 = keys_on(0, 2)
    conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'm'), (%s, 'm')", (a, a2))
    assert ids_on_shard(0) == sorted([a, a2])


def test_multi_row_insert_splits_by_shard_simple_protocol(conn):
    """K1: rows of one INSERT on different shards land each on its own shard, once."""
    keys = keys_on(0, 2, 2000) + keys_on(1, 2, 2000)
    keys = [keys[0], keys[2], keys[1], keys[3]]  # rows of the shards interleaved
    values = ", ".join(f"({k}, 'k{k}')" for k in keys)
    cur = conn.execute(f"INSERT INTO rt_users (user_id, name) VALUES {values} RETURNING user_id")
    assert cur.rowcount == 4
    # RETURNING rows come back in the order of the VALUES rows, as from one Postgres.
    assert [r[0] for r in cur.fetchall()] == keys
    for index in range(shard_count()):
        assert ids_on_shard(index) == sorted(k for k in keys if shard_of_int(k) == index)


def test_multi_row_insert_splits_by_shard_with_parameters(conn, two_shards):
    """K1 with parameters ($1, $2), ($3, $4): each shard gets its rows and only their
    parameters, renumbered; ON CONFLICT parameters are kept."""
    keys = keys_on(1, 2, 3000) + keys_on(0, 2, 3000)
    params = []
    for k in keys:
        params += [k, f"p{k}"]
    sql = ("INSERT INTO rt_users (user_id, name) VALUES (%s, %s), (%s, %s), (%s, %s), (%s, %s) "
           "ON CONFLICT (user_id) DO UPDATE SET name = %s RETURNING user_id, name")
    cur = conn.execute(sql, params + ["again"])
    assert cur.fetchall() == [(k, f"p{k}") for k in keys]
    cur = conn.execute(sql, params + ["again"], binary=True)
    assert sorted(cur.fetchall()) == sorted((k, "again") for k in keys)
    assert cur.rowcount == 4

    async def run():
        c = await asyncpg.connect(host="127.0.0.1", port=two_shards.port, user="demo",
                                  password="demo", database="demo")
        try:
            more = keys_on(0, 1, 4000) + keys_on(1, 1, 4000)
            status = await c.execute("INSERT INTO rt_users (user_id, name) VALUES ($1, $2), "
                                     "($3, $4)", more[0], "x", more[1], "y")
            return more, status
        finally:
            await c.close()
    more, status = asyncio.run(run())
    assert status == "INSERT 0 2"
    everything = keys + more
    for index in range(shard_count()):
        assert ids_on_shard(index) == sorted(k for k in everything if shard_of_int(k) == index)


def test_multi_row_insert_across_shards_in_a_transaction_is_refused(conn):
    a = keys_on(0, 1)[0]
    b = keys_on(1, 1)[0]
    with pytest.raises(psycopg.Error) as failure:
        with conn.transaction():
            conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'm'), (%s, 'm')",
                         (a, b))
    assert failure.value.sqlstate == "SL003"
    assert ids_on_shard(0) == [] and ids_on_shard(1) == []


def test_session_hints_by_set(conn):
    for key in keys_on(0, 2) + keys_on(1, 3):
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'h')", (key,))
    conn.execute("SET shardline.shard = 's1'")
    assert conn.execute("SHOW shardline.shard").fetchall() == [("s1",)]
    assert conn.execute("SELECT count(*) FROM rt_users").fetchall() == [(3,)]
    # Extended protocol too.
    assert conn.execute("SELECT count(*) FROM rt_users WHERE name = %s", ("h",)).fetchall() == [
        (3,)]
    conn.execute("RESET shardline.shard")
    conn.execute(f"SET shardline.key = {keys_on(0, 1)[0]}")
    assert conn.execute("SELECT count(*) FROM rt_users").fetchall() == [(2,)]
    # A hint in the statement wins over the session's.
    assert conn.execute("/* shardline: shard=s1 */ SELECT count(*) FROM rt_users").fetchall() == [
        (3,)]
    conn.execute("RESET ALL")
    with conn.transaction():
        conn.execute("SET LOCAL shardline.shard = 's1'")
        assert conn.execute("SELECT count(*) FROM rt_users").fetchall() == [(3,)]
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("SELECT count(*) FROM rt_users")  # the SET LOCAL ended with its transaction
    assert failure.value.sqlstate == "SL004"
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("SET shardline.shard = 's9'")
    assert failure.value.sqlstate == "SL006"
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("SET shardline.colour = 'red'")
    assert failure.value.sqlstate == "42704"


def test_insert_without_a_column_list_routes_by_catalog_order(conn, two_shards):
    """K6: a prepared INSERT INTO t VALUES ($1, $2) executed with many keys: each
    execution goes to its key's shard (the key's position comes from the catalog)."""
    keys = list(range(5000, 5030))
    conn.execute("INSERT INTO rt_users VALUES (4999, 'literal')")
    with conn.cursor() as cur:
        for key in keys:
            cur.execute("INSERT INTO rt_users VALUES (%s, %s)", (key, f"k{key}"), prepare=True)

    async def run():
        c = await asyncpg.connect(host="127.0.0.1", port=two_shards.port, user="demo",
                                  password="demo", database="demo")
        try:
            statement = await c.prepare("INSERT INTO rt_users VALUES ($1, $2)")
            for key in range(6000, 6020):
                await statement.fetch(key, f"a{key}")
        finally:
            await c.close()
    asyncio.run(run())
    everything = [4999] + keys + list(range(6000, 6020))
    for index in range(shard_count()):
        assert ids_on_shard(index) == sorted(k for k in everything if shard_of_int(k) == index)
    # Rows over several shards split as with a column list.
    cur = conn.execute("INSERT INTO rt_users VALUES (%s, 'a'), (%s, 'b')",
                       (keys_on(0, 1, 7000)[0], keys_on(1, 1, 7000)[0]))
    assert cur.rowcount == 2


def test_copy_from_stdin_splits_rows_by_key(conn, two_shards):
    """K4: COPY FROM STDIN into a sharded table in text, CSV (header, quoted newlines) and
    binary: every row reaches the shard that owns it, once, while other clients use the pool."""
    import threading
    stop = threading.Event()
    errors = []

    def compete():
        try:
            with psycopg.connect(two_shards.dsn(), autocommit=True) as other:
                while not stop.is_set():
                    other.execute("SELECT name FROM rt_users WHERE user_id = 1").fetchall()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=compete) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        with conn.cursor() as cur:
            with cur.copy("COPY rt_users (user_id, name) FROM STDIN") as copy:
                for key in range(100, 160):
                    copy.write_row((key, f"text\t{key}"))
            assert cur.rowcount == 60
            with cur.copy("COPY rt_users (name, user_id) FROM STDIN (FORMAT csv, HEADER true)") \
                    as copy:
                copy.write(b"name,user_id\n")
                for key in range(200, 230):
                    copy.write(f'"csv,\n{key}",{key}\n'.encode())
            assert cur.rowcount == 30
            with cur.copy("COPY rt_users FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(["int8", "text"])
                for key in range(300, 340):
                    copy.write_row((key, f"bin{key}"))
            assert cur.rowcount == 40
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == []
    keys = list(range(100, 160)) + list(range(200, 230)) + list(range(300, 340))
    for index in range(shard_count()):
        assert ids_on_shard(index) == sorted(k for k in keys if shard_of_int(k) == index)
    assert conn.execute("SELECT name FROM rt_users WHERE user_id = 205").fetchall() == [
        ("csv,\n205",)]
    assert conn.execute("SELECT name FROM rt_users WHERE user_id = 101").fetchall() == [
        ("text\t101",)]


def test_copy_with_a_row_without_key_or_a_client_failure_keeps_nothing(conn):
    with pytest.raises(psycopg.Error) as failure:
        with conn.cursor() as cur:
            with cur.copy("COPY rt_users (user_id, name) FROM STDIN") as copy:
                copy.write(b"1\ta\n2\tb\n\\N\tc\n3\td\n")
    assert failure.value.sqlstate == "SL001"
    assert "row 3" in str(failure.value)
    with pytest.raises((ZeroDivisionError, psycopg.errors.QueryCanceled)):
        with conn.cursor() as cur:
            with cur.copy("COPY rt_users (user_id, name) FROM STDIN") as copy:
                copy.write(b"4\ta\n5\tb\n")
                raise ZeroDivisionError()  # psycopg ends the COPY with CopyFail
    for index in range(shard_count()):
        assert ids_on_shard(index) == []
    assert conn.execute("SELECT 1").fetchall() == [(1,)]
    with pytest.raises(psycopg.Error) as failure:
        with conn.transaction():
            with conn.cursor().copy("COPY rt_users (user_id, name) FROM STDIN") as copy:
                copy.write(b"4\ta\n")
    assert failure.value.sqlstate == "SL003"


def test_cancel_reaches_every_shard_of_a_scatter(conn, two_shards):
    import threading
    import time
    for index in range(shard_count()):
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 's')",
                     (keys_on(index, 1)[0],))
    with psycopg.connect(two_shards.dsn(), autocommit=True) as c:
        timer = threading.Timer(0.5, c.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            c.execute("SELECT pg_sleep(20) FROM rt_users WHERE name = 's'")
        assert time.monotonic() - started < 15
        timer.join()
        assert c.execute("SELECT 1").fetchall() == [(1,)]


def test_hint_in_an_extended_protocol_statement_with_quoted_names(conn):
    """K2: a hint in the text of a Parse routes it, and quoted mixed-case names stay as
    written. "Sys"."Model" exists on s1 only, so any other shard would fail with 42P01."""
    on_shard(1, 'CREATE SCHEMA IF NOT EXISTS "Sys"')
    on_shard(1, 'CREATE TABLE IF NOT EXISTS "Sys"."Model" (id int, "Name" text)')
    on_shard(1, 'TRUNCATE "Sys"."Model"')
    on_shard(1, """INSERT INTO "Sys"."Model" VALUES (1, 'on s1')""")
    rows = conn.execute('/* shardline: shard=s1 */ SELECT "Name" FROM "Sys"."Model" WHERE id = %s',
                        (1,)).fetchall()
    assert rows == [("on s1",)]
    with conn.cursor() as cur:
        for _ in range(3):
            cur.execute('/* shardline: shard=s1 */ SELECT "Name" FROM "Sys"."Model" '
                        'WHERE id = %s', (1,), prepare=True)
            assert cur.fetchall() == [("on s1",)]


def test_several_statements_on_one_shard_run_as_postgres_runs_them(conn):
    """K3, one shard: INSERT; BEGIN; INSERT in one query string, then ROLLBACK. As in
    Postgres, the BEGIN turns the string's implicit transaction into an explicit one,
    so the ROLLBACK undoes both rows."""
    a, a2 = keys_on(0, 2)
    conn.execute(f"INSERT INTO rt_users (user_id, name) VALUES ({a}, 'x'); BEGIN; "
                 f"INSERT INTO rt_users (user_id, name) VALUES ({a2}, 'y');")
    conn.execute("ROLLBACK")
    assert ids_on_shard(0) == []


def test_copy_into_a_reference_table_reaches_every_shard(conn):
    """A COPY into a reference table used to wait forever for every shard's COPY to end."""
    with conn.cursor() as cur:
        with cur.copy("COPY rt_countries (code, name) FROM STDIN") as copy:
            copy.write(b"fr\tFrance\nde\tGermany\n")
        assert cur.rowcount == 2
    for index in range(shard_count()):
        assert on_shard(index, "SELECT code FROM rt_countries ORDER BY code") == [("de",), ("fr",)]


def test_a_binary_float_parameter_is_not_read_as_a_bigint_key(conn):
    """A float8 is 8 bytes like an int8: 4.0 in binary must not be hashed as an int64."""
    key = keys_on(1, 1)[0]
    conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%s, 'f')", (key,))
    rows = conn.execute("SELECT name FROM rt_users WHERE user_id = %b", (float(key),)).fetchall()
    assert rows == [("f",)]  # asked every shard, found on the owner
    with pytest.raises(psycopg.Error) as failure:
        conn.execute("INSERT INTO rt_users (user_id, name) VALUES (%b, 'x')", (float(key) + 1,))
    assert failure.value.sqlstate == "SL001"


def test_a_hint_that_contradicts_the_key_is_refused(conn):
    a = keys_on(0, 1)[0]
    with pytest.raises(psycopg.Error) as failure:
        conn.execute(f"/* shardline: shard=s1 */ INSERT INTO rt_users (user_id, name) "
                     f"VALUES ({a}, 'x')")
    assert failure.value.sqlstate == "SL006"
    conn.execute(f"SET shardline.shard = 's1'")
    with pytest.raises(psycopg.Error) as failure:
        conn.execute(f"SELECT * FROM rt_users WHERE user_id = {a}")
    assert failure.value.sqlstate == "SL006"
    conn.execute("DISCARD ALL")  # clears the session's hints too
    assert conn.execute(f"SELECT count(*) FROM rt_users WHERE user_id = {a}").fetchall() == [(0,)]
    for index in range(shard_count()):
        assert ids_on_shard(index) == []
