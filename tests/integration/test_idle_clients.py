"""Idle clients: a session with no backend and nothing in flight waits for its
client without a coroutine ("parks"), at once after startup, and within a
couple of janitor ticks (one a second) after its last transaction. A parked
client must be served exactly as before, be cancelled, timed out and shut
down as any other."""
import signal
import threading
import time

import psycopg
import pytest

from conftest import bounded, with_client_idle
from pgraw import RawConn, data_rows, errors, query

# Long enough for the janitor to park a session that went idle after a query.
PARKED = 2.5


def test_client_idle_after_a_query_keeps_its_session(router):
    """Settings and prepared statements survive the session parking between queries."""
    with router.connect() as conn:
        conn.execute("SET work_mem = '7MB'")
        assert conn.execute("SELECT %s::int", (1,), prepare=True).fetchone() == (1,)
        time.sleep(PARKED)
        assert conn.execute("SHOW work_mem").fetchone() == ("7MB",)
        assert conn.execute("SELECT %s::int", (2,), prepare=True).fetchone() == (2,)
        assert conn.execute("SELECT 3").fetchone() == (3,)
        time.sleep(PARKED)
        with conn.transaction():
            conn.execute("SELECT 4")
            time.sleep(PARKED)  # a transaction holds its backend: no parking
            assert conn.execute("SELECT 5").fetchone() == (5,)


def test_fresh_client_is_served_after_idling(router):
    conn = RawConn.tcp(router.port)
    conn.login()
    time.sleep(0.5)
    assert data_rows(conn.simple_query("SELECT 41 + 1")) == [("42",)]
    conn.close()


def test_message_split_across_an_idle_wait(router):
    """Half a message, a pause long enough to park, then the rest: one answer."""
    conn = RawConn.tcp(router.port)
    conn.login()
    conn.simple_query("SELECT 1")
    whole = query("SELECT 'split'")
    conn.send(whole[:7])
    time.sleep(PARKED)
    conn.send(whole[7:])
    assert data_rows(conn.read_until(b"Z")) == [("split",)]
    conn.close()


def test_unix_socket_client_idles_and_is_served(router):
    dsn = f"host={router.socket_dir} port={router.port} user=demo password=demo dbname=demo"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        time.sleep(PARKED)
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_cancel_reaches_a_client_that_idled(router):
    with router.connect() as conn:
        conn.execute("SELECT 1")
        time.sleep(PARKED)
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            bounded(lambda: conn.execute("SELECT pg_sleep(10)"), 15)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_idle_client_timeout_applies_while_parked(edited_router_factory):
    r = edited_router_factory(
        with_client_idle(1500))
    conn = RawConn.tcp(r.port)
    conn.login()
    conn.simple_query("SELECT 1")
    [err] = errors(conn.read_to_close(timeout=5))
    assert (err["V"], err["C"]) == ("FATAL", "57P05")


def test_sigterm_tells_parked_clients(router_factory):
    """Clients parked after startup or after a query get 57P01 at once on SIGTERM."""
    r = router_factory(shutdown_drain_ms=4000)
    fresh = [RawConn.tcp(r.port) for _ in range(5)]
    used = [RawConn.tcp(r.port) for _ in range(5)]
    for conn in fresh + used:
        conn.login()
    for conn in used:
        conn.simple_query("SELECT 1")
    time.sleep(PARKED)
    start = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    for conn in fresh + used:
        [err] = errors(conn.read_to_close(timeout=3))
        assert (err["V"], err["C"]) == ("FATAL", "57P01")
    assert r.proc.wait(5) == 0
    assert time.monotonic() - start < 2.5


def test_tls_client_idles_and_times_out(edited_router_factory, cert):
    """A TLS client keeps its reader while idle (OpenSSL may hold bytes), is served after
    idling, and the idle timeout applies to it too."""
    r = edited_router_factory(
        with_client_idle(2000),
        tls=cert)
    conn = r.connect(sslmode="require")
    assert conn.pgconn.ssl_in_use
    assert conn.execute("SELECT 1").fetchone() == (1,)
    time.sleep(1.2)
    assert conn.execute("SELECT 2").fetchone() == (2,)
    time.sleep(3.0)
    with pytest.raises(psycopg.OperationalError) as failure:
        conn.execute("SELECT 3")
    assert "idle-session timeout" in str(failure.value)
    conn.close()
