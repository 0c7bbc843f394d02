"""The figures scripts/bench measures, as text tables and as docs/benchmarks.md.

Labels of targets: "shardline", "pgbouncer" (transaction mode), the
session-mode PgBouncer of session_label(), and "direct" (no proxy).
"""

import datetime
import re
import statistics
import textwrap
from dataclasses import dataclass, field

from bench_lib.common import kDatabase, kHost, kNode, kRepoRoot, say

kDocsFile = kRepoRoot / "docs" / "benchmarks.md"
kSummaryHeader = ["link", "mode", "shardline tps", "shardline µs/txn (user)", "pgbouncer tps",
                  "pgbouncer µs/txn (user)", "direct tps", "tps s/p", "cpu s/p", "tps s/d"]
kSessionHeader = ["link", "mode", "tps", "µs/txn (user)"]
kIdleHeader = ["proxy", "idle clients", "RSS before KiB", "RSS with clients KiB",
               "KiB per client", "RSS after close KiB"]


@dataclass
class Run:
    """One timed pgbench run against one target."""
    tps: float = 0.0
    transactions: int = 0
    cpu_us: float | None = None  # proxy CPU per transaction; None without a proxy
    user_us: float | None = None  # the part of cpu_us spent in user space
    cpu_share: float | None = None  # proxy CPU time over wall time
    error: str = ""  # why the run failed; empty when it succeeded


def median_run(runs):
    """The median of repeated runs; the first failure if any run failed."""
    failed = [r for r in runs if r.error]
    if failed:
        return failed[0]
    def median(name):
        values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
        return statistics.median(values) if values else None

    return Run(tps=median("tps"), transactions=int(median("transactions")),
               cpu_us=median("cpu_us"), user_us=median("user_us"),
               cpu_share=median("cpu_share"))


@dataclass
class IdleResult:
    """RSS of one proxy around the idle-client test."""
    label: str
    before_kib: int = 0
    after_kib: int = 0  # with the idle clients connected
    closed_kib: int = 0  # after they disconnected again
    clients: int = 0  # clients that completed startup
    error: str = ""

    @property
    def per_client_kib(self):
        return (self.after_kib - self.before_kib) / self.clients if self.clients else None


@dataclass
class Context:
    """Where and how the figures were measured."""
    machine: str
    command: str
    busy: float  # share of CPU time other work used just before the run
    node_port: int
    socket_dir: str


@dataclass
class Results:
    options: object  # the Options of scripts/bench
    context: Context
    runs: dict = field(default_factory=dict)  # (link, mode, label) -> Run; direct: link None
    idle: list = field(default_factory=list)  # IdleResult per proxy


def session_label(clients):
    return f"pgbouncer session/{clients}"


# ------------------------------------------------------------ progress lines


def describe_run(label, mode, run, width=22):
    """One line per run; `width` is the label's column."""
    if run.error:
        return (f"{mode:9} {label:{width}} FAILED after {run.transactions} transactions: "
                f"{run.error}")
    cpu = "" if run.cpu_us is None else (
        f"  {run.cpu_us:5.1f} µs CPU/txn (user {run.user_us:4.1f}, system "
        f"{run.cpu_us - run.user_us:4.1f}), proxy busy {run.cpu_share * 100:3.0f}%")
    return f"{mode:9} {label:{width}} {run.tps:10.0f} tps{cpu}"


def describe_idle(r):
    if r.per_client_kib is None:
        text = f"idle      {r.label:22} no client connected"
    else:
        text = (f"idle      {r.label:22} RSS {r.before_kib} -> {r.after_kib} KiB with "
                f"{r.clients} clients: {r.per_client_kib:.2f} KiB per client")
    text += f"; {r.closed_kib} KiB after they left"
    return text + (f"  [{r.error}]" if r.error else "")


# -------------------------------------------------------------------- rows


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def ok(run):
    return run is not None and not run.error


def fmt_tps(run):
    return "-" if run is None else ("failed" if run.error else f"{run.tps:.0f}")


def fmt_cpu(run):
    """CPU per transaction, with its user-space part in parentheses."""
    if not ok(run) or run.cpu_us is None:
        return "-"
    return f"{run.cpu_us:.1f} ({run.user_us:.1f})"


