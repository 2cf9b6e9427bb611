# PM measurement (coap.pmmeasure.Meter and PMEndpoint figures) on a simulated network with a fake
# clock: loss from Q/C blocks (RFC 9506 §3.1: reordering tolerance, bursts), RTT from S edges
# (RFC 9312, spurious edges) and from C delay packets. Runs under CPython and the MicroPython unix port.
import heapq

from coap import pm
from coap.pmmeasure import Meter, NOT_D, D_NOW, D_DEFERRED
from tu import Lcg as Rng


SRV = ("192.0.2.1", 5683)
CLI = ("192.0.2.2", 40000)


def sim(pattern, n=64, loss_pm=0, delay=20, count=2000, interval=0, reorder_pm=0, reorder_ms=7,
        seed=1, timeout=None, t_max=1000):
    """Client <-> probe <-> server. interval=0: one request at a time (next on response or timeout);
    else a request every interval ms. Loss (per mille) and delay apply on each direction, before the
    probe on the way up and before the probe on the way down (it sees what the receiver sees)."""
    rng = Rng(seed)
    c = pm.PMEndpoint("client", pattern=pattern, n=n, t_max=t_max)
    s = pm.PMEndpoint("server", pattern=pattern, n=n, t_max=t_max)
    up = Meter(n, t_max=t_max)
    dn = Meter(n, t_max=t_max)
    sent = [0, 0]
    lost = [0, 0]
    ev = []
    seq = [0]
    if timeout is None:
        timeout = 4 * delay + 20

    def push(t, kind, val):
        seq[0] += 1
        heapq.heappush(ev, (t, seq[0], kind, val))

    def send(direction, t, val, kind):
        sent[direction] += 1
        if rng.below(1000) < loss_pm:
            lost[direction] += 1
            return
        extra = reorder_ms if reorder_pm and rng.below(1000) < reorder_pm else 0
        push(t + delay + extra, kind, val)

    nreq = [0]
    cur = [0]

    def client_send(t):
        nreq[0] += 1
        cur[0] = nreq[0]
        send(0, t, c.tx(SRV, t), 1)
        if not interval:
            push(t + timeout, 3, nreq[0])

    push(0, 0, 0)
    while ev:
        t, _, kind, val = heapq.heappop(ev)
        if kind == 0:  # periodic client tick
            if nreq[0] < count:
                client_send(t)
                if interval:
                    push(t + interval, 0, 0)
        elif kind == 1:  # request reaches the probe then the server, answered at once
            up.rx(val, t)
            s.rx(CLI, val, t)
            send(1, t, s.tx(CLI, t, val), 2)
        elif kind == 2:
            dn.rx(val, t)
            c.rx(SRV, val, t)
            if not interval and nreq[0] < count:
                client_send(t)
        elif kind == 3 and val == cur[0] and nreq[0] < count:  # timeout: next request
            client_send(t)
    return c, s, up, dn, sent, lost


def pct(m):
    return 100.0 * m.lost / (m.blocks * m.n)


def near(a, b, tol):
    return abs(a - b) <= tol


def test_lockstep_pattern0_loss_and_rtt():
    c, s, up, dn, sent, lost = sim(0, loss_pm=50, delay=20, count=3000, seed=7)
    true_up = 100.0 * lost[0] / sent[0]
    true_dn = 100.0 * lost[1] / sent[1]
    sm = s.meter(CLI)
    cm = c.meter(SRV)
    assert sm.blocks * 64 >= 2000 and cm.blocks * 64 >= 2000
    assert near(pct(sm), true_up, 1.0), (pct(sm), true_up)
    assert near(pct(up), true_up, 1.0)
    assert near(pct(cm), true_dn, 1.0), (pct(cm), true_dn)
    assert near(pct(dn), true_dn, 1.0)
    assert cm.rtt_median() == 40 and cm.rmin == 40 and cm.rmax == 40  # request -> echo
    assert sm.rtt_median() == 40 and up.rtt_median() == 40 and dn.rtt_median() == 40


def test_pipelined_pattern1_loss_and_rtt():
    c, s, up, dn, sent, lost = sim(1, loss_pm=100, delay=50, count=3000, interval=2, seed=3, t_max=300)
    true_up = 100.0 * lost[0] / sent[0]
    true_dn = 100.0 * lost[1] / sent[1]
    sm, cm = s.meter(CLI), c.meter(SRV)
    assert near(pct(sm), true_up, 1.0), (pct(sm), true_up)
    assert near(pct(up), true_up, 1.0)
    assert near(pct(cm), true_dn, 1.0), (pct(cm), true_dn)
    assert near(pct(dn), true_dn, 1.0)
    assert cm.rn >= 10 and cm.rtt_median() == 100  # D out and back
    for m in (sm, up, dn):  # D to D: one RTT plus the wait for the client's next packet (< 2 ms)
        assert 100 <= m.rtt_median() <= 102, m.rtt_median()
    assert sm.bursts == 0 and cm.bursts == 0


