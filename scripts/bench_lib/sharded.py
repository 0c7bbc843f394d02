"""pgbench on a sharded table: shardline routing over two shards against
shardline passing through to one shard that holds the same rows.

The table `bench_accounts` (after pgbench_accounts) is sharded on `aid`. Its
rows live twice: split over s0-primary and s1-primary in kShardedDatabase,
loaded by COPY through the routing shardline, and whole on s0-primary in
kDatabase for the single-shard targets. pgbench runs scripts that pin the key
with `aid = :aid`, so every transaction touches one shard.

Targets, for each link, script and protocol mode:

  routed        shardline with both primaries and the map: analysis, routing
  pass-through  shardline with s0-primary only and no map: no routing
  pgbouncer     PgBouncer in transaction mode (session mode for prepared)
  direct        pgbench straight to s0-primary, once per script and mode
"""

import random

from bench_lib.cluster import ensure_database, psql
from bench_lib.common import (BenchError, kDatabase, kNode, kPassword, kRole, kSecondNode,
                              kSecondShard, kShard, say)
from bench_lib.pgbench import Workload, timed_run
from bench_lib.proxies import Node, start_pgbouncer, start_shardline
from bench_lib.report import describe_run, median_run, session_label

kShardedDatabase = "shardline_bench_sharded"  # on both primaries; used by nothing else
kTable = "bench_accounts"
kRowsPerBranch = 100000  # as pgbench: bid = (aid - 1) / 100000 + 1
kSampleKeys = 500  # keys read back through the router after loading

kShardMap = f"""
[[tables]]
name = "{kTable}"
key = "aid"
type = "bigint"
"""

kCreateTable = (f"CREATE TABLE IF NOT EXISTS {kTable} (aid bigint PRIMARY KEY, bid int, "
                "abalance int, filler char(84))")

# pgbench scripts by name; naccounts comes from -D.
kScripts = {
    "select": f"""\
\\set aid random(1, :naccounts)
SELECT abalance FROM {kTable} WHERE aid = :aid;
""",
    "update": f"""\
\\set aid random(1, :naccounts)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE {kTable} SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM {kTable} WHERE aid = :aid;
END;
""",
}

kRouted = "routed"
kPassThrough = "pass-through"
kBouncer = "pgbouncer"
kDirect = "direct"


# ------------------------------------------------------------------ the data


def sql(port, database, statement):
    """Runs one statement as the benchmark's role; its output, or BenchError."""
    rc, out, err = psql(port, kRole, kPassword, database, statement, timeout=600)
    if rc != 0:
        raise BenchError(f"{statement!r} on port {port}, database {database}: {err}")
    return out


def prepare_single(node, accounts):
    """All rows of the table on s0-primary, in kDatabase."""
    port = node[0]
    ensure_database(port, kDatabase, kNode)
    sql(port, kDatabase, kCreateTable)
    if sql(port, kDatabase, f"SELECT count(*), min(aid), max(aid) FROM {kTable}") == \
            f"{accounts}|1|{accounts}":
        say(f"{kTable}: {accounts} rows already in {kDatabase} on {kNode}")
        return
    say(f"{kTable}: loading {accounts} rows into {kDatabase} on {kNode}")
    sql(port, kDatabase, f"TRUNCATE {kTable}")
    sql(port, kDatabase, f"INSERT INTO {kTable} SELECT g, (g - 1) / {kRowsPerBranch} + 1, 0, "
                         f"'' FROM generate_series(1, {accounts}) g")
    sql(port, kDatabase, f"VACUUM ANALYZE {kTable}")


def create_sharded(nodes):
    """kShardedDatabase and the table on both primaries; `nodes` maps name to node."""
    for name in (kNode, kSecondNode):
        ensure_database(nodes[name][0], kShardedDatabase, name)
        sql(nodes[name][0], kShardedDatabase, kCreateTable)


def shard_keys(nodes):
    """{node name: list of aid} of the rows each primary holds."""
    return {name: [int(v) for v in sql(nodes[name][0], kShardedDatabase,
                                       f"SELECT aid FROM {kTable}").split()]
            for name in (kNode, kSecondNode)}


def placement_problems(nodes, router, accounts):
    """What is wrong with the split rows: keys missing, on both shards, or not
    found by a routed read. Empty when every key 1..accounts is on exactly one
    shard and the router finds the sampled keys there."""
    keys = shard_keys(nodes)
    first, second = set(keys[kNode]), set(keys[kSecondNode])
    problems = []
    missing = set(range(1, accounts + 1)) - first - second
    if missing:
        problems.append(f"{len(missing)} keys on no shard, e.g. aid = {min(missing)}")
    both = first & second
    if both:
        problems.append(f"{len(both)} keys on both shards, e.g. aid = {min(both)}")
    extra = (first | second) - set(range(1, accounts + 1))
    if extra:
        problems.append(f"{len(extra)} keys beyond {accounts}")
    if not first or not second:
        problems.append(f"{len(first)} rows on {kNode}, {len(second)} on {kSecondNode}")
    if problems:
        return problems

    # Each key read back through the router, one statement at a time.
    sample = sorted({1, accounts} | set(random.Random(7).sample(
        range(1, accounts + 1), min(accounts, kSampleKeys))))
    statements = "".join(f"SELECT aid FROM {kTable} WHERE aid = {k};\n" for k in sample)
    rc, out, err = psql(router.port, kRole, "", kShardedDatabase, None, stdin=statements)
    if rc != 0:
        return [f"reading keys back through shardline failed: {err}"]
    found = [int(v) for v in out.split()]
    if found != sample:
        lost = sorted(set(sample) - set(found))
        problems.append(f"through shardline, `SELECT aid FROM {kTable} WHERE aid = k` found "
                        f"{len(found)} of {len(sample)} sampled keys"
                        f"{f', not aid = {lost[0]}' if lost else ''}")
    return problems