def summary_rows(results):
    """One row per link and mode: figures and ratios.

    Where PgBouncer failed in transaction mode, the ratios compare with its
    session-mode run and carry a '*'."""
    rows = []
    options = results.options
    for link in options.links:
        for mode in options.modes:
            s = results.runs.get((link, mode, "shardline"))
            p = results.runs.get((link, mode, "pgbouncer"))
            d = results.runs.get((None, mode, "direct"))
            versus, mark = p, ""
            session = results.runs.get((link, mode, session_label(options.clients)))
            if not ok(p) and session:
                versus, mark = session, "*"
            compared = ok(s) and ok(versus)
            rows.append([
                link, mode, fmt_tps(s), fmt_cpu(s), fmt_tps(p), fmt_cpu(p), fmt_tps(d),
                ratio(s.tps, versus.tps) + mark if compared else "-",
                ratio(s.cpu_us, versus.cpu_us) + mark if compared else "-",
                ratio(s.tps, d.tps) if ok(s) and ok(d) else "-",
            ])
    return rows


def session_rows(results):
    label = session_label(results.options.clients)
    return [[link, mode, fmt_tps(run), fmt_cpu(run)]
            for (link, mode, name), run in results.runs.items() if name == label]


def idle_rows(results):
    return [[r.label, r.clients, r.before_kib, r.after_kib,
             "-" if r.per_client_kib is None else f"{r.per_client_kib:.2f}", r.closed_kib]
            for r in results.idle]


def idle_ratio(results):
    by_label = {r.label: r.per_client_kib for r in results.idle}
    return ratio(by_label.get("shardline"), by_label.get("pgbouncer"))


def failures(results):
    return [f"{label}, {mode}{'' if link is None else f', link {link}'}: failed after "
            f"{run.transactions} transactions: {run.error}"
            for (link, mode, label), run in results.runs.items() if run.error]