def test_pattern1_no_loss_is_exact():
    c, s, up, dn, sent, lost = sim(1, loss_pm=0, delay=20, count=1000, interval=2, seed=5)
    for m in (s.meter(CLI), c.meter(SRV), up, dn):
        assert m.lost == 0 and m.bursts == 0 and m.blocks == 15, (m.lost, m.blocks)


def test_reordering_tolerated():
    c, s, up, dn, sent, lost = sim(1, loss_pm=20, delay=20, count=3000, interval=2, seed=11,
                                   reorder_pm=30, reorder_ms=5)
    true_up = 100.0 * lost[0] / sent[0]
    sm = s.meter(CLI)
    assert near(pct(sm), true_up, 1.0), (pct(sm), true_up)
    assert sm.bursts == 0
    assert 40 <= c.meter(SRV).rtt_median() <= 44
    assert 40 <= sm.rtt_median() <= 44
    c, s, up, dn, sent, lost = sim(0, loss_pm=20, delay=20, count=3000, interval=2, seed=11,
                                   reorder_pm=30, reorder_ms=5)
    assert near(pct(s.meter(CLI)), 100.0 * lost[0] / sent[0], 1.0)


def test_pattern1_reordering_and_loss_give_no_wrong_rtt_sample():
    # test_relay_pm's reordering case on the fake clock: n = 32 (x = 2), a request every 2 ms,
    # 15 ms each way, 5 % loss, 2 % of packets held back 4 ms (overtaken by 2 later ones). Every
    # RTT sample at every vantage point must be an RTT: a late packet of the previous block read
    # as a D, a D read as a block edge or the edge as a D gave periods of 64 .. 476 ms here.
    rtt, reo = 30, 4
    taken = [0, 0, 0, 0]
    for seed in (2, 5, 6, 7):  # seeds where each kind of wrong sample occurred
        c, s, up, dn, sent, lost = sim(1, n=32, loss_pm=50, delay=rtt // 2, count=900, interval=2, seed=seed,
                                       reorder_pm=20, reorder_ms=reo, t_max=500)
        cm, sm = c.meter(SRV), s.meter(CLI)
        # the client's own D out -> back: the RTT, the two packets' extra delays (the server
        # reflects at once)
        assert all(rtt <= p <= rtt + 2 * reo for p in cm.samples()), (seed, cm.samples())
        # D to D on one direction: also the client's hold (<= srtt/8) and one D held back less
        for k, m in enumerate((sm, up, dn)):
            assert all(rtt - reo <= p <= rtt + 3 * reo + 5 for p in m.samples()), (seed, k, m.samples())
        for k, m in enumerate((cm, sm, up, dn)):
            taken[k] += m.rn
        for m, truth in ((sm, lost[0] * 100.0 / sent[0]), (cm, lost[1] * 100.0 / sent[1])):
            assert near(pct(m), truth, 1.0) and m.bursts == 0
    assert min(taken) >= 3, taken


def test_q_reordering_at_edge_counts_to_old_block():
    m = Meter(8, x=2)
    seq = [0] * 8 + [1] * 8 + [0] * 8
    seq[7], seq[8] = seq[8], seq[7]  # the first packet of block 2 overtakes the last of block 1
    for k, b in enumerate(seq):
        m.rx(b << 6, k)
    assert m.blocks == 2 and m.lost == 0 and m.last_blk == 8


def test_joining_a_flow_at_the_end_of_a_block():
    # a board joins a group flow anywhere (coap.pm: it skips that block): joined on the last
    # packets of a block, the next block's first packets are not late packets of a previous one
    for pat in (0, 1):
        for start in (13, 14, 15):
            m = Meter(16, skip_first=True)
            wave = ([0] * 16 + [1] * 16) * 3
            for k, b in enumerate(wave[start:]):
                m.rx((pat << 7) | (b << 6), k)
            assert m.blocks == 4 and m.lost == 0, (pat, start, m.blocks, m.lost)


def test_q_burst_loss_of_a_whole_block():
    m = Meter(16)
    wave = []
    for blk in range(6):
        wave += [blk & 1] * 16
    del wave[32:48]   # block 2 vanishes
    del wave[20:23]   # and 3 packets of block 1
    for k, b in enumerate(wave):
        m.rx(b << 6, k)
    # blocks 0, [1 + 3 merged as 3 blocks], 4 closed; block 5 open
    assert m.bursts == 1
    assert m.blocks == 5 and m.lost == 19


