# python -m tools.client against the server over real UDP on loopback (group and traditional
# observation, requests, PM), and its one-line errors: bad URI, unknown host, no answer, a 5.03
# that is not an informative response.
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from coap import msg
from coap import options as o
from tools.util import free_port, ROOT


def client(*args, timeout=40):
    p = subprocess.run([sys.executable, "-m", "tools.client"] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT)
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    return p


def events(p):
    return [json.loads(line) for line in p.stdout.splitlines()]


@pytest.fixture(scope="module")
def server():
    port, gport = free_port(), free_port()
    srv = subprocess.Popen([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                            "--group-port", str(gport), "--mc-if", "127.0.0.1", "--update", "/r=0.2",
                            "--interval", "0.2", "--pm", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    time.sleep(1.0)
    yield "coap://127.0.0.1:%d" % port, gport
    srv.terminate()
    srv.wait(timeout=10)


def test_observe_group_observation_json(server):
    base, gport = server
    p = client("observe", base + "/r", "--iface", "127.0.0.1", "--count", "3", "--json", "--pm", "0")
    assert p.returncode == 0, p.stderr
    ev = events(p)
    reg = [e for e in ev if e["event"] == "registered"]
    assert reg and reg[0]["kind"] == "group" and reg[0]["group"] == "224.0.1.187:%d" % gport
    notes = [e for e in ev if e["event"] == "notification"]
    assert len(notes) == 3 and all(n["via"] == "group" for n in notes)
    obs = [n["observe"] for n in notes]
    assert obs == sorted(obs) and len(set(obs)) == 3
    pm = [e for e in ev if e["event"] == "pm"]
    assert {e["flow"] for e in pm} >= {"224.0.1.187:%d" % gport}   # the group flow is measured
    assert ev[-1]["event"] == "stats" and ev[-1]["delivered"] == 3


def test_observe_traditional_and_human_output(server):
    base, _ = server
    p = client("observe", base + "/time", "--count", "2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "registered kind=traditional"
    assert sum(1 for line in lines if line.startswith("notification ") and "via=unicast" in line) == 2


def test_get_put_and_error_code(server):
    base, _ = server
    p = client("put", base + "/r", "--payload", "42", "--json")
    assert p.returncode == 0 and events(p)[0] == {"event": "response", "code": "2.04", "cf": None, "payload": ""}
    p = client("get", base + "/time")
    assert p.returncode == 0 and p.stdout.startswith("response code=2.05")
    p = client("get", base + "/nope")
    assert p.returncode == 1 and p.stdout.startswith("response code=4.04")


@pytest.mark.parametrize("args,expect", [
    (["get", "http://127.0.0.1/x"], "only coap:// URIs"),
    (["get", "coap://127.0.0.1:99999/x"], "bad URI"),
    (["get", "coap://host.invalid/x"], "cannot resolve host"),
    (["get", "coap://127.0.0.1/x", "--payload", "1"], "get takes no payload"),
    (["observe", "coap://127.0.0.1/x", "--count", "0"], "--count"),
    (["observe", "coap://127.0.0.1/x", "--iface", "eth0"], "--iface"),
    (["get", "coap://127.0.0.1/x", "--proxy", "nowhere"], "--proxy"),
    (["get", "coap://127.0.0.1/x", "--pm-option", "70000"], "--pm-option"),
])
def test_bad_arguments_one_line(args, expect):
    p = client(*args)
    assert p.returncode == 2 and p.stdout == "", (p.stdout, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and expect in p.stderr, p.stderr


def test_no_answer_one_line():
    port = free_port()
    p = client("get", "coap://127.0.0.1:%d/x" % port, "--timeout", "1")
    assert p.returncode == 1 and p.stderr.strip() == "python -m tools.client: no answer from 127.0.0.1:%d after 1 s" % port
    p = client("observe", "coap://127.0.0.1:%d/x" % port, "--timeout", "1", "--json")
    assert p.returncode == 1 and [e["event"] for e in events(p)] == ["error", "stats"]


def _answer_503(sock, stop):
    while not stop.is_set():
        try:
            data, src = sock.recvfrom(2048)
        except socket.timeout:
            continue
        m = msg.decode(data)
        if m.type == msg.CON:  # piggybacked 5.03 without the informative Content-Format / payload
            sock.sendto(msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, m.mid, bytes(m.token()), []), src)
        elif m.type == msg.NON:  # a 5.03 claiming to be informative, with a payload that is not
            sock.sendto(msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, 7, bytes(m.token()),
                                   [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], b"\xa1\x01\x00"), src)


def test_503_that_is_not_an_informative_response():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    stop = threading.Event()
    t = threading.Thread(target=_answer_503, args=(s, stop), daemon=True)
    t.start()
    try:
        p = client("observe", "coap://127.0.0.1:%d/r" % s.getsockname()[1], "--timeout", "5")
    finally:
        stop.set()
        t.join()
        s.close()
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and "5.03" in p.stderr, p.stderr
