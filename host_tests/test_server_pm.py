# The server's product use of PM (issue 5 items 8, 9) and its run report (--stats-json):
# fake-clock core tests with the real coap.pm endpoint, then real UDP through tools/relay.py.
import json
import os
import random
import subprocess
import sys

from coap import msg, feedback, pm as pmod
from coap import options as o
from coap.pm import PMEndpoint
from tools.server.core import ServerCore, Config
from tools.server.resources import builtins
from helpers import ROOT, free_port

SRV = "127.0.0.1"
GRP = ("224.0.1.187", 5683)
C1 = ("127.0.0.1", 40001)
C2 = ("127.0.0.1", 40002)


class Stepped:
    """The core driven one input at a time: each input followed by take() (CONTRACT.md), so the call
    returns what that input made the server send. Everything else is the core's own."""

    def __init__(self, core):
        self.core = core

    def __getattr__(self, name):
        return getattr(self.core, name)

    def _then_take(name):
        def step(self, *args):
            getattr(self.core, name)(*args)
            return self.core.take()
        return step

    receive = _then_take("receive")
    tick = _then_take("tick")
    update = _then_take("update")
    shutdown = _then_take("shutdown")

    def start_group(self, path, now):
        self.core.start_group(path, now)
        self.core.take()
        return self.core.group_for(path)


def core(pm=None, **cfg):
    cfg.setdefault("srv_addr", SRV)
    cfg.setdefault("grp", GRP)
    cfg.setdefault("notify_interval_ms", 0)
    return Stepped(ServerCore(builtins(time_period_ms=0, sensor_period_ms=0), Config(**cfg), pm=pm,
                              rng=random.Random(3)))


def reg(mid=1, tok=b"\x4a", path="r", mtype=msg.CON, extra=()):
    return msg.encode(mtype, msg.GET, mid, tok, [(o.OBSERVE, 0), (o.URI_PATH, path)] + list(extra))


def confirmation(mid, path="r"):
    return feedback.request(mid, b"\x01", [(o.URI_PATH, path)])   # §5.1, as the board sends it


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


# ---------------------------------------------------------------- PM in the product (fake clock)
def pmval(buf):
    m = msg.decode(buf)
    return pmod.value_of(m)


def get(mid, pmv, path="time", mtype=msg.NON, tok=b"\x07"):
    opts = [(o.URI_PATH, path)]
    if pmv is not None:
        opts.append((o.PM, pmv))
    return msg.encode(mtype, msg.GET, mid, tok, opts)


def test_every_response_marked_and_s_echoed():
    spm = PMEndpoint("server", pattern=0)
    s = core(spm)
    cpm = PMEndpoint("client", pattern=0)
    for k in range(6):
        v = cpm.tx(C1, k)
        for mtype in (msg.NON, msg.CON):
            out = s.receive(get(100 + 2 * k + mtype, v, mtype=mtype), C1, k)
            assert len(out) == 1
            r = pmval(out[0][0])
            assert r is not None and (r >> 5) & 1 == (v >> 5) & 1      # §2.1: S echoed
    # the separate CON informative response of a CON registration echoes S too
    v = cpm.tx(C1, 10)
    out = s.receive(reg(mid=300, extra=[(o.PM, v)]), C1, 10)
    ack, ir = out
    assert pmval(ack[0]) is None                       # an empty ACK carries no options
    assert ir[0][1] == msg.SERVICE_UNAVAILABLE and (pmval(ir[0]) >> 5) & 1 == (v >> 5) & 1
    # errors are responses too
    out = s.receive(get(400, cpm.tx(C1, 11), path="nope"), C1, 11)
    assert msg.decode(out[0][0]).code == msg.NOT_FOUND and pmval(out[0][0]) is not None
    assert spm.meter(C1).pkts == 14                    # pm.rx for every request
    s.receive(msg.empty(msg.ACK, ir[0][2] << 8 | ir[0][3]), C1, 12)   # the client ACKs the separate 5.03
    assert spm.meter(C1).pkts == 14 and spm.meter(C1).absent == 0   # an empty message is not marked


