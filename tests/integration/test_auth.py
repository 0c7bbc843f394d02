"""Client authentication, TLS and the listeners: the router answers the
startup phase as Postgres does (SCRAM-SHA-256, md5, trust, SSLRequest,
GSSENCRequest) over TCP and its Unix socket."""
import os
import socket
import ssl
import subprocess

import psycopg
import pytest

from conftest import direct_dsn, direct_port
from pgraw import GSSENC_REQUEST, SSL_REQUEST, RawConn, errors, special_request, startup_packet

TRUST_DEMO = {"name": "demo", "password": "", "backend_password": "demo"}


def auth_failed(user):
    return f'password authentication failed for user "{user}"'


def connect_error(dsn):
    """The error text libpq reports for a connection that must fail."""
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(dsn, connect_timeout=10).close()
    return str(info.value)


def login_outcome(port, user, password, database="demo"):
    """Authentication requests seen and the messages that ended the attempt."""
    conn = RawConn.tcp(port)
    try:
        msgs = conn.authenticate(user, password, database)
        return conn.auth_codes, msgs
    finally:
        conn.close()


# SCRAM-SHA-256.

def test_scram_login_runs_the_postgres_exchange(router):
    conn = RawConn.tcp(router.port)
    msgs = conn.login("demo", "demo")
    assert conn.auth_codes == [10, 11, 12, 0]
    assert conn.sasl_mechanisms == ["SCRAM-SHA-256"]
    assert [t for t, _ in msgs][-2:] == [b"K", b"Z"]
    conn.close()
    with router.connect() as c:
        assert c.execute("SELECT current_user, session_user").fetchone() == ("demo", "demo")


def test_scram_wrong_password_is_28P01(router):
    codes, msgs = login_outcome(router.port, "demo", "not-demo")
    assert codes == [10, 11]
    [err] = errors(msgs)
    assert (err["S"], err["C"], err["M"]) == ("FATAL", "28P01", auth_failed("demo"))
    assert auth_failed("demo") in connect_error(router.dsn(password="not-demo"))


def test_scram_wrong_password_matches_postgres(router):
    _, direct_msgs = login_outcome(direct_port(), "demo", "not-demo")
    _, router_msgs = login_outcome(router.port, "demo", "not-demo")
    want = errors(direct_msgs)[0]
    got = errors(router_msgs)[0]
    assert (got["V"], got["C"], got["M"]) == (want["V"], want["C"], want["M"])


# md5.

def test_md5_login(router):
    conn = RawConn.tcp(router.port)
    conn.login("md5user", "md5pass")
    assert conn.auth_codes == [5, 0]
    conn.close()
    with router.connect(user="md5user", password="md5pass") as c:
        assert c.execute("SELECT current_user").fetchone() == ("md5user",)


def test_md5_wrong_password_is_28P01(router):
    codes, msgs = login_outcome(router.port, "md5user", "wrong")
    assert codes == [5]
    [err] = errors(msgs)
    assert (err["S"], err["C"], err["M"]) == ("FATAL", "28P01", auth_failed("md5user"))
    assert auth_failed("md5user") in connect_error(
        router.dsn(user="md5user", password="wrong"))


# trust.

def test_trust_user_needs_no_password(router_factory):
    r = router_factory(users=[TRUST_DEMO])
    conn = RawConn.tcp(r.port)
    conn.login("demo", "")
    assert conn.auth_codes == [0]
    conn.close()
    with r.connect(password=None) as c:
        assert c.execute("SELECT current_user").fetchone() == ("demo",)


# Who and where.

def test_unknown_user_is_28P01(router):
    _, msgs = login_outcome(router.port, "nobody", "whatever")
    [err] = errors(msgs)
    assert (err["S"], err["C"], err["M"]) == ("FATAL", "28P01", auth_failed("nobody"))
    assert auth_failed("nobody") in connect_error(router.dsn(user="nobody", password="x"))


def test_unknown_user_is_asked_for_a_password_like_postgres(router):
    """Postgres runs a mock SCRAM exchange for a role that does not exist, so
    a client cannot tell unknown users from wrong passwords; the router must
    not reveal which user names exist either."""
    direct_codes, _ = login_outcome(direct_port(), "nobody", "whatever")
    router_codes, _ = login_outcome(router.port, "nobody", "whatever")
    assert direct_codes == [10, 11]
    assert router_codes == direct_codes


def test_missing_database_is_3D000_fatal(router):
    _, direct_msgs = login_outcome(direct_port(), "demo", "demo", database="nosuchdb")
    codes, msgs = login_outcome(router.port, "demo", "demo", database="nosuchdb")
    [err] = errors(msgs)
    assert (err["S"], err["C"]) == ("FATAL", "3D000")
    assert err["M"] == 'database "nosuchdb" does not exist'
    assert err["M"] == errors(direct_msgs)[0]["M"]
    assert 'database "nosuchdb" does not exist' in connect_error(router.dsn(dbname="nosuchdb"))
    with router.connect() as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_second_database(router):
    with router.connect(dbname="other") as c:
        assert c.execute("SELECT current_database()").fetchone() == ("other",)
    with router.connect() as c:
        assert c.execute("SELECT current_database()").fetchone() == ("demo",)


