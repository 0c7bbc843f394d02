"""The figures of the sharded benchmark (bench_lib/sharded.py), as a text table
and as the section "Routing over two shards" of docs/benchmarks.md."""

from dataclasses import dataclass, field

from bench_lib.common import kDatabase, kHost, kNode, kSecondNode
from bench_lib.report import (Context, section_opening, fmt_cpu, fmt_tps, markdown_table, ok, paragraph, ratio,
                              replace_docs_section, session_label, text_table)
from bench_lib.sharded import (kBouncer, kDirect, kPassThrough, kRouted, kScripts,
                               kShardedDatabase, kTable)

kDocsTitle = "Routing over two shards"
kGoal = 1.2  # routed CPU per transaction over pass-through's, at most
kHeader = ["link", "script", "mode", "routed tps", "routed µs/txn (user)", "pass-through tps",
           "pass-through µs/txn (user)", "cpu r/p", "tps r/p", "pgbouncer tps",
           "pgbouncer µs/txn (user)", "direct tps", "tps r/d"]
kTextColumns = 3


@dataclass
class ShardedResults:
    options: object  # the Options of scripts/bench
    context: Context
    nodes: dict  # node name -> (port, socket_dir)
    runs: dict = field(default_factory=dict)  # (link, script, mode, label) -> Run; direct: link None
    rows_per_shard: dict = field(default_factory=dict)  # node name -> rows of the split table
    problems: list = field(default_factory=list)  # what the checks after the runs found


def keys(results):
    options = results.options
    return [(link, script, mode) for link in options.links for script in options.scripts
            for mode in options.modes]


def bouncer_run(results, link, script, mode):
    """PgBouncer's run and its mark: '*' for the session-mode one used with prepared."""
    session = results.runs.get((link, script, mode, session_label(results.options.clients)))
    if session:
        return session, "*"
    return results.runs.get((link, script, mode, kBouncer)), ""


def rows(results):
    table = []
    for link, script, mode in keys(results):
        r = results.runs.get((link, script, mode, kRouted))
        p = results.runs.get((link, script, mode, kPassThrough))
        d = results.runs.get((None, script, mode, kDirect))
        b, mark = bouncer_run(results, link, script, mode)
        both = ok(r) and ok(p)
        table.append([
            link, script, mode, fmt_tps(r), fmt_cpu(r), fmt_tps(p), fmt_cpu(p),
            ratio(r.cpu_us, p.cpu_us) if both else "-",
            ratio(r.tps, p.tps) if both else "-",
            fmt_tps(b) + (mark if ok(b) else ""), fmt_cpu(b) + (mark if ok(b) else ""),
            fmt_tps(d), ratio(r.tps, d.tps) if ok(r) and ok(d) else "-",
        ])
    return table


def goal_line(results):
    """How many rows keep routed CPU per transaction within kGoal of pass-through's."""
    ratios = []
    for link, script, mode in keys(results):
        r = results.runs.get((link, script, mode, kRouted))
        p = results.runs.get((link, script, mode, kPassThrough))
        if ok(r) and ok(p) and r.cpu_us and p.cpu_us:
            ratios.append((r.cpu_us / p.cpu_us, f"{link} {script} {mode}"))
    if not ratios:
        return "No routed run could be compared with pass-through."
    met = sum(1 for value, _ in ratios if value <= kGoal)
    worst = max(ratios)
    return (f"Routed CPU per transaction within {kGoal}× of pass-through: {met} of "
            f"{len(ratios)} rows; highest {worst[0]:.2f} ({worst[1]}).")


def failures(results):
    return [f"{label}, {script}, {mode}{'' if link is None else f', link {link}'}: failed "
            f"after {run.transactions} transactions: {run.error}"
            for (link, script, mode, label), run in results.runs.items() if run.error]


def placement(results):
    return ", ".join(f"{n} on {name}" for name, n in results.rows_per_shard.items())


# ------------------------------------------------------------------ output


