"""The router survives bad and slow clients, dead backends and cancels, and
answers an exhausted pool with 53300.

After every bad client the same router must still be running and serve a
normal client. Raw-socket tests use pgraw; every wait is bounded.
"""
import os
import random
import socket
import struct
import threading
import time

import psycopg
import pytest

from conftest import (assert_serving, bounded, create_scratch_table, direct_port, direct_rows,
                      superuser_sql, wait_for)
from pgraw import (CANCEL_REQUEST, PROTOCOL_3_0, RawConn, describe, error_fields, errors, message,
                   query, special_request, startup_packet)

TABLE = "sl_robustness"


# Helpers.

def assert_closed_with_fatal_or_nothing(conn, sqlstate="08P01"):
    """The server closes; anything it said first is one FATAL with `sqlstate`."""
    data = conn.wait_closed()
    if data:
        assert data[:1] == b"E", data
        length = struct.unpack("!I", data[1:5])[0]
        fields = error_fields(data[5:length + 1])
        assert (fields["V"], fields["C"]) == ("FATAL", sqlstate), fields
        assert len(data) == length + 1, f"bytes after the FATAL: {data[length + 1:]!r}"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def backends_of(application_name):
    """(pid, state) of s0-primary's backends with this application_name."""
    out = superuser_sql("SELECT pid, state FROM pg_stat_activity "
                        f"WHERE application_name = '{application_name}' ORDER BY pid")
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def terminate_backends(application_name, state=None):
    where = f"application_name = '{application_name}'"
    if state:
        where += f" AND state = '{state}'"
    out = superuser_sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        f"WHERE {where}")
    return int(out.strip())


@pytest.fixture(scope="module")
def table():
    create_scratch_table(TABLE)
    yield TABLE
    superuser_sql(f"DROP TABLE IF EXISTS {TABLE}")


# Startup phase.

@pytest.mark.parametrize("length", [0, 4, 7, 10001, 0x7FFFFFFF, 0xFFFFFFFF])
def test_startup_packet_with_impossible_length(router, length):
    conn = RawConn.tcp(router.port)
    conn.send(struct.pack("!I", length) + struct.pack("!I", PROTOCOL_3_0))
    assert_closed_with_fatal_or_nothing(conn)
    conn.close()
    assert_serving(router)


def test_unsupported_protocol_major_version_like_postgres(router):
    packet = startup_packet({"user": "demo", "database": "demo"}, version=4 << 16)
    answers = []
    for port in (direct_port(), router.port):
        conn = RawConn.tcp(port)
        conn.send(packet)
        answers.append([(e["V"], e["C"], e["M"]) for e in errors(conn.read_to_close())])
        conn.close()
    assert answers[0] == [("FATAL", "0A000",
                           "unsupported frontend protocol 4.0: server supports 3.0 to 3.0")]
    assert answers[1] == answers[0]
    assert_serving(router)


def test_protocol_2_is_refused(router):
    conn = RawConn.tcp(router.port)
    conn.send(startup_packet({"user": "demo", "database": "demo"}, version=2 << 16))
    data = conn.wait_closed()
    assert data.startswith(b"E"), data
    assert b"0A000" in data and b"unsupported frontend protocol 2.0" in data, data
    conn.close()
    assert_serving(router)


def test_newer_minor_version_gets_negotiate_protocol_version(router):
    """Postgres answers protocol 3.5 and an unknown _pq_ option with
    NegotiateProtocolVersion (3.0, the option) and carries on."""
    seen = []
    for port in (direct_port(), router.port):
        conn = RawConn.tcp(port)
        msgs = conn.authenticate("demo", "demo", "demo", version=(3 << 16) | 5,
                                 **{"_pq_.sl_test_option": "1"})
        assert msgs[-1] == (b"Z", b"I"), describe(msgs)
        seen.append([m for m in msgs if m[0] == b"v"])
        conn.close()
    expected = (b"v", struct.pack("!II", PROTOCOL_3_0, 1) + b"_pq_.sl_test_option\0")
    assert seen[0] == [expected]
    assert seen[1] == seen[0]
    assert_serving(router)


def test_truncated_startup_packet_then_close(router):
    conn = RawConn.tcp(router.port)
    conn.send(struct.pack("!II", 100, PROTOCOL_3_0) + b"user\0de")
    conn.close()
    assert_serving(router)


def test_cancel_request_with_unknown_key_gets_no_answer(router):
    conn = RawConn.tcp(router.port)
    conn.send(special_request(CANCEL_REQUEST, 12345, 67890))
    assert conn.wait_closed() == b""
    conn.close()
    assert_serving(router)


