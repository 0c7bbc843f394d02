"""Shutdown and signals: SIGTERM drains open transactions within
shutdown_drain_ms, refuses new connections, ends idle clients with 57P01
and exits 0; other signals do not stop the router."""
import os
import signal
import time

import psycopg
import pytest

from conftest import (assert_serving, bounded, connection_refused, create_scratch_table,
                      direct_rows, superuser_sql, wait_for)
from pgraw import RawConn, errors, query

TABLE = "sl_shutdown"


@pytest.fixture(scope="module")
def table():
    create_scratch_table(TABLE)
    yield TABLE
    superuser_sql(f"DROP TABLE IF EXISTS {TABLE}")


def test_sigterm_drains_open_transactions(router_factory, table):
    r = router_factory(shutdown_drain_ms=5000)
    in_tx = r.connect(autocommit=False)
    in_tx.execute(f"INSERT INTO {table} VALUES ('drained', 1)")
    idle = RawConn.tcp(r.port)
    idle.login()
    unix_path = os.path.join(r.socket_dir, f".s.PGSQL.{r.port}")

    start = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    [err] = errors(idle.read_to_close(timeout=3))
    assert (err["V"], err["C"], err["M"]) == (
        "FATAL", "57P01", "terminating connection due to administrator command")
    wait_for(lambda: connection_refused(r.port), 2, "the TCP listener to close")
    with pytest.raises(OSError):
        RawConn.unix(unix_path, timeout=1)

    bounded(in_tx.commit, 5)
    assert direct_rows(f"SELECT v FROM {table} WHERE k = 'drained'") == [("1",)]
    with pytest.raises(psycopg.OperationalError):
        bounded(lambda: in_tx.execute("SELECT 1"), 5)
    assert r.proc.wait(5) == 0
    assert time.monotonic() - start < 4
    assert not os.path.exists(unix_path)


def test_sigterm_ends_a_client_waiting_for_a_backend(router_factory):
    r = router_factory(max_size=1, checkout_timeout_ms=5000, shutdown_drain_ms=5000)
    waiter = RawConn.tcp(r.port)
    waiter.login()
    holder = RawConn.tcp(r.port)
    holder.login()
    holder.simple_query("BEGIN")
    holder.simple_query("SELECT 1")
    waiter.send(query("SELECT 2"))  # queues for the only backend
    time.sleep(0.3)
    start = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    assert [e["C"] for e in errors(waiter.read_to_close(timeout=3))] == ["57P01"]
    assert holder.simple_query("COMMIT")[-2:] == [(b"C", b"COMMIT\0"), (b"Z", b"I")]
    assert [e["C"] for e in errors(holder.read_to_close(timeout=3))] == ["57P01"]
    assert r.proc.wait(5) == 0
    assert time.monotonic() - start < 2


def test_sigterm_drain_deadline_ends_a_lingering_transaction(router_factory, table):
    r = router_factory(shutdown_drain_ms=1000)
    conn = RawConn.tcp(r.port)
    conn.login()
    conn.simple_query("BEGIN")
    conn.simple_query(f"INSERT INTO {table} VALUES ('lingering', 1)")
    start = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    conn.read_to_close(timeout=5)
    assert r.proc.wait(5) == 0
    assert 0.9 < time.monotonic() - start < 3
    assert direct_rows(f"SELECT k FROM {table} WHERE k = 'lingering'") == []


def test_sigterm_drain_deadline_tells_the_client(router_factory):
    """When the drain time is up, a client still in a transaction is told
    why, as Postgres tells it at a fast shutdown: 57P01 FATAL, then close."""
    r = router_factory(shutdown_drain_ms=500)
    conn = RawConn.tcp(r.port)
    conn.login()
    conn.simple_query("BEGIN")
    r.proc.send_signal(signal.SIGTERM)
    msgs = conn.read_to_close(timeout=5)
    assert [(e["V"], e["C"]) for e in errors(msgs)] == [("FATAL", "57P01")]
    assert r.proc.wait(5) == 0


def test_sigterm_session_mode_ends_idle_clients_at_once(router_factory):
    """Session mode: an idle client ends at once with 57P01, one in a
    transaction can still commit; shutdown does not wait out the drain time."""
    r = router_factory(mode="session", shutdown_drain_ms=4000)
    idle = RawConn.tcp(r.port)
    idle.login()
    in_tx = RawConn.tcp(r.port)
    in_tx.login()
    in_tx.simple_query("BEGIN")
    start = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    [err] = errors(idle.read_to_close(timeout=3))
    assert (err["V"], err["C"]) == ("FATAL", "57P01")
    assert in_tx.simple_query("COMMIT")[-1] == (b"Z", b"I")
    in_tx.read_to_close(timeout=3)
    assert r.proc.wait(5) == 0
    assert time.monotonic() - start < 2.5


def test_sigint_stops_the_router(router_factory):
    r = router_factory()
    assert_serving(r)
    r.proc.send_signal(signal.SIGINT)
    assert r.proc.wait(10) == 0


def test_sighup_does_not_stop_the_router(router_factory):
    """Operators send SIGHUP to reload (Postgres and PgBouncer reload on it);
    it must never kill the router and its clients."""
    r = router_factory()
    conn = r.connect()
    r.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert r.proc.poll() is None, f"router died on SIGHUP ({r.proc.returncode})"
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()
    assert_serving(r)


def test_sigterm_with_zero_drain_closes_at_once(router_factory):
    r = router_factory(shutdown_drain_ms=0)
    conn = RawConn.tcp(r.port)
    conn.login()
    conn.simple_query("BEGIN")
    start = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    conn.read_to_close(timeout=5)
    assert r.proc.wait(5) == 0
    assert time.monotonic() - start < 1.5
