"""Constants and small helpers shared by the parts of scripts/bench."""

import os
import subprocess
import sys
from pathlib import Path

kRepoRoot = Path(__file__).resolve().parent.parent.parent
kPgBin = Path("/usr/lib/postgresql/15/bin")
kPgBouncer = "/usr/sbin/pgbouncer"
kHost = "127.0.0.1"
kNode = "s0-primary"  # the cluster node every figure is measured against
kShard = "s0"
kSecondNode = "s1-primary"  # the other shard's primary, for routing over two shards
kSecondShard = "s1"
kRole = "demo"
kPassword = "demo"
kSuperuser = "postgres"  # the local cluster's superuser (docs/cluster.md)
kSuperPassword = "postgres"
kDatabase = "shardline_bench"  # owned by kRole; made by scripts/bench, used by nothing else


class BenchError(Exception):
    """A failure that ends the run; the message says what and where to look."""


def say(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(argv, **kwargs):
    """Runs a command to completion with its output captured as text; its stdin is
    `input=` if given, else empty."""
    if "input" not in kwargs:
        kwargs["stdin"] = subprocess.DEVNULL
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)


def clean_env(**extra):
    """The environment for libpq tools: no inherited PG* settings, no TLS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGSSLMODE": "disable", "PGCONNECT_TIMEOUT": "10",
                "PGAPPNAME": "shardline-bench"})
    env.update(extra)
    return env