def test_spin_spurious_edges_rejected():
    m = Meter(64)
    ev = 0x10 | 1  # the client's Event bits: delay level 1 (RTT in [50, 200) ms)
    t = 0
    s = 0
    for k in range(20):  # 10 packets per 50 ms half period
        if k % 10 == 0:
            s ^= 1
        m.rx(s << 5 | ev, t)
        t += 5
    # now a reordered packet of the old value arrives just after the edge
    s ^= 1
    m.rx(s << 5 | ev, t)
    m.rx((s ^ 1) << 5 | ev, t + 1)
    m.rx(s << 5 | ev, t + 2)
    t += 5
    for k in range(9):
        m.rx(s << 5 | ev, t)
        t += 5
    s ^= 1
    m.rx(s << 5 | ev, t)
    assert m.spurious == 2
    assert m.samples() == [50, 50]


def test_spin_periods_vouched_by_the_client_delay_level():
    # RFC 9312 §3.8: on an application-limited flow an S period is the gap between requests. The
    # server (or a probe) counts a period as an RTT only inside the range of the client's own delay
    # level (Event bits; widened x2 each way); the rest is counted apart (idle), never a sample.
    def run(ev, periods):
        m = Meter(64, t_max=1000)
        m.rx(ev, 0)
        m.rx(1 << 5 | ev, 1)                     # the first edge: periods from here
        t, s = 1, 1
        for p in periods:
            t += p
            s ^= 1
            m.rx(s << 5 | ev, t)
        return m
    rtt = [40] * 6
    idle = [40, 400, 40, 900, 40, 600]           # a loopback board posting now and then
    m = run(0, rtt)                              # no delay level from the client: nothing vouched
    assert m.rn == 0 and m.idle == 6
    m = run(0x10, rtt + idle)                    # level 0 (< 50 ms): periods < 100 ms count
    assert m.samples() == [40] * 9 and m.idle == 3
    assert "idle=3 (spin periods not taken: request gaps)" in m.line("c")
    d = m.summary()
    assert d["rtt_ms"] == 40 and d["idle"] == 3
    m = run(0x10 | 2, [300, 250, 900, 40])       # level 2 ([200, 800) ms): 40 ms is a burst
    assert m.samples() == [300, 250, 900] and m.spurious == 1
    m = run(0x10 | 3, [990, 1200])               # level 3 (>= 800): up to t_max
    assert m.samples() == [990] and m.stale == 1
    m = run(0x80 | 0x20 | 2, [60, 240])           # pattern 1 levels: [50, 100) -> [25, 200)
    assert m.pattern == 1 and m.rn == 0           # (C periods are D to D, not S: no spin)


def _c_wave(n, blocks, ds=()):
    # sender order: block k marked k & 1, a D (the opposite marking) at each index in ds
    bits = []
    for k in range(blocks):
        bits += [k & 1] * n
    for i in ds:
        bits[i] ^= 1
    return bits


def test_d_classification():
    n, x = 16, 2
    m = Meter(n, x=x, periods=False)
    bits = _c_wave(n, 4, ds=(5, 16 + 12))  # a D mid block 0, one at the last place allowed in block 1
    order = list(range(len(bits)))
    order.remove(31)
    order.insert(33, 31)                   # the last packet of block 1 arrives after 2 of block 2
    order.remove(47)
    order.insert(50, 47)                   # the last of block 2 arrives after 3 of block 3 (<= 2x)
    out = []
    dnow = {}
    for k in order:
        out.append((k, m.rx(0x80 | (bits[k] << 6), k)))
        dnow[k] = m.dnow
    got = dict(out)
    assert got[5] == D_NOW                 # far from the edge: a D at once (reflect now) ...
    assert got[6] == D_DEFERRED and dnow[6]  # ... confirmed by the next packet
    assert got[28] == NOT_D                # near the end: decided x+1 packets later, but the
    # last of those came after the edge: a D followed by the edge, or an edge with late packets:
    # ambiguous, no D (the chain restarts)
    assert [k for k, r in out if r == D_DEFERRED] == [6]
    assert got[31] == NOT_D and got[47] == NOT_D   # late packets, not Ds
    assert m.blocks == 3 and m.lost == 0 and m.bursts == 0
    # the same D with its x+1 followers in order: a D, known late (not announced as D_NOW)
    m = Meter(n, x=x, periods=False)
    out = [m.rx(0x80 | (b << 6), k) for k, b in enumerate(bits[:32])]
    assert out[28] == NOT_D and out[31] == D_DEFERRED and not m.dnow and m.pend_t == 28
    for k in range(32, 64):
        m.rx(0x80 | (bits[k] << 6), k)
    assert m.blocks == 3 and m.lost == 0