def text_table(header, rows, text_columns=2):
    """Aligned columns: the first `text_columns` to the left, figures to the right."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).rjust(w) if i >= text_columns else str(c).ljust(w)
                  for i, (c, w) in enumerate(zip(row, widths))).rstrip()
        for row in [header] + rows)


def markdown_table(header, rows, text_columns=2):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < text_columns else "--:"
                            for i in range(len(header))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


# ------------------------------------------------------------------ output


def print_report(results):
    options, context = results.options, results.context
    print()
    if results.runs:
        print(f"pgbench -S, {options.clients} clients, -j {options.threads}, "
              f"{options.duration} s per run after {options.warmup} s of warm-up"
              f"{f', median of {options.rounds} rounds' if options.rounds > 1 else ''}, "
              f"scale {options.scale}; pool size {options.pool_size}, transaction pooling, "
              f"one proxy thread; clients reach the proxies over TCP {kHost}. link: how the "
              f"proxies reach {kNode} (tcp {kHost}:{context.node_port}, unix "
              f"{context.socket_dir}); direct: pgbench to {kNode} over TCP. µs/txn: proxy "
              "CPU (user+system) per transaction, user-space part in parentheses. s/p: shardline/PgBouncer, s/d: "
              "shardline/direct.")
        print()
        print(text_table(kSummaryHeader, summary_rows(results)))
        sessions = session_rows(results)
        if sessions:
            print(f"\n{session_label(options.clients)}: PgBouncer in session mode, pool size "
                  f"{options.clients}, for prepared statements; ratios marked * compare "
                  "with it because PgBouncer failed in transaction mode:")
            print(text_table(kSessionHeader, sessions))
        for note in failures(results):
            print(f"failed: {note}")
    if results.idle:
        print()
        print(text_table(kIdleHeader, idle_rows(results)))
        print(f"KiB per idle client, shardline/pgbouncer: {idle_ratio(results)}")


def paragraph(text):
    return textwrap.fill(text, width=88, break_on_hyphens=False, break_long_words=False)


def section_opening(title, context, purpose):
    """The first lines of a docs section: its title, the machine, the command that measured
    it, how busy the machine was, then `purpose`."""
    return [
        f"## {title}",
        "",
        paragraph(f"Measured on {datetime.date.today().isoformat()} on {context.machine}, "
                  "with one run of"),
        "",
        "```",
        context.command,
        "```",
        "",
        paragraph("Every figure below comes from that run. Just before it, "
                  f"{context.busy * 100:.0f}% of the machine's CPU time went to other "
                  "work. " + purpose),
    ]


def docs_section(results):
    context = results.context
    parts = section_opening(
        "Performance", context,
        "pgbench, Postgres and the proxy share the same CPUs, so tps moves with any other "
        "load, more than CPU per transaction does. `--rounds N` reports the median of N "
        "runs; `scripts/bench --help` lists every option.")
    if results.runs:
        parts += pass_through_section(results)
    if results.idle:
        parts += idle_section(results)
    return "\n".join(parts) + "\n"


def pass_through_section(results):
    options, context = results.options, results.context
    parts = ["", "### Pass-through: `pgbench -S`", "", paragraph(
        f"{options.clients} clients (`-c {options.clients} -j {options.threads}`), "
        f"{options.duration} s per timed run after {options.warmup} s of warm-up, "
        f"pgbench tables at scale {options.scale} in the database `{kDatabase}` of {kNode}. "
        f"Both proxies pool {options.pool_size} backends in "
        f"transaction mode, run one thread, and accept clients over TCP on {kHost}. "
        f"*link* is how the proxies reach {kNode}: `tcp` is {kHost}:{context.node_port}, "
        f"`unix` the socket directory `{context.socket_dir}`. *direct* is pgbench "
        f"connected to {kNode} over TCP, one Postgres backend per client. *µs/txn* is the "
        "proxy process's CPU time (user + system, from `/proc/<pid>/stat`) per completed "
        "transaction, its user-space part in parentheses; lower is better. *s/p* is shardline/PgBouncer, *s/d* "
        "shardline/direct."),
        "", markdown_table(kSummaryHeader, summary_rows(results))]
    sessions = session_rows(results)
    if sessions:
        parts += ["", paragraph(
            "PgBouncer 1.18 does not keep prepared statements in transaction mode: a "
            "client's statement exists only on the backend that parsed it. Its prepared run "
            "in transaction mode fails with `prepared statement \"P_0\" already exists` "
            "or `does not exist`, unless by chance every backend already holds pgbench's "
            "statement under the same name from an earlier client. For the prepared protocol "
            f"it also ran in session mode with a pool of {options.clients} backends, one per "
            f"client (`{session_label(options.clients)}`); where the transaction-mode run "
            "failed, ratios marked `*` compare with that run:"),
            "", markdown_table(kSessionHeader, sessions)]
    notes = failures(results)
    if notes:
        parts += ["", "Runs that failed:", ""] + [f"- {n}" for n in notes]
    return parts


def idle_section(results):
    parts = ["", "### Memory per idle client", "", paragraph(
        f"{results.options.idle_clients} clients connect over TCP, finish startup (trust "
        "authentication) and stay idle; *KiB per client* is the growth of the proxy's "
        "`VmRSS` (from `/proc/<pid>/status`) divided by the clients connected. Before "
        "measuring, a short pgbench run fills each proxy's pool."),
        "", markdown_table(kIdleHeader, idle_rows(results)), "",
        f"KiB per idle client, shardline/PgBouncer: {idle_ratio(results)}."]
    return parts + [f"\n{r.label}: {r.error}." for r in results.idle if r.error]


def write_docs(results):
    """Replaces the section "Performance" of docs/benchmarks.md, or adds it."""
    replace_docs_section("Performance", docs_section(results))


def replace_docs_section(title, section):
    """Puts `section`, which opens with "## <title>", in place of the section of that
    title in docs/benchmarks.md, or after the last section."""
    intro = "# Benchmarks\n\n" + paragraph(
        "Benchmarks are scripts in `scripts/`; each prints its figures and ratios side by "
        "side, measured in one run on the machine it runs on.") + "\n"
    text = kDocsFile.read_text() if kDocsFile.exists() else intro
    match = re.search(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    if match:
        rest = text[match.end():]
        text = text[:match.start()] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    kDocsFile.write_text(text)
    say(f"wrote the section {title} of {kDocsFile.relative_to(kRepoRoot)}")
