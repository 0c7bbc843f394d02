"""Configuration files and start-up failures: a bad file is refused with
its file, line and key; --check validates without listening; a router that
cannot listen or load its certificate exits non-zero."""
import socket
import subprocess

import pytest

from conftest import BIN, DEMO_VERIFIER, Router, assert_serving, connection_refused, render_config


def shardline(*args, timeout=10):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


NODE = '[[nodes]]\nname = "s0-primary"\nshard = "s0"\nrole = "primary"\nhost = "127.0.0.1"\n'

BAD_CONFIGS = [
    # (file text, expected message after "shardline: <path>:")
    ("wrkers = 2\n" + NODE, "1: wrkers: unknown key"),
    ("[pool]\nmode = \"session\"\nmax_sise = 3\n" + NODE, "3: pool.max_sise: unknown key"),
    (NODE + "colour = \"blue\"\n", "6: nodes[0].colour: unknown key"),
    ("[listen]\nport = 70000\n" + NODE, "2: listen.port: must be between 1 and 65535 (got 70000)"),
    ("[listen]\nport = \"6432\"\n" + NODE, "2: listen.port: "),
    ("[listen]\nport = 6432.0\n" + NODE, "2: listen.port: "),
    ("workers = 0\n" + NODE, "1: workers: "),
    ("[pool]\nmode = \"statement\"\n" + NODE, "2: pool.mode: "),
    ("[pool]\nmin_size = 20\nmax_size = 10\n" + NODE, "2: pool.min_size: "),
    ("[log]\nlevel = \"loud\"\n" + NODE, "2: log.level: "),
    (NODE.replace('"primary"', '"master"'),
     '4: nodes[0].role: must be one of "primary", "replica" (got "master")'),
    ("[[users]]\nname = \"a\"\npassword = \"hunter2\"\n" + NODE, "3: users[0].password: "),
    (f"[[users]]\nname = \"a\"\npassword = \"{DEMO_VERIFIER}\"\nauth = \"md5\"\n" + NODE,
     "4: users[0].auth: "),
    ("[tls]\ncert_file = \"/x.crt\"\n" + NODE, "1: tls.key_file: "),
    ("[listen]\nunix_socket_dir = \"relative/dir\"\n" + NODE, "2: listen.unix_socket_dir: "),
    ("[[nodes]]\nname = \"a\"\nrole = \"primary\"\nhost = \"h\"\n",
     "1: nodes[0].shard: is required"),
    ("[log]\nlevel = \"info\"\n", "1: nodes: "),
    (NODE + NODE, '7: nodes[1].name: duplicate node "s0-primary" (first defined on line 2)'),
    ("workers = \n" + NODE, "1:11: "),
]


@pytest.mark.parametrize("text,expected", BAD_CONFIGS, ids=[c[1] for c in BAD_CONFIGS])
def test_bad_config_is_refused_with_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "shardline.toml"
    path.write_text(text)
    for args in (["-c", str(path)], ["--check", "-c", str(path)]):
        out = shardline(*args)
        assert out.returncode != 0
        lines = out.stderr.splitlines()
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith(f"shardline: {path}:{expected}"), out.stderr
        assert out.stdout == ""


def test_unreadable_config(tmp_path):
    out = shardline("-c", str(tmp_path / "missing.toml"))
    assert out.returncode != 0
    assert out.stderr.strip() == f"shardline: {tmp_path / 'missing.toml'}: cannot read: " \
                                 "No such file or directory"


def test_check_accepts_a_good_config_without_listening(tmp_path):
    port = 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "shardline.toml"
    path.write_text(render_config(port, str(tmp_path)))
    out = shardline("--check", "-c", str(path))
    assert (out.returncode, out.stdout, out.stderr) == (0, "configuration ok\n", "")
    assert connection_refused(port)
    assert not (tmp_path / f".s.PGSQL.{port}").exists()


def test_unknown_command_line_option(tmp_path):
    out = shardline("--no-such-option")
    assert out.returncode != 0
    assert "no-such-option" in out.stderr


def test_missing_certificate_file_stops_the_start(workdir, tmp_path):
    r = Router(workdir, tls=(str(tmp_path / "none.crt"), str(tmp_path / "none.key")))
    r.start(wait=False)
    assert r.proc.wait(10) != 0
    assert "none.crt" in r.log_text()


def test_port_in_use_stops_the_start(router, tmp_path):
    assert router.proc.poll() is None, f"the module's router exited with {router.proc.returncode}"
    other = Router(tmp_path, port=router.port)
    other.start(wait=False)
    assert other.proc.wait(10) != 0
    assert "cannot listen" in other.log_text()
    assert_serving(router)