def test_silent_clients_are_dropped_at_client_login_ms(edited_router_factory):
    r = edited_router_factory(
        lambda text: text.replace("[timeouts]\n", "[timeouts]\nclient_login_ms = 500\n"))
    silent = RawConn.tcp(r.port)
    mid_scram = RawConn.tcp(r.port)
    mid_scram.send(startup_packet({"user": "demo", "database": "demo"}))
    assert mid_scram.read_message()[0] == b"R"
    start = time.monotonic()
    silent.wait_closed(timeout=5)
    mid_scram.wait_closed(timeout=5)
    assert time.monotonic() - start < 3
    assert_serving(r)


def sasl_initial(mechanism, data, length=None):
    length = len(data) if length is None else length
    return message(b"p", mechanism.encode() + b"\0" + struct.pack("!i", length) + data)


BAD_SASL_FIRST = {
    "query instead of a SASL response": query("SELECT 1"),
    "unknown mechanism": sasl_initial("SCRAM-SHA-1", b"n,,n=,r=abcdef"),
    "length beyond the message": sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abcdef", 1000),
    "negative length": sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abcdef", -5),
    "not a SCRAM message": sasl_initial("SCRAM-SHA-256", b"hello"),
    "empty nonce": sasl_initial("SCRAM-SHA-256", b"n,,n=,r="),
    "channel binding the server did not offer": sasl_initial(
        "SCRAM-SHA-256", b"p=tls-server-end-point,,n=,r=abcdef"),
    "no mechanism terminator": message(b"p", b"SCRAM-SHA-256"),
}


@pytest.mark.parametrize("name", list(BAD_SASL_FIRST))
def test_bad_first_sasl_message(router, name):
    conn = RawConn.tcp(router.port)
    conn.send(startup_packet({"user": "demo", "database": "demo"}))
    assert struct.unpack("!i", conn.read_message()[1][:4])[0] == 10
    conn.send(BAD_SASL_FIRST[name])
    [err] = errors(conn.read_to_close())
    assert err["V"] == "FATAL" and err["C"] in ("08P01", "28P01"), err
    conn.close()
    assert_serving(router)


BAD_SASL_FINAL = {
    "nonce not the server's": lambda nonce: b"c=biws,r=somethingelse,p=" + b"A" * 44,
    "no proof": lambda nonce: b"c=biws,r=" + nonce,
    "proof not base64": lambda nonce: b"c=biws,r=" + nonce + b",p=!!!",
    "short proof": lambda nonce: b"c=biws,r=" + nonce + b",p=AAAA",
    "binding data differs": lambda nonce: b"c=eSws,r=" + nonce + b",p=" + b"A" * 44,
    "garbage": lambda nonce: b"\xff\xfe\0garbage",
    "empty": lambda nonce: b"",
}


@pytest.mark.parametrize("name", list(BAD_SASL_FINAL))
def test_bad_final_sasl_message(router, name):
    conn = RawConn.tcp(router.port)
    conn.send(startup_packet({"user": "demo", "database": "demo"}))
    conn.read_message()
    conn.send(sasl_initial("SCRAM-SHA-256", b"n,,n=,r=clientnonce"))
    kind, body = conn.read_message()
    assert (kind, struct.unpack("!i", body[:4])[0]) == (b"R", 11)
    server_nonce = dict(item.split(b"=", 1) for item in body[4:].split(b","))[b"r"]
    conn.send(message(b"p", BAD_SASL_FINAL[name](server_nonce)))
    [err] = errors(conn.read_to_close())
    assert err["V"] == "FATAL" and err["C"] in ("08P01", "28P01"), err
    conn.close()
    assert_serving(router)


def test_bad_md5_response(router):
    for response in (message(b"p", b"md5nothex\0"), message(b"p", b""), query("SELECT 1")):
        conn = RawConn.tcp(router.port)
        conn.send(startup_packet({"user": "md5user", "database": "demo"}))
        assert struct.unpack("!i", conn.read_message()[1][:4])[0] == 5
        conn.send(response)
        [err] = errors(conn.read_to_close())
        assert err["V"] == "FATAL" and err["C"] in ("08P01", "28P01"), err
        conn.close()
    assert_serving(router)


# After authentication.

@pytest.mark.parametrize("length", [0, 3])
def test_message_length_below_4(router, length):
    conn = RawConn.tcp(router.port)
    conn.login()
    conn.send(b"Q" + struct.pack("!I", length))
    assert_closed_with_fatal_or_nothing(conn)
    conn.close()
    assert_serving(router)


