# python -m tools.proxy validates its arguments at start-up: one clear line naming the option, a
# non-zero exit, no traceback; and it runs with every draft option number given.
import socket
import subprocess
import sys

import pytest

from helpers import ROOT, free_port, one_line_error


def run(*args, timeout=20):
    return subprocess.run([sys.executable, "-m", "tools.proxy"] + list(args), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("args,needle", [
    (["--port", "70000"], "--port"),
    (["--bind", "localhost"], "--bind"),
    (["--host", "sensor.example=somewhere"], "--host"),
    (["--host", "=127.0.0.1"], "--host"),
    (["--host", "10.0.0.1=127.0.0.1"], "--host"),
    (["--next-hop", "127.0.0.1"], "--next-hop"),
    (["--next-hop", "127.0.0.1:5683"], "--next-hop"),          # this proxy itself (default bind/port)
    (["--bind", "127.0.0.1", "--next-hop", "127.0.0.1:5683"], "--next-hop"),
    (["--mrfd", "65003"], "--mrfd"),                            # clashes with LTMR's default
    (["--ltmr", "11"], "--ltmr"),                               # Uri-Path's number
    (["--pm-option", "0"], "--pm-option"),
    (["--cf-informative", "-1"], "--cf-informative"),
    (["--pm", "2"], "--pm"),
    (["--pm", "0", "--pm-strip"], "--pm"),
    (["--ack-timeout", "0"], "--ack-timeout"),
    (["--con-every", "0"], "--con-every"),
    (["--hop-limit", "300"], "--hop-limit"),
    (["--token-len", "9"], "--token-len"),
    (["--stats-json", "/nonexistent/dir/x.json"], "--stats-json"),
    (["--trace", "/nonexistent/dir/t.jsonl"], "--trace"),
    (["--bogus"], "--bogus"),
])
def test_bad_arguments_one_line_nonzero_no_traceback(args, needle):
    one_line_error([sys.executable, "-m", "tools.proxy"] + args, needle, rc=2)


def test_port_in_use_is_one_line_exit_1():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        p = run("--bind", "127.0.0.1", "--port", str(s.getsockname()[1]), "--duration", "1")
    finally:
        s.close()
    out = p.stdout + p.stderr
    assert p.returncode == 1 and "Traceback" not in out and "cannot listen" in out, out


def test_runs_with_every_draft_number_and_writes_its_report(tmp_path):
    st = tmp_path / "p.json"
    p = run("--bind", "127.0.0.1", "--port", str(free_port()), "--mrfd", "65010", "--ltmr", "65011",
            "--pm-option", "65014", "--cf-informative", "65001", "--pm", "1", "--duration", "0.5",
            "--status-every", "0", "--stats-json", str(st))
    assert p.returncode == 0 and "proxy listening on" in p.stdout, p.stdout + p.stderr
    assert '"mode": "collaborating"' in st.read_text()
