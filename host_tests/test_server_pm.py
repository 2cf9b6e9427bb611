# The server's product use of PM (issue 5 items 8, 9) and its run report (--stats-json):
# fake-clock core tests with the real coap.pm endpoint, then real UDP through tools/relay.py.
import json
import os
import random
import subprocess
import sys

from coap import msg, pm as pmod
from coap import options as o
from coap.pm import PMEndpoint
from tools.server.core import ServerCore, Config
from tools.server.resources import builtins

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRV = "127.0.0.1"
GRP = ("224.0.1.187", 5683)
C1 = ("127.0.0.1", 40001)
C2 = ("127.0.0.1", 40002)


def core(pm=None, **cfg):
    cfg.setdefault("srv_addr", SRV)
    cfg.setdefault("grp", GRP)
    cfg.setdefault("notify_interval_ms", 0)
    return ServerCore(builtins(time_period_ms=0, sensor_period_ms=0), Config(**cfg), pm=pm, rng=random.Random(3))


def reg(mid=1, tok=b"\x4a", path="r", mtype=msg.CON, extra=()):
    return msg.encode(mtype, msg.GET, mid, tok, [(o.OBSERVE, 0), (o.URI_PATH, path)] + list(extra))


def confirmation(mid, path="r"):
    return reg(mid, b"\x01", path, msg.NON, [(o.MRFD, None), (o.NO_RESPONSE, o.NO_RESPONSE_ALL)])


# ---------------------------------------------------------------- the run report
def test_report_lists_wire_notifications_not_init_notif_and_survives_cancellation():
    s = core(m=1, wait_ms=100, every=1)
    s.receive(reg(), C1, 0)
    for k in range(1, 4):
        s.update("/r", str(10 + k), k * 10)
    s.receive(confirmation(50), C2, 35)
    s.receive(confirmation(51), C1, 36)
    s.tick(200)                       # round closes
    s.shutdown(300)
    rep = json.loads(json.dumps(s.report()))   # JSON-able
    assert not s.groups and len(rep["groups"]) == 1
    g = [x for x in rep["groups"] if x["path"] == "/r"][0]
    assert g["notifications"] == [[1, b"11".hex()], [2, b"12".hex()], [3, b"13".hex()]]
    assert len(bytes.fromhex(g["token"])) == 4 and g["grp"] == "224.0.1.187:5683"
    assert g["rounds"] >= 1 and g["confirmations"] == 2 and g["confirmations_rx"] == 2
    assert isinstance(g["count"], int)
    assert rep["pm"] is None
    c = rep["counters"]
    assert c["rx"] == 3 and c["tx"] >= 6 and c["bad"] == 0 and c["mc_tx"] == 4   # 3 + the cancellation


def test_report_counts_bad_input():
    s = core()
    s.receive(b"\x40", C1, 0)
    s.receive(msg.encode(msg.CON, msg.GET, 9, b"", [(o.URI_PATH, "nope")]), C1, 1)
    c = s.report()["counters"]
    assert c["bad"] == 2 and c["malformed"] == 1 and c["not_found"] == 1


def run_cli(args, timeout=30):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tools.server"] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_stats_json_and_notify_lines(tmp_path):
    path = str(tmp_path / "st.json")
    r = run_cli(["--bind", "127.0.0.1", "--port", "0", "--policy", "start", "--interval", "0.05",
                 "--update", "/r=0.1", "--duration", "1.2", "--status-every", "0", "--pm", "0",
                 "--stats-json", path])
    assert r.returncode == 0, r.stderr
    rep = json.load(open(path))
    g = [x for x in rep["groups"] if x["path"] == "/r"][0]
    lines = [ln for ln in r.stdout.splitlines() if " INFO notify /r T=%s obs=" % g["token"] in ln]
    assert len(lines) == len(g["notifications"]) >= 5
    assert [n[0] for n in g["notifications"]] == list(range(1, len(lines) + 1))
    assert lines[0].endswith(" B") and " obs=1 " in lines[0]
    assert rep["pm"]["role"] == "server" and "224.0.1.187:5683" in rep["pm"]["peers"]
    assert rep["pm"]["peers"]["224.0.1.187:5683"]["tx"] == rep["counters"]["mc_tx"]