def test_telemetry_post_accepted_204_with_pm_echo():
    spm = PMEndpoint("server", pattern=0)
    s = core(spm)
    for k, mtype in enumerate((msg.CON, msg.NON)):
        req = msg.encode(mtype, msg.POST, 20 + k, b"\x33", [(o.URI_PATH, "telemetry"), (o.CONTENT_FORMAT, 60),
                                                            (o.PM, 0x20 * k)], b"\xa1\x01\x02")
        (buf, dst), = s.receive(req, C1, k)
        r = msg.decode(buf)
        assert dst == C1 and r.code == msg.CHANGED and r.type == (msg.ACK if mtype == msg.CON else msg.NON)
        assert (pmval(buf) >> 5) & 1 == k
    res = s.resources["/telemetry"]
    assert res.value == b"\xa1\x01\x02" and res.cf == 60
    assert "</telemetry>" in s.receive(msg.encode(msg.CON, msg.GET, 30, b"", [(o.URI_PATH, ".well-known"),
                                                                            (o.URI_PATH, "core")]), C1, 3)[0][0].decode("latin-1")


def test_pm_off_marks_nothing():
    s = core(None)
    out = s.receive(reg(extra=[(o.PM, 0x20)]), C1, 0)
    out += s.update("/r", "1", 5)
    out += s.receive(get(9, 0x20), C1, 6)
    assert len(out) == 4 and all(pmval(b) is None for b, _ in out)
    assert s.report()["pm"] is None


def _group_run(n_notif, drop, pattern=0):
    """A board registered; n_notif multicast notifications; the board misses those drop(k) says."""
    spm = PMEndpoint("server", pattern=pattern)
    s = core(spm)
    board = PMEndpoint("client", pattern=pattern)
    s.receive(reg(extra=[(o.PM, board.tx(C1, 0))]), C1, 0)
    missed = 0
    for k in range(1, n_notif + 1):
        out = s.update("/r", str(k), k * 10)
        (buf, dst), = out
        assert dst == GRP
        v = pmval(buf)
        assert v is not None and (v >> 7) == pattern
        if drop(k):
            missed += 1
            continue
        board.rx(GRP, v, k * 10)           # the group flow, apart from the unicast one
    return s, spm, board, missed


def test_multicast_notifications_carry_a_q_wave_per_group_flow():
    s, spm, board, _ = _group_run(256, lambda k: False)
    m = board.meter(GRP)
    assert m.blocks >= 3 and m.loss_permille() == 0
    assert spm.stats()["peers"]["224.0.1.187:5683"]["tx"] == 256
    # the unicast flow to C1 is a different flow: one informative response only
    assert spm.peers[C1].tx == 1
    # the wave: blocks of n_group (16, coap.pm: the group flow's block length) of each marking,
    # while the unicast flows keep n (64)
    s2 = core(PMEndpoint("server", pattern=0))
    qs = [(pmval(s2.update("/r", str(k), k)[0][0]) >> 6) & 1 for k in range(1, 129)
          if s2.start_group("/r", 0) is not None]
    assert qs == ([0] * 16 + [1] * 16) * 4
    assert m.n == 16 and spm.peers[C1].meter.n == 64


def test_board_measures_multicast_loss_from_the_server_wave():
    rng = random.Random(5)
    for pattern in (0, 1):
        s, spm, board, missed = _group_run(1280, lambda k: rng.random() < 0.08, pattern)
        m = board.meter(GRP)
        true = 100.0 * missed / 1280
        assert m.blocks >= 18
        got = m.loss_permille() / 10.0
        assert abs(got - true) < 1.5, (pattern, got, true)


