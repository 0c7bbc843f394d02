"""Session state under transaction pooling: each client sees exactly the settings,
role and prepared statements it made, as if it had a Postgres connection of its
own, whichever backend serves each transaction; backends go back to the pool
clean. Regression tests for shared/cases/session.md name their case (S1..S6).

Roles it_sess_r<i> (members granted to demo) and schemas it_sess_s<i> (owned by
the role, holding a table marker(v) = i) are made on s0-primary by the
postgres superuser.
"""
import concurrent.futures
import contextlib
import time

import psycopg
import pytest

import pgwire
from conftest import direct_dsn, direct_port, superuser_sql
from pgwire import bind, copy_data, execute, parse, query, summarize, sync

HOST = "127.0.0.1"
CLIENTS = 30
DEFAULT_PATH = '"$user", public'


@pytest.fixture(scope="module", autouse=True)
def roles_and_schemas():
    statements = []
    for i in range(1, CLIENTS + 1):
        statements.append(f"""
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'it_sess_r{i}') THEN
              CREATE ROLE it_sess_r{i} NOLOGIN;
            END IF;
            GRANT it_sess_r{i} TO demo;
            CREATE SCHEMA IF NOT EXISTS it_sess_s{i} AUTHORIZATION it_sess_r{i};
            IF to_regclass('it_sess_s{i}.marker') IS NULL THEN
              CREATE TABLE it_sess_s{i}.marker (v int);
              ALTER TABLE it_sess_s{i}.marker OWNER TO it_sess_r{i};
              INSERT INTO it_sess_s{i}.marker VALUES ({i});
            END IF;""")
    superuser_sql("DO $$BEGIN " + "".join(statements) + " END$$")
    with psycopg.connect(direct_dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS it_sess_rows (id int)")
        conn.execute("CREATE TABLE IF NOT EXISTS it_sess_copy (id int)")
    yield


def wire(port, **kwargs):
    return pgwire.Conn(HOST, port, **kwargs)


def one(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()


def show(conn, name):
    return one(conn, f"SHOW {name}")[0]


@contextlib.contextmanager
def occupy(router):
    """Holds the most recently released backend of `router` in an open transaction.

    The next transaction of any other client then runs on another backend.
    Yields that backend's pid.
    """
    conn = router.connect(autocommit=False)
    try:
        pid = one(conn, "SELECT pg_backend_pid()")[0]
        yield pid
    finally:
        conn.rollback()
        conn.close()


def backend_pid(conn):
    return one(conn, "SELECT pg_backend_pid()")[0]


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def stat_activity(pid):
    with psycopg.connect(direct_dsn(), autocommit=True) as conn:
        row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row[0] if row else None


def not_idle_in_transaction(pid):
    return stat_activity(pid) not in ("idle in transaction", "idle in transaction (aborted)",
                                      "active")


def assert_clean_transaction(conn):
    """The next statement starts a fresh transaction: nothing was left open on the backend."""
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert one(conn, "SELECT now() = statement_timestamp(), txid_current_if_assigned()") == \
        (True, None)


# S1..S6 -----------------------------------------------------------------------------------

def test_s1_reset_is_tracked(router):
    """S1: SET statement_timeout = '1min'; RESET statement_timeout; SHOW gives 0, on other backends too."""
    with router.connect() as conn, psycopg.connect(direct_dsn(), autocommit=True) as direct:
        for c in (conn, direct):
            c.execute("SET statement_timeout = '1min'")
            c.execute("RESET statement_timeout")
        assert show(conn, "statement_timeout") == show(direct, "statement_timeout") == "0"
        conn.execute("SET statement_timeout = '1min'; RESET statement_timeout")
        with occupy(router):
            assert show(conn, "statement_timeout") == "0"


def test_s2_set_config_session_follows_client(router):
    """S2: set_config('search_path', 'it_sess_s1', false); later queries on other backends resolve in it_sess_s1."""
    with router.connect() as conn:
        assert one(conn, "SELECT set_config('search_path', 'it_sess_s1', false)") == \
            ("it_sess_s1",)
        first = backend_pid(conn)
        assert one(conn, "SELECT v FROM marker") == (1,)
        with occupy(router) as held:
            assert held == first
            assert backend_pid(conn) != first
            assert one(conn, "SELECT v FROM marker") == (1,)
            assert show(conn, "search_path") == "it_sess_s1"


@pytest.mark.parametrize("how", ["plain", "advisory lock", "in transaction"])
def test_s3_role_not_inherited_by_next_client(router_factory, how):
    """S3: a client SET ROLE it_sess_r1 (plain / holding an advisory lock / mid-transaction) and leaves; next client is demo."""
    r = router_factory(max_size=1)
    with r.connect() as a:
        if how == "advisory lock":
            a.execute("SELECT pg_advisory_lock(7001)")
        a.execute("SET ROLE it_sess_r1")
        if how == "in transaction":
            a.execute("BEGIN")
            a.execute("SET ROLE it_sess_r2")
        assert one(a, "SELECT current_user")[0] in ("it_sess_r1", "it_sess_r2")
    with r.connect() as b:
        assert one(b, "SELECT current_user, session_user") == ("demo", "demo")
        assert show(b, "role") == "none"
        assert_clean_transaction(b)


def test_s4_disconnect_mid_transaction_rolls_back(router_factory):
    """S4: BEGIN; INSERT; SELECT 1 then the client drops: the next client sees no open transaction and no row."""
    r = router_factory(max_size=1)
    with psycopg.connect(direct_dsn(), autocommit=True) as d:
        d.execute("TRUNCATE it_sess_rows")
    a = wire(r.port)
    a.simple("BEGIN")
    a.simple("INSERT INTO it_sess_rows VALUES (1)")
    pid = int(a.scalar("SELECT pg_backend_pid()"))
    a.abort()
    with r.connect() as b:
        assert_clean_transaction(b)
        assert one(b, "SELECT count(*) FROM it_sess_rows") == (0,)
    assert wait_until(lambda: not_idle_in_transaction(pid))


@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_s4_pinned_client_drops_mid_transaction(router_factory, mode):
    """S4: a pinned client (advisory lock) in BEGIN; SELECT 1 drops: backend rolled back and reset, reused clean."""
    r = router_factory(max_size=1, mode=mode)
    a = wire(r.port)
    a.simple("SELECT pg_advisory_lock(7002)")
    a.simple("SET statement_timeout = '77s'")
    a.simple("BEGIN")
    a.simple("SELECT 1")
    pid = int(a.scalar("SELECT pg_backend_pid()"))
    a.abort()
    with r.connect() as b:
        assert_clean_transaction(b)
        assert show(b, "statement_timeout") == "0"
        assert one(b, "SELECT pg_try_advisory_lock(7002)") == (True,)
        b.execute("SELECT pg_advisory_unlock(7002)")
    assert wait_until(lambda: not_idle_in_transaction(pid))
    assert "DISCARD ALL cannot run inside a transaction block" not in r.log_text()


def test_s5_pg_dump_restore_search_path(router):
    """S5: SET search_path = ''; BEGIN; RESET search_path; ROLLBACK leaves search_path empty; others unaffected."""
    script = ["SET search_path = ''", "BEGIN", "RESET search_path", "ROLLBACK"]
    with router.connect() as conn, psycopg.connect(direct_dsn(), autocommit=True) as direct:
        for sql in script:
            conn.execute(sql)
            direct.execute(sql)
        assert show(conn, "search_path") == show(direct, "search_path") == '""'
        with occupy(router):
            assert show(conn, "search_path") == '""'
        with router.connect() as other:
            assert show(other, "search_path") == DEFAULT_PATH


@pytest.mark.parametrize("protocol", ["simple", "extended"])
def test_s6_advisory_lock_released_on_disconnect(router, protocol):
    """S6: SELECT pg_advisory_lock(7) in transaction mode, then disconnect: another client can take lock 7."""
    with router.connect() as a:
        if protocol == "simple":
            a.execute("SELECT pg_advisory_lock(7)")
        else:
            a.execute("SELECT pg_advisory_lock(%s)", (7,))
        with router.connect() as b:
            assert one(b, "SELECT pg_try_advisory_lock(7)") == (False,)
        for _ in range(3):  # the lock stays with a's session across transactions
            assert one(a, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND objid = 7 AND pid = pg_backend_pid()") == (1,)
    with router.connect() as b:
        assert wait_until(lambda: one(b, "SELECT pg_try_advisory_lock(7)") == (True,))
        assert one(b, "SELECT pg_advisory_unlock(7)") == (True,)


# Many clients, one small pool ----------------------------------------------------------------

def client_workload(r, i, rounds):
    """One client's own settings, role and prepared statements over `rounds` transactions."""
    app = f"it-client-{i}"
    timeout_ms = 1000 + i
    with r.connect() as conn:
        conn.execute(f"SET application_name = '{app}'")
        conn.execute(f"SET search_path = it_sess_s{i}")
        conn.execute(f"SET statement_timeout = '{timeout_ms}ms'")
        conn.execute(f"SET ROLE it_sess_r{i}")
        probe = ("SELECT %s::int, current_user, current_setting('application_name'), "
                 "current_setting('search_path'), current_setting('statement_timeout'), "
                 "current_setting('work_mem'), (SELECT v FROM marker)")
        for n in range(rounds):
            if n % 20 == 10:
                timeout_ms += 1000
                conn.execute(f"SET statement_timeout = '{timeout_ms}ms'")
            want = (n, f"it_sess_r{i}", app, f"it_sess_s{i}", f"{timeout_ms}ms", "4MB", i)
            if n % 3 == 0:
                got = one(conn, probe, (n,))  # prepared by psycopg after a few uses
                prepared = conn.execute("SELECT %s::int + 1", (n,), prepare=True).fetchone()
                assert prepared == (n + 1,)
            elif n % 3 == 1:
                with conn.transaction():
                    conn.execute(f"SET LOCAL work_mem = '{64 + i}kB'")
                    inside = one(conn, probe, (n,))
                    assert inside == want[:5] + (f"{64 + i}kB", i), (i, n)
                got = one(conn, probe, (n,))
            else:
                with conn.transaction():
                    conn.execute("SET LOCAL statement_timeout = '5s'")
                    inside = one(conn, probe, (n,))
                    assert inside == want[:4] + ("5s",) + want[5:], (i, n)
                got = one(conn, probe, (n,))
            assert got == want, (i, n, got)
            assert conn.info.parameter_status("application_name") == app


def test_many_clients_each_see_only_their_own_state(router_factory):
    """30 clients on a pool of 2, each with its own application_name, search_path, statement_timeout, role: 150 rounds each."""
    r = router_factory(max_size=2, checkout_timeout_ms=30000)
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client_workload, r, i, 150) for i in range(1, CLIENTS + 1)]
        for f in futures:
            f.result(timeout=150)
    with r.connect() as fresh:
        assert one(fresh, "SELECT current_user, current_setting('application_name'), "
                          "current_setting('search_path'), current_setting('statement_timeout')") \
            == ("demo", "", DEFAULT_PATH, "0")


def test_statement_timeout_applies_per_client(router_factory):
    """On a pool of 1, a client with statement_timeout 200ms times out pg_sleep(0.6); one without does not."""
    r = router_factory(max_size=1)
    with r.connect() as short, r.connect() as long:
        short.execute("SET statement_timeout = '200ms'")
        for _ in range(2):
            with pytest.raises(psycopg.errors.QueryCanceled):
                short.execute("SELECT pg_sleep(0.6)")
            assert one(long, "SELECT 'slept' FROM pg_sleep(0.4)") == ("slept",)


# Transactions and settings ------------------------------------------------------------------

SETTINGS_SCRIPTS = {
    "set in rolled-back transaction": [
        "BEGIN", "SET statement_timeout = '7s'", "SET search_path = it_sess_s2", "ROLLBACK"],
    "set in committed transaction": [
        "BEGIN", "SET statement_timeout = '8s'", "COMMIT"],
    "rollback to savepoint": [
        "SET statement_timeout = '3s'", "BEGIN", "SAVEPOINT a", "SET statement_timeout = '4s'",
        "ROLLBACK TO a", "COMMIT"],
    "set local": [
        "BEGIN", "SET LOCAL statement_timeout = '9s'", "SET LOCAL search_path = it_sess_s3",
        "COMMIT"],
    "reset all": [
        "SET statement_timeout = '5s'", "SET search_path = it_sess_s4",
        "SET application_name = 'x'", "SET ROLE it_sess_r4", "RESET ALL"],
    "set_config session and local": [
        "SELECT set_config('statement_timeout', '6s', false)", "BEGIN",
        "SELECT set_config('search_path', 'it_sess_s5', true)", "COMMIT"],
    "set_config local outside transaction": [
        "SELECT set_config('statement_timeout', '6s', true)"],
    "session authorization to self": [
        "SET ROLE it_sess_r6", "SET SESSION AUTHORIZATION demo"],
    "session authorization default": [
        "SET ROLE it_sess_r6", "SET SESSION AUTHORIZATION DEFAULT"],
    "set role then reset role": [
        "SET ROLE it_sess_r7", "BEGIN", "RESET ROLE", "COMMIT"],
    "failed transaction keeps earlier set": [
        "SET statement_timeout = '2s'", "BEGIN", "SET statement_timeout = '3s'",
        "SELECT 1/0", "ROLLBACK"],
}

PROBE = ("SELECT current_user, session_user, current_setting('statement_timeout'), "
         "current_setting('search_path'), current_setting('application_name'), "
         "current_setting('role'), current_setting('is_superuser')")


@pytest.mark.parametrize("name", list(SETTINGS_SCRIPTS))
def test_settings_as_postgres_leaves_them(router, name):
    """Runs a SET/RESET/set_config script: the client's settings match Postgres', here and on another backend."""
    script = SETTINGS_SCRIPTS[name]
    with router.connect() as conn, psycopg.connect(direct_dsn(), autocommit=True) as direct:
        for sql in script:
            for c in (conn, direct):
                try:
                    c.execute(sql)
                except psycopg.errors.DivisionByZero:
                    pass
        want = one(direct, PROBE)
        assert one(conn, PROBE) == want
        with occupy(router):
            assert one(conn, PROBE) == want
        assert conn.info.parameter_status("application_name") == \
            direct.info.parameter_status("application_name")
    with router.connect() as other:
        assert one(other, PROBE) == ("demo", "demo", "0", DEFAULT_PATH, "", "none", "off")


def test_discard_all(router):
    """DISCARD ALL drops settings, SQL and protocol prepared statements (26000 after) and the names prepare again, as Postgres."""
    def script(conn):
        out = conn.simple("SET statement_timeout = '11s'")
        out += conn.simple("SET search_path = it_sess_s8")
        out += conn.simple("PREPARE it_q AS SELECT 5")
        out += conn.run(parse("it_n", "SELECT 6"), sync())
        out += conn.simple("DISCARD ALL")
        out += conn.simple("EXECUTE it_q")
        out += conn.run(bind("", "it_n"), execute(), sync())
        out += conn.simple("PREPARE it_q AS SELECT 7")
        out += conn.simple("EXECUTE it_q")
        out += conn.run(parse("it_n", "SELECT 8"), bind("", "it_n"), execute(), sync())
        out += conn.simple("SHOW statement_timeout")
        out += conn.simple("SHOW search_path")
        out += conn.simple("DEALLOCATE it_q")
        return summarize(out)

    with wire(router.port) as conn:
        through = script(conn)
    with wire(direct_port()) as conn:
        straight = script(conn)
    assert through == straight
    assert [m[2] for m in through if m[0] == "ErrorResponse"] == ["26000", "26000"]
    assert [m[1] for m in through if m[0] == "DataRow"] == [["7"], ["8"], ["0"], [DEFAULT_PATH]]


def test_custom_setting_follows_client_and_does_not_leak(router_factory):
    """SET it_app.tenant = '5' (a custom placeholder): the client keeps it on other backends; an idle client never sees it."""
    r = router_factory(max_size=2)
    probe = "SELECT current_setting('it_app.tenant', true)"
    with r.connect() as b, r.connect() as a:
        a.execute("SET it_app.tenant = '5'")
        assert one(a, probe) == ("5",)
        assert one(b, probe)[0] in (None, "")
        with occupy(r):
            assert one(a, probe) == ("5",)
            assert one(b, probe)[0] in (None, "")


def test_settings_changed_inside_do_block(router_factory):
    """DO $$ PERFORM set_config('search_path', 'it_sess_s9', false) $$: the client keeps it, another client does not get it."""
    r = router_factory(max_size=2)
    with r.connect() as b, r.connect() as a:
        a.execute("DO $$BEGIN PERFORM set_config('search_path', 'it_sess_s9', false); END$$")
        assert show(a, "search_path") == "it_sess_s9"
        assert show(b, "search_path") == DEFAULT_PATH
        with occupy(r):
            assert show(a, "search_path") == "it_sess_s9"
            assert show(b, "search_path") == DEFAULT_PATH


def test_prepared_set_executed_again_is_tracked(router_factory):
    """Named statement SET statement_timeout = '1234ms' executed, RESET, executed again: the client has 1234ms, others 0."""
    r = router_factory(max_size=1)
    with wire(r.port) as b, wire(r.port) as a:
        a.run(parse("set_to", "SET statement_timeout = '1234ms'"), sync())
        a.run(bind("", "set_to"), execute(), sync())
        a.simple("RESET statement_timeout")
        a.run(bind("", "set_to"), execute(), sync())
        assert b.rows("SHOW statement_timeout") == [["0"]]
        assert a.rows("SHOW statement_timeout") == [["1234ms"]]


@pytest.mark.parametrize("create", [
    "CREATE TEMP TABLE it_tmp (x int)",
    "CREATE LOCAL TEMPORARY TABLE it_tmp (x int)",
    "CREATE TEMPORARY VIEW it_tmp AS SELECT 1 AS x",
    "SELECT 1 AS x INTO TEMP TABLE it_tmp",
    "CREATE TABLE pg_temp.it_tmp (x int)",
])
def test_temp_objects_stay_with_their_client(router_factory, create):
    """A temporary relation made by one client stays visible to it and never to another client on a pool of 1."""
    r = router_factory(max_size=1, checkout_timeout_ms=2000)
    count = "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()"
    with r.connect() as a:
        a.execute(create)
        assert one(a, "SELECT to_regclass('it_tmp') IS NOT NULL") == (True,)
    with r.connect() as b:
        assert one(b, count) == (0,)
        assert one(b, "SELECT to_regclass('it_tmp')") == (None,)


def test_hold_cursor_stays_with_its_client(router_factory):
    """DECLARE c CURSOR WITH HOLD, then FETCH over later transactions while others use the pool: rows continue."""
    r = router_factory(max_size=3)
    with r.connect() as a, r.connect() as b:
        a.execute("DECLARE it_c CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 10) g")
        got = []
        for _ in range(5):
            with occupy(r):
                assert one(b, "SELECT 1") == (1,)
            got += [row[0] for row in a.execute("FETCH 2 FROM it_c").fetchall()]
        assert got == list(range(1, 11))
        with pytest.raises(psycopg.errors.InvalidCursorName):
            b.execute("FETCH 1 FROM it_c")
        a.execute("CLOSE it_c")


# Disconnects ---------------------------------------------------------------------------------

def test_disconnect_mid_copy_leaves_backend_clean(router_factory):
    """A client drops in the middle of COPY FROM STDIN: no row lands, no backend stays in a transaction."""
    r = router_factory(max_size=1)
    with psycopg.connect(direct_dsn(), autocommit=True) as d:
        d.execute("TRUNCATE it_sess_copy")
    a = wire(r.port)
    pid = int(a.scalar("SELECT pg_backend_pid()"))
    a.send(query("COPY it_sess_copy FROM STDIN"))
    assert a.recv_until("G")[-1].type == "G"
    a.send(copy_data("".join(f"{i}\n" for i in range(1000))))
    time.sleep(0.2)
    a.abort()
    with r.connect() as b:
        assert_clean_transaction(b)
        assert one(b, "SELECT count(*) FROM it_sess_copy") == (0,)
    assert wait_until(lambda: not_idle_in_transaction(pid))
    with psycopg.connect(direct_dsn(), autocommit=True) as d:
        assert one(d, "SELECT count(*) FROM it_sess_copy") == (0,)


def test_disconnect_right_after_set_keeps_backend_in_sync(router_factory):
    """A client sends SET statement_timeout = '5s' and disconnects at once, 20 times: the next client's SELECT 'probe' gets its own row."""
    r = router_factory(max_size=1)
    for _ in range(20):
        a = wire(r.port)
        a.simple("SET statement_timeout = '5s'")
        a.close()
        with wire(r.port) as b:
            assert b.rows("SELECT 'probe'") == [["probe"]]
            assert b.rows("SHOW statement_timeout") == [["0"]]


def test_commit_then_close_after_set_role(router_factory):
    """psycopg 'with connect()': BEGIN; SET ROLE it_sess_r2; COMMIT on exit, then close: next client is demo, in sync."""
    r = router_factory(max_size=1)
    for _ in range(5):
        with r.connect() as a:
            a.execute("BEGIN")
            a.execute("SET ROLE it_sess_r2")
        with r.connect() as b:
            assert one(b, "SELECT current_user, session_user") == ("demo", "demo")


def test_disconnect_with_row_lock_releases_it(router_factory):
    """A client holding a row lock (SELECT ... FOR UPDATE in BEGIN) drops: another client updates the row at once."""
    r = router_factory(max_size=2)
    with psycopg.connect(direct_dsn(), autocommit=True) as d:
        d.execute("TRUNCATE it_sess_rows")
        d.execute("INSERT INTO it_sess_rows VALUES (1)")
    a = wire(r.port)
    a.simple("BEGIN")
    assert a.rows("SELECT id FROM it_sess_rows WHERE id = 1 FOR UPDATE") == [["1"]]
    pid = int(a.scalar("SELECT pg_backend_pid()"))
    a.abort()
    with r.connect() as b:
        b.execute("SET lock_timeout = '3s'")
        assert b.execute("UPDATE it_sess_rows SET id = 2 WHERE id = 1").rowcount == 1
    assert wait_until(lambda: not_idle_in_transaction(pid))


def test_no_idle_in_transaction_left_after_disconnect_storm(router_factory):
    """20 clients drop mid-transaction (some mid-query): no router backend stays idle in transaction."""
    r = router_factory(max_size=4)
    pids = []
    for i in range(20):
        a = wire(r.port)
        a.simple("BEGIN")
        pids.append(int(a.scalar("SELECT pg_backend_pid()")))
        if i % 2:
            a.send(query("SELECT pg_sleep(2)"))
        a.abort()
    assert wait_until(lambda: all(not_idle_in_transaction(p) for p in set(pids)), timeout=10)
    with r.connect() as b:
        assert_clean_transaction(b)