def test_message_over_max_message_bytes(router_factory):
    r = router_factory(max_message_bytes=1024)
    conn = RawConn.tcp(r.port)
    conn.login()
    # Under the limit, and a reply far over it: both fine (the limit is on client messages).
    small = conn.simple_query("SELECT length('" + "x" * 900 + "'), repeat('y', 100000)")
    assert small[-1] == (b"Z", b"I")
    assert b"900" in small[1][1]
    conn.send(query("SELECT '" + "x" * 2000 + "'"))
    assert_closed_with_fatal_or_nothing(conn)
    conn.close()
    assert_serving(r)


def test_message_over_max_message_bytes_announced_only(router_factory):
    """The length field alone is over the limit; the body never comes."""
    r = router_factory(max_message_bytes=1024)
    conn = RawConn.tcp(r.port)
    conn.login()
    conn.send(b"Q" + struct.pack("!I", 500_000_000))
    assert_closed_with_fatal_or_nothing(conn)
    conn.close()
    assert_serving(r)


def test_unknown_message_type_like_postgres(router):
    answers = []
    for port in (direct_port(), router.port):
        conn = RawConn.tcp(port)
        conn.login()
        conn.send(message(b"z"))
        answers.append([(e["V"], e["C"], e["M"]) for e in errors(conn.read_to_close())])
        conn.close()
    assert answers[0] == [("FATAL", "08P01", "invalid frontend message type 122")]
    assert answers[1] == answers[0]
    assert_serving(router)


def test_unknown_message_type_inside_a_transaction_rolls_back(router, table):
    conn = RawConn.tcp(router.port)
    conn.login(application_name="sl-badtype-tx")
    assert conn.simple_query("BEGIN")[-1] == (b"Z", b"T")
    assert conn.simple_query(f"INSERT INTO {table} VALUES ('badtype', 1)")[-1] == (b"Z", b"T")
    conn.send(message(b"z"))
    conn.read_to_close()
    conn.close()
    wait_for(lambda: all(state != "idle in transaction" for _, state in
                         backends_of("sl-badtype-tx")), 5, "the transaction to end")
    assert direct_rows(f"SELECT k FROM {table} WHERE k = 'badtype'") == []
    assert_serving(router)


def test_truncated_message_then_close(router):
    conn = RawConn.tcp(router.port)
    conn.login()
    conn.send(b"Q" + struct.pack("!I", 100) + b"SELECT 1")
    time.sleep(0.1)
    conn.close()
    assert_serving(router)


def test_client_vanishing_inside_a_transaction_releases_its_locks(router, table):
    superuser_sql(f"INSERT INTO {table} VALUES ('locked', 0) ON CONFLICT DO NOTHING")
    conn = RawConn.tcp(router.port)
    conn.login()
    conn.simple_query("BEGIN")
    msgs = conn.simple_query(f"UPDATE {table} SET v = v + 1 WHERE k = 'locked'")
    assert msgs[-1] == (b"Z", b"T"), describe(msgs)
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()

    def lock_free():
        try:
            superuser_sql(f"SET lock_timeout = '100ms'; "
                          f"SELECT v FROM {table} WHERE k = 'locked' FOR UPDATE", timeout=10)
            return True
        except RuntimeError:
            return False

    wait_for(lock_free, 5, "the row lock to be released")
    assert direct_rows(f"SELECT v FROM {table} WHERE k = 'locked'") == [("0",)]
    assert_serving(router)


def vanish_then_next_client_works(r, prepare, what):
    """With a pool of one, a client does `prepare` on the only backend and
    vanishes; the next client must get a clean backend within a second."""
    conn = RawConn.tcp(r.port)
    conn.login()
    prepare(conn)
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    start = time.monotonic()

    def next_client():
        with r.connect() as c:
            assert c.execute("SHOW transaction_isolation").fetchone() == ("read committed",)
            c.execute("SELECT 1")
            return c.pgconn.transaction_status

    assert bounded(next_client, 10) == psycopg.pq.TransactionStatus.IDLE, what
    assert time.monotonic() - start < 3, what
    assert_serving(r)


def test_client_vanishing_mid_copy_in(router_factory, table):
    r = router_factory(max_size=1)

    def prepare(conn):
        conn.send(query(f"COPY {table} (k, v) FROM STDIN"))
        assert conn.read_message()[0] == b"G"
        conn.send(message(b"d", b"copy-1\t1\ncopy-2\t"))

    vanish_then_next_client_works(r, prepare, "COPY IN left open")
    assert direct_rows(f"SELECT k FROM {table} WHERE k LIKE 'copy-%'") == []