def test_d_chain_restarts_on_ambiguity():
    # periods=True (a probe): D-to-D periods of 20 packets = 20 ms; a late packet just after an
    # edge (what an early D after losses would look like) restarts the chain: no period across it
    n, x = 32, 2
    m = Meter(n, x=x, t_max=100)
    bits = _c_wave(n, 3, ds=(6, 26, 32 + 14))
    order = list(range(len(bits)))
    order.remove(31)
    order.insert(34, 31)                   # overtaken by 2 packets of block 1: seen at cnt 2
    for k in order:
        m.rx(0x80 | (bits[k] << 6), k)
    # 6 -> 26: one period of 20; 26 -> 46 spans the late packet: not taken
    assert m.samples() == [20] and m.blocks == 2 and m.lost == 0


def test_report_line_and_summary():
    c, s, up, dn, sent, lost = sim(0, loss_pm=10, delay=10, count=400, seed=2)
    d = s.stats()
    f = d["peers"]["%s:%d" % CLI]
    for k in ("loss_pct", "rtt_ms", "blocks", "lost", "rtt_n", "event", "tx"):
        assert k in f
    line = s.meter(CLI).line("cli")
    assert line.startswith("pm cli pat=0") and "loss=" in line and "rtt=" in line
    assert len(s.lines()) == 1


def _sparse_check(pattern, loss_pm, seed, interval=0, delay=20):
    # NSTART=1: one request at a time, the next on the response (or after a timeout), or one every
    # interval ms (> RTT: a periodic telemetry POST). A D can never be reflected within srtt/8.
    c, s, up, dn, sent, lost = sim(pattern, loss_pm=loss_pm, delay=delay, count=2600, seed=seed,
                                   interval=interval)
    true_up = 100.0 * lost[0] / sent[0]
    true_dn = 100.0 * lost[1] / sent[1]
    sm, cm = s.meter(CLI), c.meter(SRV)
    for m, truth in ((sm, true_up), (up, true_up), (cm, true_dn), (dn, true_dn)):
        assert m.blocks * m.n >= 2000 and m.bursts == 0, (m.blocks, m.bursts)
        assert near(pct(m), truth, 1.0), (pattern, loss_pm, pct(m), truth)
    return c, s, up, dn, cm, sm


def test_sparse_lockstep_pattern1_loss_and_client_rtt():
    for loss_pm, seed in ((0, 21), (50, 22), (100, 23)):
        c, s, up, dn, cm, sm = _sparse_check(1, loss_pm, seed)
        # the client's own D out -> D back: request -> echo, exactly the RTT
        assert cm.rn >= 40 and cm.rmin == 40 and cm.rmax == 40, (cm.rn, cm.rmin, cm.rmax)
        # D-to-D periods at the server and the probe are regeneration gaps (> t_max): no sample
        # rather than a wrong one (coap.pm header: what each vantage point measures)
        for m in (sm, up, dn):
            assert m.rn == 0 and m.stale > 0
        assert c.d_dropped > 0 and c.d_sent >= cm.rn


def test_sparse_lockstep_pattern0_loss_and_rtt():
    for loss_pm, seed in ((0, 31), (50, 32), (100, 33)):
        c, s, up, dn, cm, sm = _sparse_check(0, loss_pm, seed)
        assert cm.rtt_median() == 40 and sm.rtt_median() == 40 and up.rtt_median() == 40


def test_sparse_pattern1_bench_condition_no_wrong_figure():
    # bench_pm's sparse row (pattern 1, 50 ms each way, 10 % loss, t_max 600, timeout 252 ms) on the
    # fake clock, seeds where the measurer went wrong: an edge taken at once as a D stayed the D
    # chain's reference (a 400 ms "RTT" 4 requests later: the bench's 557 ms), and a D followed,
    # after lost requests, by the next D read as an edge's first packets (false edges: +8 pp loss).
    for seed in (1, 4, 29, 38, 40):
        c, s, up, dn, sent, lost = sim(1, loss_pm=100, delay=50, count=1300, seed=seed, timeout=252, t_max=600)
        cm, sm = c.meter(SRV), s.meter(CLI)
        for m, truth in ((sm, lost[0] * 100.0 / sent[0]), (up, lost[0] * 100.0 / sent[0]),
                         (cm, lost[1] * 100.0 / sent[1]), (dn, lost[1] * 100.0 / sent[1])):
            assert m.blocks * m.n <= sent[0] and near(pct(m), truth, 1.0), (seed, m.blocks, pct(m), truth)
        assert sm.rn == 0 and up.rn == 0 and dn.rn == 0, (seed, sm.samples(), up.samples(), dn.samples())
        assert cm.rn >= 5 and cm.rmin == 100 and cm.rmax == 100, (seed, cm.samples())


def test_sparse_periodic_telemetry_pattern1():
    # a request every 100 ms, RTT 100: still one packet per RTT each way
    c, s, up, dn, cm, sm = _sparse_check(1, 50, 41, interval=100, delay=50)
    assert cm.rn >= 20 and cm.rtt_median() == 100 and cm.rmax == 100
    assert sm.rn == 0 and up.rn == 0 and dn.rn == 0