def load_sharded(nodes, router, accounts):
    """Empties both shards' tables and COPYs the rows in through the router, which
    splits them by key."""
    say(f"{kTable}: loading {accounts} rows into {kShardedDatabase} through shardline "
        "(COPY, split by key)")
    for name in (kNode, kSecondNode):
        sql(nodes[name][0], kShardedDatabase, f"TRUNCATE {kTable}")
    rows = "".join(f"{aid}\t{(aid - 1) // kRowsPerBranch + 1}\t0\t\n"
                   for aid in range(1, accounts + 1))
    rc, out, err = psql(router.port, kRole, "", kShardedDatabase,
                        f"COPY {kTable} FROM STDIN", stdin=rows, timeout=600)
    if rc != 0:
        raise BenchError(f"COPY {kTable} FROM STDIN through shardline failed: {err}")
    for name in (kNode, kSecondNode):
        sql(nodes[name][0], kShardedDatabase, f"VACUUM ANALYZE {kTable}")


def prepare_sharded(nodes, router, accounts):
    """Makes sure the rows are split over both shards as the router routes; returns
    {node name: rows}."""
    problems = placement_problems(nodes, router, accounts)
    if problems:
        load_sharded(nodes, router, accounts)
        problems = placement_problems(nodes, router, accounts)
        if problems:
            raise BenchError("after COPY through shardline, the rows are not where it "
                             "routes: " + "; ".join(problems))
    else:
        say(f"{kTable}: {accounts} rows already split over {kNode} and {kSecondNode}")
    return {name: len(keys) for name, keys in shard_keys(nodes).items()}


# ------------------------------------------------------------------ the runs


def workloads(options, workdir):
    """{script: (routed workload, single-shard workload)} for options.scripts."""
    result = {}
    for name in options.scripts:
        path = workdir / f"{name}.pgbench"
        path.write_text(kScripts[name])
        argv = ["-f", path, "-D", f"naccounts={options.accounts}"]
        result[name] = (Workload(f"pgbench script {name}", argv, kShardedDatabase),
                        Workload(f"pgbench script {name}", argv, kDatabase))
    return result


def start_routed(binary, workdir, nodes, link, pool_size):
    primaries = [Node(kNode, kShard, *nodes[kNode]),
                 Node(kSecondNode, kSecondShard, *nodes[kSecondNode])]
    return start_shardline(binary, workdir, None, link, pool_size, label=kRouted,
                           nodes=primaries, shard_map=kShardMap)


def sharded_throughput(options, binary, workdir, nodes, results):
    """Every target for each link, script and mode; figures go to results.runs."""
    node = nodes[kNode]
    prepare_single(node, options.accounts)
    create_sharded(nodes)
    scripts = workloads(options, workdir)
    for link in options.links:
        say(f"sharded: the proxies reach the nodes over {link}")
        max_clients = options.clients + 100
        proxies = {}
        try:
            proxies[kRouted] = start_routed(binary, workdir, nodes, link, options.pool_size)
            proxies[kPassThrough] = start_shardline(binary, workdir, node, link,
                                                    options.pool_size, label=kPassThrough)
            proxies[kBouncer] = start_pgbouncer(workdir, node, link, options.pool_size,
                                                max_clients)
            if not results.rows_per_shard:
                results.rows_per_shard = prepare_sharded(nodes, proxies[kRouted],
                                                         options.accounts)
            for script, (routed, single) in scripts.items():
                for mode in options.modes:
                    targets = [(kRouted, proxies[kRouted], routed),
                               (kPassThrough, proxies[kPassThrough], single)]
                    if mode == "prepared":
                        # PgBouncer 1.18 keeps no prepared statements in transaction mode.
                        label = session_label(options.clients)
                        if label not in proxies:
                            proxies[label] = start_pgbouncer(
                                workdir, node, link, options.clients, max_clients,
                                pool_mode="session")
                        targets.append((label, proxies[label], single))
                    else:
                        targets.append((kBouncer, proxies[kBouncer], single))
                    if link == options.links[0]:
                        targets.append((kDirect, None, single))
                    measure(options, link, script, mode, targets, node[0], results)
        finally:
            for proxy in proxies.values():
                proxy.stop()
    check_rows_kept(nodes, options.accounts, results)


def measure(options, link, script, mode, targets, direct_port, results):
    """Times every target, round after round, and keeps each one's median."""
    runs = {label: [] for label, _, _ in targets}
    for _ in range(options.rounds):
        for label, proxy, workload in targets:
            runs[label].append(timed_run(options, mode, proxy, direct_port, workload))
    for label, _, _ in targets:
        figures = median_run(runs[label])
        results.runs[(None if label == kDirect else link, script, mode, label)] = figures
        print(describe_run(f"{script} {label}", mode, figures, width=28), flush=True)


def check_rows_kept(nodes, accounts, results):
    """After the runs, every key is still on exactly one shard."""
    keys = shard_keys(nodes)
    total = sum(len(k) for k in keys.values())
    distinct = len(set().union(*map(set, keys.values())))
    if total != accounts or distinct != accounts:
        results.problems.append(f"after the runs, {kTable} has {total} rows over both shards "
                                f"({distinct} distinct keys), not {accounts}")