def test_client_vanishing_mid_copy_out(router_factory):
    r = router_factory(max_size=1)

    def prepare(conn):
        conn.send(query("COPY (SELECT g FROM generate_series(1, 500000) g) TO STDOUT"))
        assert conn.read_message()[0] == b"H"

    vanish_then_next_client_works(r, prepare, "COPY OUT left running")


def test_client_vanishing_mid_pipeline(router_factory):
    r = router_factory(max_size=1)

    def prepare(conn):
        conn.send(message(b"P", b"s1\0SELECT $1::int\0\0\0") +
                  message(b"B", b"\0s1\0\0\0\0\1\0\0\0\0017\0\0") +
                  message(b"E", b"\0\0\0\0\0") + message(b"H"))
        assert conn.read_message()[0] == b"1"

    vanish_then_next_client_works(r, prepare, "pipeline without Sync")


def test_client_vanishing_during_a_long_query(router_factory):
    r = router_factory(max_size=1)

    def prepare(conn):
        conn.send(query("SELECT pg_sleep(5)"))
        time.sleep(0.2)

    vanish_then_next_client_works(r, prepare, "query still running")


def test_client_vanishing_in_a_failed_transaction(router_factory):
    r = router_factory(max_size=1)

    def prepare(conn):
        conn.simple_query("BEGIN ISOLATION LEVEL SERIALIZABLE")
        assert conn.simple_query("SELECT 1/0")[-1] == (b"Z", b"E")

    vanish_then_next_client_works(r, prepare, "transaction in error state")


def test_terminate_inside_a_transaction(router_factory, table):
    r = router_factory(max_size=1)

    def prepare(conn):
        conn.simple_query("BEGIN")
        conn.simple_query(f"INSERT INTO {table} VALUES ('terminated', 1)")
        conn.send(message(b"X"))

    vanish_then_next_client_works(r, prepare, "Terminate inside a transaction")
    assert direct_rows(f"SELECT k FROM {table} WHERE k = 'terminated'") == []


def test_many_idle_clients_on_a_small_pool(router_factory):
    """300 logged-in clients on a pool of 10 (more clients than the node's
    max_connections of 200): all stay connected and are all served."""
    r = router_factory(max_size=10)
    conns = []
    try:
        for _ in range(300):
            conn = RawConn.tcp(r.port)
            conn.login()
            conns.append(conn)
        for i, conn in enumerate(conns):
            msgs = conn.simple_query(f"SELECT {i}")
            assert msgs[-1] == (b"Z", b"I") and (b"C", b"SELECT 1\0") in msgs, describe(msgs)
    finally:
        for conn in conns:
            conn.close()
    assert_serving(r)


def test_client_that_never_reads_a_big_result(router_factory):
    """2 million rows (~30 MB on the wire) to a client that reads nothing: the
    router must apply backpressure instead of buffering, and keep serving."""
    r = router_factory()
    assert_serving(r)
    before = rss_kib(r.proc.pid)
    stalled = RawConn.tcp(r.port, rcvbuf=4096)
    stalled.login(application_name="sl-stalled-reader")
    stalled.send(query("SELECT g FROM generate_series(1, 2000000) g"))
    wait_for(lambda: backends_of("sl-stalled-reader") and
             backends_of("sl-stalled-reader")[0][1] == "active", 5, "the query to start")
    time.sleep(2)  # the backend has filled every buffer between it and the client by now

    for _ in range(5):
        start = time.monotonic()
        assert_serving(r)
        assert time.monotonic() - start < 5
    grown = rss_kib(r.proc.pid) - before
    assert grown < 16 * 1024, f"router grew by {grown} KiB while a client stalled"

    stalled.close()
    wait_for(lambda: backends_of("sl-stalled-reader") == [], 10,
             "the stalled query's backend to go away")
    assert_serving(r)


