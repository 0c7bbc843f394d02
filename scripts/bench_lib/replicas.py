"""Reads over replicas: `pgbench -S` through shardline serving one shard whose
reads go to its primary alone, to one replica, or to two replicas, against
pgbench straight to the primary.

The nodes are those of scripts/topologies/replicas.toml, a cluster of its own
(base directory $SHARDLINE_REPLICAS_DIR, default /var/tmp/shardline-replicas):
s0-primary with the streaming replicas s0-replica1 and s0-replica2. The
pgbench tables are made on the primary, in kDatabase, and reach the replicas
by replication.

Targets, for each link and protocol mode:

  primary only  shardline with s0-primary alone, [reads] policy = "primary"
  1 replica     shardline with s0-primary and s0-replica1, round_robin
  2 replicas    shardline with all three nodes, round_robin
  direct        pgbench straight to s0-primary, once per mode

Each run gets a router of its own, stopped after it. Every read-only
transaction Postgres commits counts in xact_commit of pg_stat_database on the
node that ran it, replicas included; a backend may hold its counts back for
up to 10 s, but flushes them when it exits. So the growth of xact_commit on
each node from before a run's warm-up to after its router (and with it every
backend of the run) is gone shows where the run's reads went.

Other users of the cluster may kill and restart its nodes for failure drills;
a run during which a node it uses restarted is repeated (kRepeats times at
most) and noted among the problems.
"""

import dataclasses
import os
import time
from dataclasses import dataclass, field

from bench_lib.cluster import cluster_nodes, psql
from bench_lib.common import (BenchError, kDatabase, kHost, kRepoRoot, kSuperPassword,
                              kSuperuser, say)
from bench_lib.pgbench import timed_run
from bench_lib.proxies import Node, start_shardline
from bench_lib.report import (Context, section_opening, describe_run, fmt_cpu, fmt_tps, markdown_table,
                              median_run, ok, paragraph, ratio, replace_docs_section,
                              text_table)

kTopology = kRepoRoot / "scripts" / "topologies" / "replicas.toml"
kDefaultBase = "/var/tmp/shardline-replicas"
kShard = "s0"
kPrimary = "s0-primary"
kReplicas = ("s0-replica1", "s0-replica2")
kNodes = (kPrimary,) + kReplicas
kDefaultRounds = 3
kReplayTimeoutS = 120  # how long the replicas may take to replay the pgbench tables
kCloseTimeoutS = 30  # how long the backends of a run may take to exit after it
kRouterSettleS = 0.5  # after its start, for a router's first check of every node
kNodeWaitS = 60  # how long a node may take to answer again, as when it restarts
kRepeats = 2  # times a run is repeated when a node restarted during it
kHealthIntervalMs = 500  # between a router's checks of a node

kPrimaryOnly = "primary only"
kOneReplica = "1 replica"
kTwoReplicas = "2 replicas"
kDirect = "direct"

# label -> (nodes in the config, read policy)
kConfigs = {
    kPrimaryOnly: ((kPrimary,), "primary"),
    kOneReplica: ((kPrimary, kReplicas[0]), "round_robin"),
    kTwoReplicas: (kNodes, "round_robin"),
}

kSettings = """
[reads]
policy = "{policy}"
include_primary = false

[health]
interval_ms = {interval_ms}
"""

kDocsTitle = "Reads over replicas"
kSummaryHeader = ["link", "mode", "primary only tps", "1 replica tps", "2 replicas tps",
                  "direct tps", "tps 1r/p", "tps 2r/p", "tps p/d", "tps 1r/d", "tps 2r/d"]
kNodesHeader = ["link", "mode", "target", "tps", "shardline µs/txn (user)"] + \
    list(kNodes) + ["commits/txn"]
kTextColumns = 3


def base_dir():
    return os.environ.get("SHARDLINE_REPLICAS_DIR") or kDefaultBase


