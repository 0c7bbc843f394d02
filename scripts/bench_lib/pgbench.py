"""pgbench runs: one timed run against one target, and the figures it yields.

A target is a proxy this script started (its CPU is sampled from /proc
around the run) or, with no proxy, the node itself.
"""

import re
import subprocess
import time
from dataclasses import dataclass

from bench_lib.common import clean_env, kDatabase, kHost, kPassword, kPgBin, kRole, run
from bench_lib.report import Run

kHangSlackS = 120  # a pgbench run this much past its duration counts as hung


@dataclass
class Workload:
    """What pgbench runs, and in which database."""
    name: str  # in messages: "pgbench -S", "select", ...
    argv: list  # pgbench's workload arguments: ["-S"], ["-f", script, "-D", ...]
    database: str


kSelectOnly = Workload("pgbench -S", ["-S"], kDatabase)


def pgbench(port, mode, clients, threads, seconds, workload=kSelectOnly, password=None):
    """Runs pgbench; None if it outlived its duration by kHangSlackS."""
    argv = ([kPgBin / "pgbench", "-n"] + workload.argv +
            ["-M", mode, "-c", clients, "-j", threads, "-T", seconds, "-h", kHost,
             "-p", port, "-U", kRole, workload.database])
    env = clean_env(PGPASSWORD=password) if password else clean_env()
    try:
        return run(argv, env=env, timeout=seconds + kHangSlackS)
    except subprocess.TimeoutExpired:
        return None


def first_error(stderr):
    """Why pgbench's clients failed: the first server error, else its first complaint."""
    server = re.search(r"(?:ERROR|FATAL):.*", stderr)
    if server:
        return re.sub(r"\s+", " ", server.group(0)).strip()
    for line in stderr.splitlines():
        if re.search(r"aborted|error", line, flags=re.I):
            return line.strip()
    return stderr.strip().splitlines()[-1] if stderr.strip() else "pgbench failed"


def timed_run(options, mode, proxy, direct_port, workload=kSelectOnly):
    """Warms up, then times one pgbench run through `proxy` (None: direct).

    `options` gives warmup, duration, clients and threads."""
    port = proxy.port if proxy else direct_port
    password = None if proxy else kPassword
    if options.warmup:
        pgbench(port, mode, options.clients, options.threads, options.warmup, workload,
                password)

    before = proxy.cpu_seconds() if proxy else (0.0, 0.0)
    started = time.monotonic()
    result = pgbench(port, mode, options.clients, options.threads, options.duration, workload,
                     password)
    wall = time.monotonic() - started
    if proxy:
        proxy.check_alive(f"during {workload.name} -M {mode}")
        after = proxy.cpu_seconds()
        user, system = after[0] - before[0], after[1] - before[1]
    if result is None:
        return Run(error=f"pgbench still running {kHangSlackS} s after its end (hang)")

    processed = re.search(r"number of transactions actually processed: (\d+)", result.stdout)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    figures = Run(tps=float(tps.group(1)) if tps else 0.0,
                  transactions=int(processed.group(1)) if processed else 0)
    if result.returncode != 0 or not processed:
        figures.error = first_error(result.stderr)
    if proxy and figures.transactions:
        figures.cpu_us = (user + system) * 1e6 / figures.transactions
        figures.user_us = user * 1e6 / figures.transactions
        figures.cpu_share = (user + system) / wall
    return figures