def print_sharded_report(results):
    options = results.options
    print()
    print(f"pgbench scripts on {kTable} ({options.accounts} rows), {options.clients} "
          f"clients, -j {options.threads}, {options.duration} s per run after "
          f"{options.warmup} s of warm-up"
          f"{f', median of {options.rounds} rounds' if options.rounds > 1 else ''}; pool "
          f"size {options.pool_size} per node. routed: shardline over {kNode} and "
          f"{kSecondNode}, rows {placement(results)}; pass-through: shardline to {kNode} "
          f"alone, no map; pgbouncer: transaction mode (* session mode, pool "
          f"{options.clients}); direct: pgbench to {kNode}. µs/txn: proxy CPU "
          "(user+system) per transaction. r/p: routed/pass-through, r/d: routed/direct.")
    print()
    print(text_table(kHeader, rows(results), kTextColumns))
    print(goal_line(results))
    for note in failures(results):
        print(f"failed: {note}")
    for problem in results.problems:
        print(f"problem: {problem}")


def scripts_block(results):
    parts = []
    for name in results.options.scripts:
        parts += ["", f"`{name}`:", "", "```", kScripts[name].rstrip("\n"), "```"]
    return parts


def docs_section(results):
    options, context = results.options, results.context
    s0, s1 = results.nodes[kNode], results.nodes[kSecondNode]
    parts = section_opening(
        kDocsTitle, context,
        "The goal: shardline's CPU per transaction when it routes over two shards at most "
        f"{kGoal}× its CPU when it passes statements through to one shard.") + [
        "",
        "### `pgbench` on a sharded table",
        "",
        paragraph(
            f"The table `{kTable}(aid bigint primary key, bid int, abalance int, filler "
            f"char(84))`, after `pgbench_accounts`, holds {options.accounts} rows. pgbench "
            f"runs with `-D naccounts={options.accounts}`, {options.clients} clients (`-c "
            f"{options.clients} -j {options.threads}`), {options.duration} s per timed run "
            f"after {options.warmup} s of warm-up, with each of these scripts:"),
    ]
    parts += scripts_block(results)
    parts += ["", paragraph(
        f"*routed* is shardline with the primaries {kNode} ({kHost}:{s0[0]}) and "
        f"{kSecondNode} ({kHost}:{s1[0]}) and a map that shards `{kTable}` on `aid` "
        f"(bigint, 4096 slots split evenly); the rows were loaded by `COPY {kTable} FROM "
        f"STDIN` through it, which split them by key: {placement(results)}, in the database "
        f"`{kShardedDatabase}`. Each statement is analysed and sent to the shard of its "
        f"`aid`; a transaction stays on that shard. *pass-through* is shardline with "
        f"{kNode} alone and no map, so it routes nothing; the same {options.accounts} rows "
        f"are all on {kNode}, in `{kDatabase}`. Both pool {options.pool_size} backends per "
        f"node in transaction mode and run one thread. *pgbouncer* serves `{kDatabase}` "
        f"like pass-through, pool {options.pool_size} in transaction mode; for the prepared "
        f"protocol, which it does not keep in transaction mode, session mode with "
        f"{options.clients} backends (marked `*`). *direct* is pgbench connected to {kNode} "
        f"over TCP. Clients reach the proxies over TCP on {kHost}; *link* is how the "
        f"proxies reach the nodes (`tcp` or the socket directory `{context.socket_dir}`). "
        "*µs/txn* is the proxy process's CPU time (user + system, from `/proc/<pid>/stat`) "
        "per completed transaction, its user-space part in parentheses. *r/p* is "
        "routed/pass-through, *r/d* routed/direct."),
        "", markdown_table(kHeader, rows(results), kTextColumns), "",
        paragraph(goal_line(results))]
    notes = failures(results) + results.problems
    if notes:
        parts += ["", "Problems seen:", ""] + [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


def write_sharded_docs(results):
    replace_docs_section(kDocsTitle, docs_section(results))