@dataclass
class ReplicaResults:
    options: object  # the Options of scripts/bench
    context: Context
    nodes: dict  # node name -> (port, socket_dir)
    base: str  # the cluster's base directory
    runs: dict = field(default_factory=dict)  # (link, mode, label) -> Run; direct: link None
    # (link, mode, label) -> {node name: commits in kDatabase over its runs, warm-ups too}
    commits: dict = field(default_factory=dict)
    # (link, mode, label) -> transactions pgbench completed over the same runs
    transactions: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


# ------------------------------------------------------------------ the nodes


def replica_nodes():
    """{name: (port, socket_dir)} of the replicas topology; starts it if it is down."""
    return cluster_nodes(list(kNodes), topology=kTopology, base=base_dir())


def superuser_sql(port, statement, database="postgres"):
    """Runs `statement` as the superuser; tries again for a while when it fails,
    since other users of the cluster may be restarting a node."""
    deadline = time.monotonic() + kNodeWaitS
    while True:
        rc, out, err = psql(port, kSuperuser, kSuperPassword, database, statement)
        if rc == 0:
            return out
        if time.monotonic() > deadline:
            raise BenchError(f"{statement!r} on port {port}: {err}")
        time.sleep(0.5)


def role_problems(nodes):
    """Nodes whose role is not the topology's: the primary in recovery, or a replica
    out of it (promoted)."""
    problems = []
    for name in kNodes:
        recovering = superuser_sql(nodes[name][0], "SELECT pg_is_in_recovery()") == "t"
        if recovering != (name != kPrimary):
            problems.append(f"{name} is {'a replica' if recovering else 'a primary'}, not "
                            f"as {kTopology.name} says")
    return problems


