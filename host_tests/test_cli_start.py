# Start-up validation of the command-line tools (server, relay, demo): every bad value gives ONE
# line naming the value and what is expected, a non-zero exit and no traceback, before anything
# starts; the server never shares its unicast port. Each CLI runs as a subprocess.
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from helpers import ROOT, one_line_error, run_cli as run, run_make


def tool(module, *quick):
    """The command line of `python -m module`: the arguments of a short, quiet run, then the test's."""
    return lambda *args: [sys.executable, "-m", module] + list(quick) + list(args)


server = tool("tools.server", "--port", "0", "--duration", "0.2", "--status-every", "0")
relay = tool("tools.relay", "--duration", "0.2", "--report", "0", "--listen", "127.0.0.1:0")


# (the tool, a bad value, the words of its one line): exit status 2, before anything starts
@pytest.mark.parametrize("cli, args, words", [(server, a, w) for a, w in [
    (["--group-port", "70000"], ["--group-port", "70000", "1..65535"]),
    (["--port", "70000"], ["--port", "70000", "1..65535"]),
    (["--group-port", "0"], ["--group-port", "'0'"]),
    (["--group", "notanip"], ["--group", "notanip", "IPv4 or IPv6 address"]),
    (["--group", "300.1.1.1"], ["--group", "300.1.1.1"]),
    (["--group", "10.1.2.3"], ["--group 10.1.2.3", "not a multicast address"]),
    (["--group", "ff05::fd"], ["--group ff05::fd", "IPv6", "-6"]),
    (["-6", "--group", "224.0.1.187"], ["--group 224.0.1.187", "IPv4", "-6"]),
    (["-6", "--group", "ff02::fd"], ["ff02::fd", "link-local"]),
    (["--bind", "224.0.1.187"], ["--bind 224.0.1.187", "multicast"]),
    (["--srv-addr", "0.0.0.0"], ["--srv-addr 0.0.0.0", "unicast"]),
    (["--mc-if", "lo"], ["--mc-if lo", "IPv4 address", "not its name"]),
    (["--mc-if", "1.2.3"], ["--mc-if 1.2.3", "IPv4 address"]),
    (["-6", "--mc-if", "nosuchif0"], ["--mc-if nosuchif0", "interface"]),
    (["--log-level", "LOUD"], ["--log-level", "LOUD", "INFO"]),
    (["--ttl", "300"], ["--ttl", "300", "0..255"]),
    (["--token-len", "9"], ["--token-len", "9", "1..8"]),
    (["--d", "0"], ["--d", "'0'", "> 0"]),
    (["--update", "/nope=1"], ["--update /nope=1", "no resource /nope", "/r"]),
    (["--update", "/r=abc"], ["--update /r=abc", "SECONDS"]),
    (["--policy", "sometimes"], ["--policy", "sometimes", "first"]),
    (["--mrfd", "11"], ["--mrfd 11", "taken"]),
]] + [(relay, a, w) for a, w in [
    (["--loss", "150"], ["--loss", "150", "0..100"]),
    (["--server", "localhost:5683"], ["--server", "localhost:5683", "HOST:PORT"]),
    (["--server", "127.0.0.1:0"], ["--server", "127.0.0.1:0"]),
    (["--listen", "10.0.0.1:5000"], ["--listen", "10.0.0.1", "127.0.0.1"]),
    (["--x", "40"], ["--x 40", "--n"]),
    (["--delay=-3"], ["--delay", "-3", ">= 0"]),
    (["--json", "/nonexistent-dir/x.json"], ["--json", "no such directory"]),
    (["--pm-option", "11"], ["--pm-option 11", "taken"]),
    (["--mrfd", "65003"], ["--mrfd 65003", "must differ"]),
]])
def test_bad_values_one_line(cli, args, words):
    one_line_error(cli(*args), *words, rc=2)


def test_server_mc_if_not_of_this_host_one_line():
    one_line_error(server("--mc-if", "192.0.2.77"), "192.0.2.77", "not an address of this host", rc=1)


@pytest.mark.parametrize("content, words", [
    (None, ["cannot read it", "No such file"]),
    ("{not json", ["not valid JSON"]),
    ('[{"path": "/a"}]', ["expected a JSON object", "list"]),
    ('{"resurces": []}', ["unknown key 'resurces'", "known: resources"]),
    ('{"resources": {"path": "/a"}}', ['"resources" must be a list']),
    ('{"resources": [{"value": "1"}]}', ["resources[0]", 'no "path"']),
    ('{"resources": [{"path": "/a", "valu": "1"}]}', ["resources[0]", "unknown key 'valu'", "value", "writable"]),
    ('{"resources": [{"path": "/a", "group": "10.0.0.1:5683"}]}', ["resources[0]", "group", "10.0.0.1:5683", "multicast"]),
    ('{"resources": [{"path": "/a", "group": "224.0.1.190:99999"}]}', ["resources[0]", "group"]),
    ('{"resources": [{"path": "/a", "cf": "text"}]}', ["resources[0]", "cf", "Content-Format"]),
    ('{"resources": [{"path": "a"}]}', ["resources[0]", "path", "'/'"]),
    ('{"resources": [{"path": "/a"}, {"path": "/a"}]}', ["resources[1]", "/a", "twice"]),
    ('{"resources": ["/a"]}', ["resources[0]", "expected an object"]),
    ('{"resources": [{"path": "/a", "group": "[ff05::fd]:6000"}]}', ["/a group", "ff05::fd", "-6"]),
])
def test_server_config_errors_one_line(tmp_path, content, words):
    path = str(tmp_path / "res.json")
    if content is not None:
        with open(path, "w") as f:
            f.write(content)
    line = one_line_error(server("--config", path), "--config " + path, *words, rc=2)
    assert "listening" not in line