def test_client_that_pipelines_queries_and_never_reads(router_factory):
    """A client floods small queries and reads nothing: the router must stop
    reading from it instead of queueing per-message state without bound."""
    r = router_factory(shutdown_drain_ms=1000)
    assert_serving(r)
    before = rss_kib(r.proc.pid)
    flood = RawConn.tcp(r.port, rcvbuf=4096)
    flood.login()
    flood.sock.setblocking(False)
    data = query("SELECT 1") * 3_000_000
    sent = 0
    deadline = time.monotonic() + 4
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += flood.sock.send(data[sent:sent + (1 << 20)])
        except BlockingIOError:
            time.sleep(0.01)
    assert sent < len(data), "the router read 42 MB of queries from a client that reads nothing"
    start = time.monotonic()
    assert_serving(r)
    assert time.monotonic() - start < 5
    grown = rss_kib(r.proc.pid) - before
    flood.close()
    assert grown < 16 * 1024, (f"router grew by {grown} KiB for {sent // 14} queued queries "
                               "of one client")
    assert_serving(r)


def test_backend_killed_during_a_query(router):
    conn = router.connect(application_name="sl-killed-query")
    result = {}

    def run():
        start = time.monotonic()
        try:
            conn.execute("SELECT pg_sleep(20)")
            result["error"] = None
        except psycopg.Error as e:
            result["error"] = e
        result["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: ("active" in [s for _, s in backends_of("sl-killed-query")]), 5,
             "pg_sleep to run")
    assert terminate_backends("sl-killed-query", "active") == 1
    thread.join(10)
    assert not thread.is_alive(), "the client hangs after its backend died"
    assert isinstance(result["error"], psycopg.OperationalError)
    assert "terminating connection due to administrator command" in str(result["error"])
    assert result["seconds"] < 5
    conn.close()
    assert_serving(router)


def test_backend_killed_mid_result(router):
    conn = RawConn.tcp(router.port, rcvbuf=4096)
    conn.login(application_name="sl-killed-result")
    conn.send(query("SELECT g FROM generate_series(1, 2000000) g"))
    assert conn.read_message()[0] == b"T"
    assert conn.read_message()[0] == b"D"
    assert terminate_backends("sl-killed-result", "active") == 1
    msgs = conn.read_to_close(timeout=30)
    kinds = {t for t, _ in msgs}
    assert b"C" not in kinds and b"Z" not in kinds, "a cut result looked complete"
    assert msgs and msgs[-1][0] == b"E", describe(msgs[-3:])
    assert errors(msgs)[-1]["V"] == "FATAL"
    conn.close()
    assert_serving(router)


def test_idle_client_survives_death_of_its_pooled_backend(router_factory):
    """Transaction mode: between transactions a client holds no backend, so
    the death of an idle pooled backend must not reach it."""
    r = router_factory()
    with r.connect(application_name="sl-idle-pooled") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        wait_for(lambda: [s for _, s in backends_of("sl-idle-pooled")] == ["idle"], 5,
                 "the pooled backend to be idle")
        assert terminate_backends("sl-idle-pooled") == 1
        wait_for(lambda: backends_of("sl-idle-pooled") == [], 5, "the backend to exit")
        assert bounded(lambda: conn.execute("SELECT 2").fetchone(), 15) == (2,)
    assert_serving(r)


def test_connection_churn_leaks_no_descriptors(router_factory):
    r = router_factory()
    assert_serving(r)
    time.sleep(0.2)
    before = fd_count(r.proc.pid)
    for i in range(40):
        kind = i % 4
        conn = RawConn.tcp(r.port)
        if kind == 1:
            conn.send(startup_packet({"user": "demo", "database": "demo"}))
            conn.read_message()
        elif kind == 2:
            conn.login()
        elif kind == 3:
            conn.login()
            conn.send(query("SELECT pg_sleep(0.05)"))
        conn.close()
    for _ in range(10):
        with r.connect() as c:
            c.execute("SELECT 1")
    wait_for(lambda: fd_count(r.proc.pid) <= before + 2, 10,
             f"descriptors to return to {before} (now {fd_count(r.proc.pid)})")
    assert_serving(r)


# Cancel.

def test_cancel_during_pg_sleep(router):
    conn = router.connect()
    timer = threading.Timer(0.5, conn.cancel)
    timer.start()
    start = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        bounded(lambda: conn.execute("SELECT pg_sleep(10)"), 15)
    assert info.value.sqlstate == "57014"
    assert time.monotonic() - start < 3
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()