def wait_for_replay(nodes, scale):
    """Waits until every replica has replayed what the primary wrote so far."""
    lsn = superuser_sql(nodes[kPrimary][0], "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + kReplayTimeoutS
    for name in kReplicas:
        port = nodes[name][0]
        while superuser_sql(port, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'") != "t":
            if time.monotonic() > deadline:
                raise BenchError(f"{name} has not replayed {lsn} after {kReplayTimeoutS} s")
            time.sleep(0.2)
        branches = superuser_sql(port, "SELECT count(*) FROM pgbench_branches", kDatabase)
        if branches != str(scale):
            raise BenchError(f"{name} has {branches} pgbench branches, not {scale}")
    say(f"{', '.join(kReplicas)} have replayed {kPrimary} up to {lsn}")


def commit_counts(nodes):
    """{node name: (when its server started, transactions committed in kDatabase since)}.

    A server that restarts, as after a crash, starts its counts afresh."""
    statement = ("SELECT pg_postmaster_start_time(), xact_commit FROM pg_stat_database "
                 f"WHERE datname = '{kDatabase}'")
    counts = {}
    for name in kNodes:
        started, _, commits = superuser_sql(nodes[name][0], statement).partition("|")
        counts[name] = (started, int(commits or 0))
    return counts


# ------------------------------------------------------------------ the runs


def start_router(binary, workdir, nodes, link, pool_size, label):
    names, policy = kConfigs[label]
    config_nodes = [Node(name, kShard, *nodes[name],
                         role="primary" if name == kPrimary else "replica")
                    for name in names]
    settings = kSettings.format(policy=policy, interval_ms=kHealthIntervalMs)
    return start_shardline(binary, workdir, None, link, pool_size, label=label,
                           nodes=config_nodes, settings=settings)


def replica_throughput(options, binary, workdir, nodes, results):
    """Every target for each link and mode; figures go to results."""
    problems = role_problems(nodes)
    if problems:
        raise BenchError("; ".join(problems) + f"; restart the cluster in {base_dir()}")
    wait_for_replay(nodes, options.scale)
    for link in options.links:
        say(f"replicas: the routers reach the nodes over {link}")
        for mode in options.modes:
            labels = list(kConfigs) + ([kDirect] if link == options.links[0] else [])
            measure(options, binary, workdir, nodes, link, mode, labels, results)
    results.problems += [f"after the runs, {p}" for p in role_problems(nodes)]


def wait_until_closed(nodes):
    """Waits until no connection to kDatabase is left on any node: a backend that
    exits flushes its counters, so that they all count."""
    statement = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{kDatabase}'"
    deadline = time.monotonic() + kCloseTimeoutS
    for name in kNodes:
        while superuser_sql(nodes[name][0], statement) != "0":
            if time.monotonic() > deadline:
                raise BenchError(f"connections to {kDatabase} still open on {name} "
                                 f"{kCloseTimeoutS} s after the run")
            time.sleep(0.1)


def one_run(options, binary, workdir, nodes, link, mode, label):
    """Warm-up and timed run against one target, through a router started for it
    (none for direct) and stopped after it; returns (timed Run, transactions of
    both runs, {node name: commits in kDatabase during both}, nodes that restarted
    meanwhile)."""
    port = nodes[kPrimary][0]
    router = None
    before = commit_counts(nodes)
    try:
        if label != kDirect:
            router = start_router(binary, workdir, nodes, link, options.pool_size, label)
            time.sleep(kRouterSettleS)
        transactions = 0
        if options.warmup:
            warmup = dataclasses.replace(options, duration=options.warmup, warmup=0)
            transactions += timed_run(warmup, mode, router, port).transactions
        run = timed_run(dataclasses.replace(options, warmup=0), mode, router, port)
        transactions += run.transactions
    finally:
        if router:
            router.stop()
    wait_until_closed(nodes)
    after = commit_counts(nodes)
    restarted = [name for name in kNodes if after[name][0] != before[name][0]]
    commits = {}
    for name in kNodes:
        commits[name] = after[name][1] - before[name][1]
        if commits[name] < 0:  # a crash reset the counts: those since the restart
            commits[name] = after[name][1]
    return run, transactions, commits, restarted


def used_nodes(label):
    """The nodes a target's runs need: its router's nodes, or the primary."""
    return kConfigs[label][0] if label in kConfigs else (kPrimary,)


def measure(options, binary, workdir, nodes, link, mode, labels, results):
    """Times every target, round after round, and keeps each one's median; counts
    the commits on each node over its runs."""
    runs = {label: [] for label in labels}
    transactions = dict.fromkeys(labels, 0)
    counted = {label: dict.fromkeys(kNodes, 0) for label in labels}
    for _ in range(options.rounds):
        for label in labels:
            for attempt in range(1 + kRepeats):
                run, done, commits, restarted = one_run(options, binary, workdir, nodes, link,
                                                        mode, label)
                restarted = [name for name in restarted if name in used_nodes(label)]
                if not restarted:
                    break
                note = (f"{label}, {mode}, link {link}: {', '.join(restarted)} restarted "
                        "during a run")
                note += "; run again" if attempt < kRepeats else "; its counts left out"
                say(note)
                results.problems.append(note)
            runs[label].append(run)
            if restarted:
                continue  # a restarted server counts afresh
            transactions[label] += done
            for name in kNodes:
                counted[label][name] += commits[name]
    for label in labels:
        key = (None if label == kDirect else link, mode, label)
        figures = median_run(runs[label])
        results.runs[key] = figures
        results.commits[key] = counted[label]
        results.transactions[key] = transactions[label]
        print(describe_run(label, mode, figures, width=14) + "  " +
              spread_text(counted[label]), flush=True)


def spread_text(counts):
    total = sum(counts.values())
    return ", ".join(f"{name} {share(n, total)}" for name, n in counts.items())


def share(n, total):
    return f"{n * 100 / total:.1f}%" if total else "-"


# ------------------------------------------------------------------ the figures


def summary_rows(results):
    rows = []
    for link in results.options.links:
        for mode in results.options.modes:
            p, one, two = (results.runs.get((link, mode, label))
                           for label in (kPrimaryOnly, kOneReplica, kTwoReplicas))
            d = results.runs.get((None, mode, kDirect))
            rows.append([link, mode, fmt_tps(p), fmt_tps(one), fmt_tps(two), fmt_tps(d),
                         ratio(one.tps, p.tps) if ok(one) and ok(p) else "-",
                         ratio(two.tps, p.tps) if ok(two) and ok(p) else "-",
                         ratio(p.tps, d.tps) if ok(p) and ok(d) else "-",
                         ratio(one.tps, d.tps) if ok(one) and ok(d) else "-",
                         ratio(two.tps, d.tps) if ok(two) and ok(d) else "-"])
    return rows


def node_rows(results):
    rows = []
    options = results.options
    keys = [(link, mode, label) for mode in options.modes for link in options.links
            for label in kConfigs] + [(None, mode, kDirect) for mode in options.modes]
    for key in keys:
        run = results.runs.get(key)
        if run is None:
            continue
        link, mode, label = key
        counts = results.commits[key]
        total = sum(counts.values())
        rows.append([link or "-", mode, label, fmt_tps(run), fmt_cpu(run)] +
                    [share(counts[name], total) for name in kNodes] +
                    [ratio(total, results.transactions[key])])
    return rows


def gain_line(results):
    """The best and worst 2 replicas/primary only ratio, in words."""
    ratios = []
    for link in results.options.links:
        for mode in results.options.modes:
            p = results.runs.get((link, mode, kPrimaryOnly))
            two = results.runs.get((link, mode, kTwoReplicas))
            if ok(p) and ok(two) and p.tps:
                ratios.append((two.tps / p.tps, f"{link} {mode}"))
    if not ratios:
        return "No run with two replicas could be compared with primary only."
    low, high = min(ratios), max(ratios)
    if low == high:
        return f"Two replicas against the primary alone: {low[0]:.2f}× the tps ({low[1]})."
    return (f"Two replicas against the primary alone: {low[0]:.2f}× ({low[1]}) to "
            f"{high[0]:.2f}× ({high[1]}) the tps.")


def failures(results):
    return [f"{label}, {mode}{'' if link is None else f', link {link}'}: failed after "
            f"{run.transactions} transactions: {run.error}"
            for (link, mode, label), run in results.runs.items() if run.error]


def misrouted(results):
    """Reads that went where the config sends none: a router's run that committed
    on a node it does not read from."""
    notes = []
    for (link, mode, label), counts in results.commits.items():
        if label == kDirect:
            readers = (kPrimary,)
        else:
            names, policy = kConfigs[label]
            readers = (kPrimary,) if policy == "primary" else names[1:]
        total = sum(counts.values())
        for name, n in counts.items():
            if name not in readers and total and n > 0.01 * total:
                notes.append(f"{label}, {mode}, link {link}: {share(n, total)} of the "
                             f"commits on {name}, which it should not read from")
    return notes


# ------------------------------------------------------------------ output


def describe_setup(results):
    options, nodes = results.options, results.nodes
    return (f"pgbench -S, {options.clients} clients, -j {options.threads}, "
            f"{options.duration} s per run after {options.warmup} s of warm-up"
            f"{f', median of {options.rounds} rounds' if options.rounds > 1 else ''}, "
            f"scale {options.scale}, database {kDatabase}; pool size {options.pool_size} "
            f"per node, transaction pooling, one router thread. Nodes: "
            + ", ".join(f"{name} {kHost}:{nodes[name][0]}" for name in kNodes) +
            f" (cluster in {results.base}). primary only: [reads] policy = \"primary\"; "
            f"1 replica: {kPrimary} + {kReplicas[0]}, round_robin; 2 replicas: all three, "
            "round_robin; include_primary = false. direct: pgbench to the primary. "
            "1r/p, 2r/p: 1 and 2 replicas over primary only; /d: over direct. Node "
            f"columns: share of the transactions committed in {kDatabase} on each node "
            "over the target's runs, warm-ups included (pg_stat_database.xact_commit); "
            "commits/txn: their sum over the transactions pgbench completed in them.")


def print_replicas_report(results):
    print()
    print(describe_setup(results))
    print()
    print(text_table(kSummaryHeader, summary_rows(results)))
    print()
    print(text_table(kNodesHeader, node_rows(results), kTextColumns))
    print(gain_line(results))
    for note in failures(results) + misrouted(results) + results.problems:
        print(f"problem: {note}")


def docs_section(results):
    options, context, nodes = results.options, results.context, results.nodes
    primary = nodes[kPrimary]
    parts = section_opening(
        kDocsTitle, context,
        "The goal: read throughput through shardline with one and two replicas per shard, "
        "against the same shard's primary serving every read.") + [
        "",
        "### `pgbench -S` over one shard's replicas",
        "",
        paragraph(
            f"The nodes are those of `scripts/topologies/{kTopology.name}`, a cluster of its "
            f"own in `{results.base}`: {kPrimary} ({kHost}:{primary[0]}) with the streaming "
            f"replicas " + " and ".join(f"{name} ({kHost}:{nodes[name][0]})"
                                         for name in kReplicas) +
            f". pgbench tables at scale {options.scale} are made on {kPrimary} in the "
            f"database `{kDatabase}`; the run starts once both replicas have replayed them. "
            f"{options.clients} clients (`-c {options.clients} -j {options.threads}`), "
            f"{options.duration} s per timed run after {options.warmup} s of warm-up, the "
            f"targets interleaved round after round, median of {options.rounds} "
            f"round{'s' if options.rounds > 1 else ''}. Each run has a shardline of its "
            f"own, started before the warm-up and stopped after the run; it pools "
            f"{options.pool_size} backends per node in transaction mode, runs one thread, "
            f"checks its nodes every {kHealthIntervalMs} ms and accepts clients over TCP "
            f"on {kHost}; *link* "
            f"is how it reaches the nodes (`tcp`, or the socket directory "
            f"`{context.socket_dir}`). *primary only* is shardline with {kPrimary} alone "
            f"and `[reads] policy = \"primary\"`; *1 replica* lists {kPrimary} and "
            f"{kReplicas[0]}, *2 replicas* all three nodes, both with `policy = "
            f"\"round_robin\"` and `include_primary = false`, so that every read goes to a "
            f"replica. *direct* is pgbench connected to {kPrimary} over TCP, one Postgres "
            f"backend per client. *1r/p* and *2r/p* are the tps with 1 and 2 replicas over "
            f"primary only; *p/d*, *1r/d*, *2r/d* each over direct."),
        "", markdown_table(kSummaryHeader, summary_rows(results)), "",
        paragraph(gain_line(results)),
        "",
        paragraph(
            f"Where the reads went: the share of the transactions committed in `{kDatabase}` "
            f"on each node over the target's runs, warm-ups included (growth of "
            f"`pg_stat_database.xact_commit`, which replicas count too, read once every "
            f"backend of the run has closed and flushed its counts); *commits/txn* is their "
            f"sum over the transactions pgbench completed in those runs, near 1 when every "
            f"read was counted. With replicas, what little stays on {kPrimary} comes from "
            f"client logins: for each new client, shardline reads the session's settings "
            f"back on a backend of the primary, a few transactions per login, and "
            f"pgbench's {options.clients} clients log in twice per run (warm-up and timed "
            f"run). *shardline µs/txn* is "
            f"the router's CPU time (user + system, from `/proc/<pid>/stat`) per "
            f"transaction, its user-space part in parentheses."),
        "", markdown_table(kNodesHeader, node_rows(results), kTextColumns), "",
        paragraph(
            f"This machine has {os.cpu_count()} CPUs, and pgbench, shardline and all three "
            "Postgres servers share them: a replica adds no CPU, it only splits the same "
            "CPUs among more server processes, and each extra node costs the router "
            "connections and health checks. So the ratios here say what reading from "
            "replicas costs on one machine, not how reads scale with replicas: that would "
            "show only with each replica on a machine of its own, which this benchmark "
            "does not have here. What it does show is that the reads really spread: the "
            "node columns above."),
    ]
    notes = failures(results) + misrouted(results) + results.problems
    if notes:
        parts += ["", paragraph(
            "Problems seen (tests that share the cluster stop, kill and restart its nodes; "
            f"a run during which a node it uses restarted was run again, at most {kRepeats} "
            "times):"), ""] + [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


def write_replicas_docs(results):
    replace_docs_section(kDocsTitle, docs_section(results))