def test_server_config_valid_still_runs(tmp_path):
    path = str(tmp_path / "res.json")
    with open(path, "w") as f:
        json.dump({"resources": [{"path": "/lamp", "value": "off", "writable": True, "group_after": 1,
                                  "group": "224.0.1.190:6000", "cf": 0, "period_ms": 0, "rt": "x", "title": "t",
                                  "observable": True}]}, f)
    code, lines = run(server("--bind", "127.0.0.1", "--config", path, "--update", "/lamp=1", "--log-level", "warning"))
    assert code == 0 and any("listening on 127.0.0.1:" in ln for ln in lines), lines


def test_help_documents_config_format():
    code, lines = run([sys.executable, "-m", "tools.server", "--help"])
    text = "\n".join(lines)
    assert code == 0 and '"resources"' in text and '"group_after"' in text and "resources.from_config" not in text


@pytest.mark.parametrize("cli", [["-m", "tools.server"], ["-m", "tools.relay"], ["tools/demo.py"], ["tools/deploy.py"],
                                 ["-m", "tools.vboard"], ["tools/mpy.py"], ["tools/sim_counting.py"]])
def test_help_has_no_issue_numbers(cli):
    code, lines = run([sys.executable] + cli + ["--help"])
    text = "\n".join(lines)
    assert code == 0 and "Traceback" not in text, text
    assert not re.search(r"\bissue \d", text, re.I), text    # issue numbers mean nothing to a user


def _held(reuse):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if reuse:   # as libcoap and many servers do: with SO_REUSEADDR on both sides Linux would share it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


@pytest.mark.parametrize("reuse", [False, True])
def test_server_never_shares_its_port(reuse):
    s = _held(reuse)
    try:
        port = s.getsockname()[1]
        one_line_error([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                        "--duration", "0.2"], "UDP port %d" % port, "in use", rc=1)
    finally:
        s.close()


@pytest.mark.skipif(shutil.which("coap-server-notls") is None, reason="coap-server-notls missing (tools/ensure_peers.sh)")
def test_server_refuses_the_port_of_a_running_libcoap_server():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as t:
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
    lib = subprocess.Popen(["coap-server-notls", "-A", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        assert lib.poll() is None
        one_line_error([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                        "--duration", "0.2"], "UDP port %d" % port, "in use", rc=1)
    finally:
        lib.terminate()
        lib.wait(5)


def test_relay_port_in_use_one_line():
    s = _held(False)
    try:
        port = s.getsockname()[1]
        one_line_error(relay("--listen", "127.0.0.1:%d" % port), "127.0.0.1:%d" % port, "in use", rc=1)
    finally:
        s.close()


@pytest.mark.parametrize("env, words", [
    ({"PM": "2"}, ["--pm", "'2'", "PM=0|1|off"]),
    ({"BOARDS": "x"}, ["--boards", "'x'", "BOARDS="]),
    ({"DURATION": "-1"}, ["--duration", "'-1'", "DURATION="]),
])
def test_demo_bad_make_variables_one_line_before_boards_start(tmp_path, env, words):
    work = str(tmp_path / "demo")
    one_line_error([sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--workdir", work], *words, env=env)
    assert not os.path.exists(work)   # nothing started, nothing written


@pytest.mark.skipif(shutil.which("make") is None, reason="make missing")
def test_make_demo_pm_2_one_line():
    code, lines = run_make("demo", "PM=2")
    assert code != 0 and len(lines) == 1 and "PM=0|1|off" in lines[0] and "Traceback" not in lines[0], lines


def test_server_shutdown_prints_pm_figures_one_line_per_flow():
    code, lines = run([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", "0", "--pm", "0",
                       "--policy", "start", "--interval", "0.05", "--update", "/r=0.1", "--duration", "1",
                       "--status-every", "0"])
    assert code == 0, lines
    i = [k for k, ln in enumerate(lines) if "INFO PM (pattern 0" in ln]
    assert len(i) == 1 and "1 flow(s)" in lines[i[0]], lines[-5:]
    flow = lines[i[0] + 1]
    assert re.search(r"INFO PM   224\.0\.1\.187:5683 tx=[1-9]\d*$", flow), flow
    assert not any("{" in ln for ln in lines[i[0]:]) and all(len(ln) < 160 for ln in lines), lines[i[0]:]
