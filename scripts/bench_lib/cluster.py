"""The local cluster's nodes as scripts/bench uses them: where they listen,
SQL through psql, and the benchmark's own databases.

The benchmark starts the cluster if it is down and never stops its nodes.
"""

import json

from bench_lib.common import (BenchError, clean_env, kHost, kPgBin, kRepoRoot, kRole,
                              kSuperPassword, kSuperuser, run, say)

kClusterScript = kRepoRoot / "scripts" / "cluster"


def cluster_nodes(names, topology=None, base=None):
    """{name: (port, socket_dir)} of the named nodes; starts the cluster if one is down.

    `topology` and `base` choose another cluster than the default one, as
    scripts/cluster's --topology and --base do."""
    where = ([] if topology is None else ["--topology", topology]) + \
        ([] if base is None else ["--base", base])
    shown = " ".join(["scripts/cluster start"] + [str(a) for a in where])
    result = run([kClusterScript, "status", "--json"] + where)
    if result.returncode != 0:
        raise BenchError(f"scripts/cluster status failed: {result.stderr.strip()}")
    nodes = {n["name"]: n for n in json.loads(result.stdout)}
    missing = [name for name in names if name not in nodes]
    if missing:
        raise BenchError(f"the cluster topology has no node {', '.join(missing)}")
    if not all(nodes[name]["running"] for name in names):
        say(f"starting the cluster ({shown})")
        started = run([kClusterScript, "start"] + where)
        if started.returncode != 0:
            raise BenchError(f"{shown} failed:\n{started.stderr.strip()}")
    return {name: (nodes[name]["port"], nodes[name]["socket_dir"]) for name in names}


def psql(port, user, password, database, sql, stdin=None, timeout=60):
    """Runs `sql` (or, with sql None, the statements on `stdin`) through psql over TCP.

    Returns (returncode, stdout, stderr), the outputs stripped."""
    argv = [kPgBin / "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", kHost,
            "-p", port, "-U", user, "-d", database]
    argv += ["-f", "-"] if sql is None else ["-c", sql]
    extra = {} if stdin is None else {"input": stdin}
    result = run(argv, env=clean_env(PGPASSWORD=password), timeout=timeout, **extra)
    return result.returncode, result.stdout.strip(), result.stderr.strip()


def ensure_database(port, database, node_name):
    """Creates `database`, owned by the benchmark's role, unless it exists.

    The benchmark's databases are its own, so that tests sharing the cluster
    neither disturb the figures nor get disturbed."""
    query = f"SELECT 1 FROM pg_database WHERE datname = '{database}'"
    rc, out, err = psql(port, kSuperuser, kSuperPassword, "postgres", query)
    if rc == 0 and out != "1":
        say(f"creating database {database} on {node_name}")
        rc, out, err = psql(port, kSuperuser, kSuperPassword, "postgres",
                            f"CREATE DATABASE {database} OWNER {kRole}")
    if rc != 0:
        raise BenchError(f"cannot create database {database} on {node_name}: {err}")