def _exchange_run(s, loss_up, rtt, count, seed=2, pattern=0):
    """A client sending NON GET one at a time (next on the response, or after 200 ms); requests
    lost upstream with probability loss_up; one-way delay rtt/2. Returns the lost count."""
    rng = random.Random(seed)
    cpm = PMEndpoint("client", pattern=pattern)
    now = 1000
    lost = 0
    for k in range(count):
        v = cpm.tx(C1, now)
        if rng.random() < loss_up:
            lost += 1
            now += 200
            continue
        out = s.receive(get(k & 0xFFFF, v), C1, now + rtt // 2)
        (buf, _), = out
        now += rtt
        cpm.rx(C1, pmval(buf), now)
    return lost, cpm


def _pipelined_run(s, loss_up, rtt, count, gap, seed=3, pattern=1):
    """A client sending a NON GET every gap ms whatever comes back (several per RTT); each
    request lost upstream with probability loss_up; one-way delay rtt/2. Discrete events."""
    import heapq
    rng = random.Random(seed)
    cpm = PMEndpoint("client", pattern=pattern)
    ev = []                               # (time, seq, kind, data)
    lost = 0
    for k in range(count):
        heapq.heappush(ev, (1000 + k * gap, 2 * k, "tx", k))
    while ev:
        t, q, kind, data = heapq.heappop(ev)
        if kind == "tx":
            v = cpm.tx(C1, t)
            if rng.random() < loss_up:
                lost += 1
                continue
            heapq.heappush(ev, (t + rtt // 2, q + 1, "srv", get(data & 0xFFFF, v)))
        elif kind == "srv":
            (buf, _), = s.receive(data, C1, t)
            heapq.heappush(ev, (t + rtt // 2, q + 1, "cli", pmval(buf)))
        else:
            cpm.rx(C1, data, t)
    return lost, cpm


def test_server_figures_for_a_client_flow_loss_and_rtt():
    # pattern 0, one request at a time (the S wave has the RTT as period)
    spm = PMEndpoint("server", pattern=0)
    s = core(spm)
    lost, cpm = _exchange_run(s, 0.05, 40, 1600)
    d = spm.stats()["peers"]["127.0.0.1:40001"]
    assert abs(d["loss_pct"] - 100.0 * lost / 1600) < 1.0, (d, lost)
    assert abs(d["rtt_ms"] - 40) <= 4, d
    assert abs(cpm.meter(C1).rtt_median() - 40) <= 4      # the client's own figure (request -> echo)
    assert s.report()["pm"]["peers"]["127.0.0.1:40001"]["pkts"] == 1600 - lost
    # pattern 1 needs several packets per RTT (one D per RTT among them, draft §2.2)
    spm = PMEndpoint("server", pattern=1)
    s = core(spm)
    lost, cpm = _pipelined_run(s, 0.05, 40, 1600, 8)
    d = spm.stats()["peers"]["127.0.0.1:40001"]
    assert abs(d["loss_pct"] - 100.0 * lost / 1600) < 1.0, (d, lost)
    assert abs(d["rtt_ms"] - 40) <= 4, d
    assert abs(cpm.meter(C1).rtt_median() - 40) <= 4
    # pattern 1 on a sparse flow (one request at a time): the loss is exact too (coap.pm D placement
    # rule); RTT from C only at the client (request -> echo); the server takes no wrong D-to-D sample
    spm = PMEndpoint("server", pattern=1)
    s = core(spm)
    lost, cpm = _exchange_run(s, 0.05, 40, 1600, pattern=1)
    d = spm.stats()["peers"]["127.0.0.1:40001"]
    assert abs(d["loss_pct"] - 100.0 * lost / 1600) < 1.0, (d, lost)
    assert d["rtt_ms"] is None and d["rtt_n"] == 0, d
    cm = cpm.meter(C1)
    assert cm.rn >= 10 and cm.rmin == 40 and cm.rmax == 40, (cm.rn, cm.rmin, cm.rmax)


def test_retransmitted_informative_response_gets_a_fresh_mark():
    spm = PMEndpoint("server", pattern=0, n=4, x=1)
    s = core(spm)
    cpm = PMEndpoint("client", pattern=0, n=4, x=1)
    out = s.receive(reg(extra=[(o.PM, cpm.tx(C1, 0))]), C1, 0)
    first = out[1][0]
    bufs = [first]
    for t in (5000, 15000, 30000, 60000):
        r = s.tick(t)
        assert len(r) == 1
        bufs.append(r[0][0])
    assert spm.peers[C1].tx == 5
    ms_ = [msg.decode(b) for b in bufs]
    assert len({m.mid for m in ms_}) == 1 and len({bytes(m.payload()) for m in ms_}) == 1
    # a block of n=4 then the toggle: the 5th copy carries the other Q
    assert [(pmval(b) >> 6) & 1 for b in bufs] == [0, 0, 0, 0, 1]


def test_duplicate_request_replay_is_remarked_with_the_new_s():
    spm = PMEndpoint("server", pattern=0)
    s = core(spm)
    a = s.receive(get(7, 0x00, mtype=msg.CON), C1, 0)
    b = s.receive(get(7, 0x20, mtype=msg.CON), C1, 3000)      # the client's retransmission, S flipped
    assert s.stats["dup"] == 1
    ma, mb = msg.decode(a[0][0]), msg.decode(b[0][0])
    assert ma.mid == mb.mid and bytes(ma.payload()) == bytes(mb.payload())
    assert (pmval(a[0][0]) >> 5) & 1 == 0 and (pmval(b[0][0]) >> 5) & 1 == 1
    assert spm.peers[C1].tx == 2


def test_status_line_shows_pm_per_peer():
    from tools.server.driver import pm_status
    spm = PMEndpoint("server", pattern=0)
    s = core(spm)
    _exchange_run(s, 0.05, 40, 700)
    s.update("/r", "1", 10 ** 6)
    line = pm_status(spm)
    assert line.startswith("PM p0 ")
    assert "127.0.0.1:40001 tx=" in line and " loss=" in line and " rtt=4" in line
    assert "%" in line and "ms" in line
    assert pm_status(PMEndpoint("server")) == "PM p0 no flows"
    many = PMEndpoint("server", max_peers=20)
    for k in range(12):
        many.tx(("127.0.0.1", 1000 + k), 0)
    assert "+4 more" in pm_status(many)


# ---------------------------------------------------------------- real UDP through tools/relay.py
def test_server_figures_through_the_relay_with_loss(tmp_path):
    """The real server (--pm 0) behind tools/relay.py (seeded 5% loss upstream, 4 ms each way);
    a client asking GET /time one at a time with PM. The server's loss figure for the flow from
    the relay matches what the relay dropped; its RTT figure matches the client's own."""
    import asyncio
    import signal
    import time
    from tools.relay import Relay, UP

    port = free_port()
    path = str(tmp_path / "st.json")
    env = dict(os.environ, PYTHONPATH=ROOT)
    srv = subprocess.Popen([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                            "--pm", "0", "--status-every", "0.5", "--stats-json", path, "--no-builtins",
                            "--resource", "/time=1", "--duration", "60"],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        t0 = time.monotonic()
        first = srv.stdout.readline()
        while "listening on" not in first and time.monotonic() - t0 < 15:
            first = srv.stdout.readline()
        assert "listening on" in first, first

        async def run(count=704):
            loop = asyncio.get_running_loop()
            relay = Relay(("127.0.0.1", port), loss=5, loss_down=0, delay=4, seed=11).start(loop)
            cpm = PMEndpoint("client", pattern=0)
            done = loop.create_future()
            state = {"k": -1, "h": None, "rx": 0}

            class P(asyncio.DatagramProtocol):
                def connection_made(self, tr):
                    self.tr = tr

                def send(self):
                    if state["h"]:
                        state["h"].cancel()
                    k = state["k"] = state["k"] + 1
                    if k >= count:
                        done.done() or done.set_result(1)
                        return
                    self.tr.sendto(msg.encode(msg.NON, msg.GET, k & 0xFFFF, k.to_bytes(2, "big"),
                                              [(o.URI_PATH, "time"), (o.PM, cpm.tx(relay.addr, ms()))]))
                    state["h"] = loop.call_later(0.06, self.send)

                def datagram_received(self, data, src):
                    m = msg.decode(data)
                    cpm.rx(relay.addr, pmod.value_of(m), ms())
                    state["rx"] += 1
                    if int.from_bytes(m.token_bytes(), "big") == state["k"]:
                        self.send()

            def ms():
                return int(time.monotonic() * 1000)

            tr, p = await loop.create_datagram_endpoint(P, remote_addr=relay.addr)
            p.send()
            await asyncio.wait_for(done, 60)
            await asyncio.sleep(0.6)          # one more status line
            f = list(relay.flows.values())[0]
            out = (f.dropped[UP], f.rx[UP], relay.summary(), cpm.meter(relay.addr), f.sock.getsockname())
            tr.close()
            relay.close()
            return out

        dropped, sent, rsum, cmeter, upstream = asyncio.run(run())
    finally:
        srv.send_signal(signal.SIGINT)
        out, _ = srv.communicate(timeout=20)
    assert srv.returncode == 0, out
    rep = json.load(open(path))
    key = "%s:%d" % upstream
    d = rep["pm"]["peers"][key]
    true = 100.0 * dropped / sent
    print("relay dropped %d/%d (%.2f%%); server: %s" % (dropped, sent, true,
          {k: d[k] for k in ("pkts", "blocks", "lost", "loss_pct", "rtt_ms", "rtt_n")}))
    assert sent == 704 and d["blocks"] >= 9
    assert abs(d["loss_pct"] - true) <= 1.5, (d, true)
    crtt = cmeter.rtt_median()
    assert 8 <= crtt < 60 and abs(d["rtt_ms"] - crtt) <= max(3, 0.25 * crtt), (d["rtt_ms"], crtt)
    # the relay (on-path probe) agrees on the upstream loss
    up = rsum["flows"][0]["up"]
    assert abs(up["loss_pct"] - d["loss_pct"]) <= 1.0
    # the status line showed the flow's figures
    lines = [ln for ln in out.splitlines() if "status: PM p0 " in ln and key + " tx=" in ln and "loss=" in ln]
    assert lines, out[-2000:]
    print(lines[-1])
    assert rep["counters"]["rx"] == d["pkts"] and rep["counters"]["bad"] == 0