def test_cancel_with_a_wrong_key_does_nothing(router):
    conn = RawConn.tcp(router.port)
    msgs = conn.login()
    [key] = [body for t, body in msgs if t == b"K"]
    pid, secret = struct.unpack("!ii", key)
    conn.send(query("SELECT pg_sleep(1.5), 'slept'"))
    time.sleep(0.3)
    for bad in [(pid, secret ^ 1), (pid ^ 0x100, secret), (random.randint(1, 2**31 - 1), 0)]:
        cancel = RawConn.tcp(router.port)
        cancel.send(special_request(CANCEL_REQUEST, *bad))
        assert cancel.wait_closed() == b""
        cancel.close()
    msgs = conn.read_until(b"Z", timeout=10)
    assert errors(msgs) == [], describe(msgs)
    assert (b"C", b"SELECT 1\0") in msgs

    # The right key cancels.
    conn.send(query("SELECT pg_sleep(10)"))
    time.sleep(0.3)
    cancel = RawConn.tcp(router.port)
    cancel.send(special_request(CANCEL_REQUEST, pid, secret))
    cancel.wait_closed()
    msgs = conn.read_until(b"Z", timeout=5)
    assert [e["C"] for e in errors(msgs)] == ["57014"]
    conn.close()


def test_cancel_of_an_idle_client_does_not_reach_its_old_backend(router_factory):
    """Pool of one: A's backend serves B after A's transaction; A's cancel key
    must not cancel B's query."""
    r = router_factory(max_size=1)
    a = r.connect()
    a.execute("SELECT 1")
    b = r.connect()
    result = {}

    def run_b():
        try:
            result["row"] = b.execute("SELECT pg_sleep(1.5), 'done'").fetchone()
        except psycopg.Error as e:
            result["error"] = e

    thread = threading.Thread(target=run_b, daemon=True)
    thread.start()
    time.sleep(0.4)
    a.cancel()
    thread.join(10)
    assert result == {"row": ("", "done")}
    a.close()
    b.close()


def test_cancel_over_the_unix_socket(router):
    dsn = f"host={router.socket_dir} port={router.port} user=demo password=demo dbname=demo"
    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    threading.Timer(0.5, conn.cancel).start()
    with pytest.raises(psycopg.errors.QueryCanceled):
        bounded(lambda: conn.execute("SELECT pg_sleep(10)"), 15)
    conn.close()


def test_cancel_reaches_a_session_on_another_worker(edited_router_factory):
    r = edited_router_factory(lambda text: text.replace("workers = 1\n", "workers = 3\n"))
    conns = [r.connect() for _ in range(3)]  # one per worker, round robin
    for conn in conns:
        threading.Timer(0.4, conn.cancel).start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            bounded(lambda: conn.execute("SELECT pg_sleep(10)"), 15)
        conn.close()


# An exhausted pool.

def test_checkout_timeout_is_53300_then_recovers(router_factory):
    r = router_factory(max_size=1, checkout_timeout_ms=500)
    holder = r.connect(autocommit=False)
    waiter = r.connect()
    holder.execute("SELECT 1")  # the transaction keeps the only backend
    start = time.monotonic()
    with pytest.raises(psycopg.errors.TooManyConnections) as info:
        bounded(lambda: waiter.execute("SELECT 2"), 10)
    elapsed = time.monotonic() - start
    assert info.value.sqlstate == "53300"
    assert 0.4 < elapsed < 2, elapsed
    # The extended protocol (parameters) fails the same way and recovers too.
    with pytest.raises(psycopg.errors.TooManyConnections):
        bounded(lambda: waiter.execute("SELECT %s::int", (3,)), 10)
    holder.commit()
    assert waiter.execute("SELECT 2").fetchone() == (2,)
    assert waiter.execute("SELECT %s::int", (3,)).fetchone() == (3,)
    holder.close()
    waiter.close()


def test_checkout_waiter_gets_the_released_backend(router_factory):
    r = router_factory(max_size=1, checkout_timeout_ms=5000)
    holder = r.connect(autocommit=False)
    waiter = r.connect()
    holder.execute("SELECT 1")
    threading.Timer(0.5, holder.commit).start()
    start = time.monotonic()
    assert bounded(lambda: waiter.execute("SELECT 2").fetchone(), 10) == (2,)
    assert 0.4 < time.monotonic() - start < 3
    holder.close()
    waiter.close()


def test_login_with_the_pool_exhausted_is_fatal_53300(router_factory):
    """An error during startup ends the connection; Postgres marks it FATAL."""
    r = router_factory(max_size=1, checkout_timeout_ms=500)
    holder = r.connect(autocommit=False)
    holder.execute("SELECT 1")
    try:
        conn = RawConn.tcp(r.port)
        msgs = conn.authenticate("demo", "demo", "demo")
        conn.wait_closed()
    finally:
        holder.commit()
        holder.close()
    [err] = errors(msgs)
    assert (err["V"], err["C"]) == ("FATAL", "53300")