def test_startup_without_user_is_28000(router):
    conn = RawConn.tcp(router.port)
    conn.send(startup_packet({"database": "demo"}))
    [err] = errors(conn.read_to_close())
    assert (err["S"], err["C"]) == ("FATAL", "28000")
    assert err["M"] == "no PostgreSQL user name specified in startup packet"


# The Unix socket.

def test_psql_over_unix_socket(router):
    env = dict(os.environ, PGPASSWORD="demo", PGCONNECT_TIMEOUT="10")
    out = subprocess.run(
        ["psql", "-h", router.socket_dir, "-p", str(router.port), "-U", "demo", "-d", "demo",
         "-X", "-At", "-c", r"\conninfo", "-c", "SELECT current_user, 6 * 7"],
        env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f'via socket in "{router.socket_dir}" at port "{router.port}"' in lines[0]
    assert lines[1] == "demo|42"


def test_psycopg_over_unix_socket_md5(router):
    dsn = f"host={router.socket_dir} port={router.port} user=md5user password=md5pass dbname=demo"
    with psycopg.connect(dsn, connect_timeout=10) as c:
        assert c.execute("SELECT current_user").fetchone() == ("md5user",)


def test_unix_socket_wrong_password(router):
    dsn = f"host={router.socket_dir} port={router.port} user=demo password=nope dbname=demo"
    assert auth_failed("demo") in connect_error(dsn)


# TLS.

@pytest.fixture(scope="module")
def tls_router(workdir, cert):
    from conftest import Router
    r = Router(workdir, tls=cert).start()
    yield r
    r.stop()


def test_tls_require(tls_router):
    with tls_router.connect(sslmode="require") as c:
        assert c.pgconn.ssl_in_use
        assert c.execute("SELECT current_user").fetchone() == ("demo",)


def test_tls_verify_full(tls_router, cert):
    with tls_router.connect(sslmode="verify-full", sslrootcert=cert[0], host="localhost",
                            hostaddr="127.0.0.1") as c:
        assert c.pgconn.ssl_in_use
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_tls_md5(tls_router):
    with tls_router.connect(user="md5user", password="md5pass", sslmode="require") as c:
        assert c.pgconn.ssl_in_use
        assert c.execute("SELECT current_user").fetchone() == ("md5user",)


def test_tls_wrong_password(tls_router):
    assert auth_failed("demo") in connect_error(tls_router.dsn(password="x", sslmode="require"))


def test_tls_disable_still_works(tls_router):
    with tls_router.connect(sslmode="disable") as c:
        assert not c.pgconn.ssl_in_use
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_tls_prefer_uses_tls(tls_router):
    with tls_router.connect(sslmode="prefer") as c:
        assert c.pgconn.ssl_in_use


def test_tls_channel_binding_required(tls_router):
    """Postgres offers SCRAM-SHA-256-PLUS over TLS; a client that requires
    channel binding connects to Postgres, so it must connect here too."""
    with tls_router.connect(sslmode="require", channel_binding="require") as c:
        assert c.pgconn.ssl_in_use
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_no_tls_configured_require_fails(router):
    assert "server does not support SSL, but SSL was required" in connect_error(
        router.dsn(sslmode="require"))


def test_no_tls_configured_prefer_works(router):
    with router.connect(sslmode="prefer") as c:
        assert not c.pgconn.ssl_in_use
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_ssl_request_on_unix_socket_is_refused(tls_router):
    conn = RawConn.unix(os.path.join(tls_router.socket_dir, f".s.PGSQL.{tls_router.port}"))
    conn.send(special_request(SSL_REQUEST))
    assert conn.read_bytes(1) == b"N"
    conn.login()
    conn.close()


def test_ssl_request_with_data_behind_it_is_refused_like_postgres(router):
    """Bytes sent after an SSLRequest before its answer could be injected;
    Postgres answers the request, then refuses with 08P01."""
    payload = special_request(SSL_REQUEST) + startup_packet({"user": "demo", "database": "demo"})
    replies = []
    for port in (direct_port(), router.port):
        conn = RawConn.tcp(port)
        conn.send(payload)
        first = conn.read_bytes(1)
        replies.append((first, [(e["V"], e["C"], e["M"]) for e in errors(conn.read_to_close())]))
        conn.close()
    assert replies[0] == (b"N", [("FATAL", "08P01", "received unencrypted data after SSL request")])
    assert replies[1] == replies[0]


def test_tls_garbage_handshake_leaves_router_serving(router_factory, cert):
    """Regression: a client that answers 'S' with bytes that are not TLS."""
    r = router_factory(tls=cert)
    conn = RawConn.tcp(r.port)
    conn.send(special_request(SSL_REQUEST))
    assert conn.read_bytes(1) == b"S"
    conn.send(b"\x16\x03\x01\x00\x05hello-this-is-not-tls" * 4)
    conn.wait_closed()
    conn.close()
    assert r.proc.poll() is None, "router died after a failed TLS handshake"
    with r.connect(sslmode="require") as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_tls_client_rejecting_the_certificate_leaves_router_serving(router_factory, cert,
                                                                    tmp_path):
    """Regression: libpq with sslmode=verify-ca and another CA aborts the
    handshake; the router must stay up."""
    other = tmp_path / "other.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=other", "-days", "1", "-keyout", str(tmp_path / "other.key"), "-out",
                    str(other)], check=True, capture_output=True, timeout=60)
    r = router_factory(tls=cert)
    assert "certificate verify failed" in connect_error(
        r.dsn(sslmode="verify-ca", sslrootcert=str(other)))
    assert r.proc.poll() is None, "router died after a client refused its certificate"
    with r.connect(sslmode="require") as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_client_gone_after_ssl_request_leaves_router_serving(router_factory, cert):
    r = router_factory(tls=cert)
    conn = RawConn.tcp(r.port)
    conn.send(special_request(SSL_REQUEST))
    assert conn.read_bytes(1) == b"S"
    conn.close()
    with r.connect(sslmode="require") as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
    assert r.proc.poll() is None


