"""pgbench through the router and, for comparison, straight to s0-primary:
select-only and TPC-B, simple, extended and prepared protocol, 50 clients on
a pool of 10. Every run must finish with no failed or aborted transaction,
and TPC-B must lose no write."""
import os
import re
import subprocess

import pytest

from conftest import Router, direct_port, superuser_sql

CLIENTS = 50
SECONDS = 5
# A database of its own, so that nothing else touches the pgbench tables.
DATABASE = "sl_pgbench"


def pgbench(port, *args, timeout=60):
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")
    return subprocess.run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "demo", *args,
                           DATABASE], env=env, capture_output=True, text=True, timeout=timeout)


def history_rows():
    return int(superuser_sql("SELECT count(*) FROM pgbench_history", dbname=DATABASE).strip())


@pytest.fixture(scope="module")
def tables():
    exists = superuser_sql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
    if not exists.strip():
        superuser_sql(f"CREATE DATABASE {DATABASE} OWNER demo")
    out = pgbench(direct_port(), "-i", "-s", "1", "-q")
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def pool_router(workdir, tables):
    r = Router(workdir, max_size=10).start()
    yield r
    r.stop()


def run_and_check(port, script, protocol):
    args = ["-n", "-M", protocol, "-c", str(CLIENTS), "-j", "2", "-T", str(SECONDS)]
    if script == "select-only":
        args.append("-S")
    before = history_rows()
    out = pgbench(port, *args, timeout=SECONDS + 60)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "aborted" not in report, report
    assert re.search(r"^number of failed transactions: 0 \(", out.stdout, re.M), report
    processed = int(re.search(r"^number of transactions actually processed: (\d+)", out.stdout,
                              re.M).group(1))
    assert processed > 0
    written = history_rows() - before
    assert written == (processed if script == "tpcb" else 0), report
    return float(re.search(r"^tps = ([\d.]+)", out.stdout, re.M).group(1))


@pytest.mark.parametrize("protocol", ["simple", "extended", "prepared"])
@pytest.mark.parametrize("script", ["select-only", "tpcb"])
def test_pgbench(pool_router, script, protocol, record_property):
    through_router = run_and_check(pool_router.port, script, protocol)
    direct = run_and_check(direct_port(), script, protocol)
    record_property("tps", {"router": through_router, "direct": direct})
    assert pool_router.proc.poll() is None


def test_tpcb_balances_agree(tables, pool_router):
    """Every TPC-B transaction moved the same delta in all four tables."""
    sums = superuser_sql(
        "SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts),"
        " (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches),"
        " (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers),"
        " (SELECT coalesce(sum(delta), 0) FROM pgbench_history)",
        dbname=DATABASE).strip().split("|")
    assert len(set(sums)) == 1, sums
