"""Client timeouts: idle sessions are closed like Postgres' idle_session_timeout."""
import time

import psycopg
import pytest

from conftest import with_client_idle


def test_idle_client_closed_with_57p05(edited_router_factory):
    """A client idle past client_idle_ms (no transaction open) gets FATAL 57P05, then the close."""
    r = edited_router_factory(with_client_idle(300))
    conn = r.connect()
    assert conn.execute("SELECT 1").fetchone() == (1,)
    time.sleep(1.0)
    with pytest.raises(psycopg.OperationalError) as failure:
        conn.execute("SELECT 2")
    assert "idle-session timeout" in str(failure.value)
    conn.close()
    with r.connect() as other:
        assert other.execute("SELECT 3").fetchone() == (3,)


def test_client_in_transaction_is_not_closed_as_idle(edited_router_factory):
    """A client with an open transaction is not an idle session: it can commit after the limit."""
    r = edited_router_factory(with_client_idle(300))
    conn = r.connect(autocommit=False)
    assert conn.execute("SELECT 1").fetchone() == (1,)  # opens a transaction
    time.sleep(1.0)
    assert conn.execute("SELECT 2").fetchone() == (2,)
    conn.commit()
    conn.close()


def test_busy_client_is_not_closed(edited_router_factory):
    """A query running longer than client_idle_ms is not idleness."""
    r = edited_router_factory(with_client_idle(300))
    with r.connect() as conn:
        assert conn.execute("SELECT pg_sleep(0.8), 1").fetchone()[1] == 1
        assert conn.execute("SELECT 2").fetchone() == (2,)