# GSSENCRequest.

def test_gssenc_request_is_declined_then_startup_continues(router):
    conn = RawConn.tcp(router.port)
    conn.send(special_request(GSSENC_REQUEST))
    assert conn.read_bytes(1) == b"N"
    conn.login()
    assert conn.simple_query("SELECT 1")[-1] == (b"Z", b"I")
    conn.close()


def test_libpq_gssencmode_prefer(router):
    with router.connect(gssencmode="prefer") as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_gssenc_then_ssl_request_then_tls_login(tls_router):
    """libpq's order when GSS encryption is declined: GSSENCRequest, then
    SSLRequest on the same connection."""
    conn = RawConn.tcp(tls_router.port)
    conn.send(special_request(GSSENC_REQUEST))
    assert conn.read_bytes(1) == b"N"
    conn.send(special_request(SSL_REQUEST))
    assert conn.read_bytes(1) == b"S"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn.sock = context.wrap_socket(conn.sock)
    conn.login()
    assert conn.simple_query("SELECT 1")[-1] == (b"Z", b"I")
    conn.close()


def test_direct_comparison_dsn_is_reachable():
    """Guards the differential tests above: they compare with s0-primary."""
    with psycopg.connect(direct_dsn(), connect_timeout=10) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


# Listeners.

def unix_socket_path(r):
    return os.path.join(r.socket_dir, f".s.PGSQL.{r.port}")


def wait_for_path(path, proc, seconds=10):
    import time
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert proc.poll() is None, "router exited"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_unix_socket_only(edited_router_factory):
    r = edited_router_factory(lambda text: text.replace('host = "127.0.0.1"\nport',
                                                        'host = ""\nport', 1), wait=False)
    wait_for_path(unix_socket_path(r), r.proc)
    dsn = f"host={r.socket_dir} port={r.port} user=demo password=demo dbname=demo"
    with psycopg.connect(dsn, connect_timeout=10) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", r.port), timeout=2).close()


def test_tcp_only(edited_router_factory):
    r = edited_router_factory(lambda text: text.replace("unix_socket_dir = ", "# ", 1))
    with r.connect() as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
    assert not os.path.exists(unix_socket_path(r))


def test_stale_unix_socket_file_is_replaced_and_removed_at_exit(workdir):
    from conftest import Router
    r = Router(workdir)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(unix_socket_path(r))  # a socket file nobody listens on, as after a crash
    stale.close()
    r.start()
    try:
        dsn = f"host={r.socket_dir} port={r.port} user=demo password=demo dbname=demo"
        with psycopg.connect(dsn, connect_timeout=10) as c:
            assert c.execute("SELECT 1").fetchone() == (1,)
    finally:
        assert r.stop() == 0
    assert not os.path.exists(unix_socket_path(r))


def test_unix_socket_accepts_anyone(router):
    mode = os.stat(unix_socket_path(router)).st_mode & 0o777
    assert mode == 0o777, oct(mode)


def test_many_workers_serve_many_clients(edited_router_factory):
    r = edited_router_factory(lambda text: text.replace("workers = 1\n", "workers = 4\n"))
    conns = [r.connect() for _ in range(12)]
    try:
        for i, c in enumerate(conns):
            assert c.execute("SELECT %s::int * 2", (i,)).fetchone() == (i * 2,)
    finally:
        for c in conns:
            c.close()
