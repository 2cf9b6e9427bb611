# PM option codec, event bits and the markers of PMEndpoint (draft-ietf-core-coap-pm §2, §3.1).
# Runs under CPython and the MicroPython unix port.
from tu import raises

from coap import msg, options, optinfo, pm
from coap.pmmeasure import Meter, NOT_D, D_NOW, D_DEFERRED


def test_encode_decode_patterns():
    assert pm.encode(0, q=1, s=0, event=0) == 0x40
    assert pm.encode(0, q=0, s=1, event=0x1F) == 0x3F
    assert pm.encode(1, c=1, event=0) == 0xC0
    assert pm.encode(1, c=0, event=0x3F) == 0xBF
    assert pm.decode(0x40) == (0, 1, 0, 0)
    assert pm.decode(0x25) == (0, 0, 1, 5)
    assert pm.decode(0xC1) == (1, 1, None, 1)
    assert pm.decode(0x80) == (1, 0, None, 0)
    for v in range(256):
        p, qc, s, ev = pm.decode(v)
        assert (pm.encode(0, q=qc, s=s, event=ev) if p == 0 else pm.encode(1, c=qc, event=ev)) == v
    raises(ValueError, pm.decode, 256)
    raises(ValueError, pm.decode, -1)
    raises(ValueError, pm.decode, None)
    raises(ValueError, pm.encode, 0, 0, 0, 0, 32)
    raises(ValueError, pm.encode, 1, 0, 0, 0, 64)
    raises(ValueError, pm.encode, 2)


def test_option_properties_and_value_of():
    assert options.PM == 65006
    assert not optinfo.critical(options.PM) and optinfo.unsafe(options.PM)
    assert optinfo.check_length(options.PM, 1) and not optinfo.check_length(options.PM, 2)
    m = msg.Msg()
    m.decode(msg.encode(msg.NON, msg.GET, 1, b"t", [(options.PM, 0x60)]))
    assert pm.value_of(m) == 0x60
    m.decode(msg.encode(msg.NON, msg.GET, 1, b"t", [(options.PM, 0)]))  # uint 0 is the empty value
    assert pm.value_of(m) == 0
    m.decode(msg.encode(msg.NON, msg.GET, 1, b"t", [(options.PM, b"\x01\x02")]))
    assert pm.value_of(m) == -1
    m.decode(msg.encode(msg.NON, msg.GET, 1, b"t"))
    assert pm.value_of(m) is None


def test_option_number_configurable():
    old = options.PM
    try:
        options.configure(pm=65010)
        m = msg.Msg()
        m.decode(msg.encode(msg.NON, msg.GET, 1, b"t", [(65010, 0x40)]))
        assert pm.value_of(m) == 0x40
        m.decode(msg.encode(msg.NON, msg.GET, 1, b"t", [(old, 0x40)]))
        assert pm.value_of(m) is None
    finally:
        options.configure(pm=old)


def test_event_bits():
    # unknown -> 0 (ignored on receipt)
    assert pm.event_encode(0, -1, 30) == 0
    assert pm.event_encode(1, 5, -1) == 0
    assert pm.event_encode(0, 0, 10) == 0x10
    assert pm.event_encode(0, 10, 49) == 0x10 | (1 << 2) | 0
    assert pm.event_encode(0, 60, 50) == 0x10 | (2 << 2) | 1
    assert pm.event_encode(0, 100, 800) == 0x10 | (3 << 2) | 3
    assert pm.event_encode(0, 999, 5000) == 0x1F
    assert pm.event_encode(1, 0, 24) == 0x20
    assert pm.event_encode(1, 50, 100) == 0x20 | (2 << 3) | 3
    assert pm.event_encode(1, 1000, 1600) == 0x3F
    assert pm.event_decode(0x80 | 0x20 | (2 << 3) | 3) == (2, 3)
    assert pm.event_decode(0x10 | (1 << 2) | 2) == (1, 2)
    assert pm.event_decode(0x40) is None
    assert pm.event_decode(0xC0) is None
    assert pm.event_decode(0x0F) is None  # E clear: not an event


def test_q_square_wave_per_flow():
    e = pm.PMEndpoint("server", pattern=0, n=8)
    a, b = ("10.0.0.1", 5683), ("10.0.0.2", 5683)
    qa = [(e.tx(a, 0) >> 6) & 1 for _ in range(24)]
    assert qa == [0] * 8 + [1] * 8 + [0] * 8
    qb = [(e.tx(b, 0) >> 6) & 1 for _ in range(9)]  # its own wave
    assert qb == [0] * 8 + [1]
    raises(ValueError, pm.PMEndpoint, "client", 0, 12)
    raises(ValueError, pm.PMEndpoint, "client", 0, 16, 8)
    raises(ValueError, pm.PMEndpoint, "proxy")
    raises(ValueError, pm.PMEndpoint, "client", 2)


def test_spin_client_flips_server_echoes():
    c = pm.PMEndpoint("client", pattern=0, n=64)
    s = pm.PMEndpoint("server", pattern=0, n=64)
    srv, cli = ("s", 1), ("c", 2)
    spins = []
    t = 0
    for k in range(6):
        v = c.tx(srv, t)
        spins.append((v >> 5) & 1)
        s.rx(cli, v, t + 20)
        r = s.tx(cli, t + 20, request_value=v)
        assert (r >> 5) & 1 == (v >> 5) & 1  # echo
        c.rx(srv, r, t + 40)
        t += 40
    assert spins == [0, 1, 0, 1, 0, 1]
    cm = c.meter(srv)
    assert cm.rn == 6 and cm.rtt_median() == 40
    # the server sees an edge per request: periods of one RTT here, but nothing tells it the client
    # did not idle between requests (its Event bits carry no delay level yet): not taken
    sm = s.meter(cli)
    assert sm.rn == 0 and sm.idle == 4
    # a response echoing an older request is not a sample
    v = c.tx(srv, t)
    c.rx(srv, v ^ 0x20, t + 5)
    assert cm.rn == 6
    c.rx(srv, v, t + 30)
    assert cm.rn == 7 and cm.samples()[6] == 30
    # without a request value the server repeats the last S it received
    assert (s.tx(cli, t) >> 5) & 1 == (spins[-1])


def test_c_bit_generation_reflection_regeneration():
    n = 16
    x = 2
    g = 2 * x + 1
    c = pm.PMEndpoint("client", pattern=1, n=n, x=x, t_max=500)
    s = pm.PMEndpoint("server", pattern=1, n=n, x=x, t_max=500)
    srv, cli = ("s", 1), ("c", 2)
    # D is never on the first 2x+1 packets of a block: generation on packet 2x+1
    vs = [c.tx(srv, k) for k in range(g + 2)]
    assert vs == [0x80] * g + [0xC0, 0x80]
    assert c.d_sent == 1
    rs = [s.tx(cli, k) for k in range(g)]      # the server's block is 2x+1 packets in
    assert rs == [0x80] * g
    for k, v in enumerate(vs[:-1]):
        s.rx(cli, v, 10 + k)
    # the server reflects on its very next packet (it may carry a D: 2x+1 packets of its block
    # sent); before any RTT figure a reflection goes at once or never
    rs.append(s.tx(cli, 15))
    assert rs[-1] == 0xC0 and s.d_sent == 1
    s.rx(cli, vs[-1], 16)
    rs.append(s.tx(cli, 16))
    for k, r in enumerate(rs[:-1]):
        c.rx(srv, r, 80 + k)
    assert c.meter(srv).rn == 0                 # the D's arrival, not yet confirmed
    c.rx(srv, rs[-1], 86)                       # the next packet of the block: it was a D
    assert c.meter(srv).samples() == [80]       # sent at 5, back at 85
    # the client reflects on its first packet that may carry a D, within srtt/16 = 5 ms of 85:
    # x packets after its last D (packets 6, 7), then packet 8 carries it
    assert c.tx(srv, 86) == 0x80
    assert c.tx(srv, 87) == 0xC0 and c.d_sent == 2
    for t in (88, 89, 90):
        c.tx(srv, t)
    s.rx(cli, 0xC0, 100)                        # (packet 7 was lost)
    # the server's next packet follows its own D too closely: reflect now or never
    assert s.tx(cli, 100) == 0x80 and s.d_dropped == 1
    assert s.tx(cli, 101) == 0x80 and s.d_dropped == 1
    # nothing comes back: regeneration after t_max + t_max/8 = 562 ms since the last D, on the
    # first packet that may carry one (packets 12..13 pass before; 14 and 15 are near their block's
    # end; 16..20 open block 1 where C = Q = 1; packet 21 is its 2x+1th)
    assert [c.tx(srv, t) for t in (100, 200, 87 + 562)] == [0x80] * 3
    assert c.d_sent == 2
    vs = [c.tx(srv, 650 + k) for k in range(7)]
    assert vs == [0x80] + [0xC0] * g + [0x80] and c.d_sent == 3
    # without an RTT estimate: the first D at once, then after t_max + t_max/8
    c2 = pm.PMEndpoint("client", pattern=1, n=n, x=x, t_max=500)
    assert [c2.tx(srv, k) for k in range(g + 1)] == [0x80] * g + [0xC0]
    assert [c2.tx(srv, t) for t in (300, 400, 450, 500, 567)] == [0x80] * 5    # 562 ms after the D: not yet
    assert c2.tx(srv, 568) == 0xC0
    raises(ValueError, pm.PMEndpoint, "client", 1, 8, 2)        # no room for a D: n < 3x + 3
    pm.PMEndpoint("client", 0, 8, 2)                            # (pattern 0 has no D)
    pm.PMEndpoint("client", 1, 8)                               # n = 8: x = 1 by default


def test_c_bit_client_drops_a_reflection_it_cannot_send_in_time():
    c = pm.PMEndpoint("client", pattern=1, n=16, x=2, t_max=500)
    srv = ("s", 1)
    assert [c.tx(srv, k) for k in range(6)] == [0x80] * 5 + [0xC0]
    for k in range(6):
        c.rx(srv, 0x80, 40 + k)
    c.rx(srv, 0xC0, 45)                          # back (D_NOW: far from the block's end)
    c.rx(srv, 0x80, 46)                          # confirmed: RTT 40, hold budget 5 ms from 45
    assert c.meter(srv).samples() == [40]
    # the next request leaves 58 ms later (a sparse flow) and too close to the D anyway: dropped
    assert c.tx(srv, 103) == 0x80 and c.d_dropped == 1
    assert [c.tx(srv, t) for t in (104, 105, 106, 107, 567)] == [0x80] * 5
    assert c.tx(srv, 568) == 0xC0               # regenerated 563 ms after the last D


def test_c_bit_never_near_a_block_edge():
    n, x = 16, 2
    c = pm.PMEndpoint("client", pattern=1, n=n, x=x, t_max=100)
    srv = ("s", 1)
    vs = [c.tx(srv, 0) for k in range(n - 3)]  # the D on packet 2x+1
    assert [k for k, v in enumerate(vs) if v == 0xC0] == [2 * x + 1]
    # regeneration due on the last x+1 packets of the block: not there, nor on the next block's
    # first 2x+1 packets (C = Q there: 0x80 in block 0, 0xC0 in block 1)
    vs = [c.tx(srv, 500 + k) for k in range(3 * x + 3)]
    assert vs == [0x80] * (x + 1) + [0xC0] * (2 * x + 1) + [0x80]


def test_c_bit_placement_on_a_lossy_lockstep_flow():
    # one request at a time (NSTART=1), 10 % loss each way: on both directions every D is >= 2x+1
    # packets into its block, >= x+1 packets before its end, >= 2x+1 packets after the previous D
    from tu import Lcg as Rng
    n, x = 16, 2
    c = pm.PMEndpoint("client", pattern=1, n=n, x=x, t_max=200)
    s = pm.PMEndpoint("server", pattern=1, n=n, x=x, t_max=200)
    srv, cli = ("s", 1), ("c", 2)
    rng = Rng(4)
    up, dn = bytearray(), bytearray()  # (small on the 192k heap)
    t = 0
    for k in range(3000):
        v = c.tx(srv, t)
        up.append(v)
        if rng.below(10) == 0:
            t += 100
            continue
        s.rx(cli, v, t + 10)
        r = s.tx(cli, t + 10, v)
        dn.append(r)
        if rng.below(10):
            c.rx(srv, r, t + 20)
        t += 20
    for wave in (up, dn):
        last = -100
        nd = 0
        for k, v in enumerate(wave):
            pos = k % n
            q = (k // n) & 1
            if (v >> 6) & 1 != q:
                nd += 1
                assert 2 * x + 1 <= pos < n - x - 1 and k - last > 2 * x + 1, (k, pos, last)
                last = k
        assert nd >= 20
    assert c.meter(srv).rtt_median() == 20 and s.d_dropped > 0


def test_c_bit_spurious_d_not_multiplied():
    c = pm.PMEndpoint("client", pattern=1, n=16)
    srv = ("s", 1)
    for t in range(7):
        c.tx(srv, t)  # the D went out at t=5
    for t in range(7, 13):
        c.rx(srv, 0x80, t)
    c.rx(srv, 0xC0, 13)
    c.rx(srv, 0x80, 14)  # back and confirmed: sample
    assert c.meter(srv).samples() == [8]
    c.rx(srv, 0x80, 15)
    c.rx(srv, 0xC0, 16)  # a D while none of ours is out (a duplicate, reordering): no sample,
    c.rx(srv, 0x80, 17)  # and no reflection (Ds are not multiplied)
    assert c.meter(srv).rn == 1 and c.d_rx == 1
    assert c.peers[srv].d_pend and c.tx(srv, 17) == 0x80 and not c.peers[srv].d_pend  # held too long
    assert c.d_sent == 1


def test_events_carried_after_measurements():
    n = 8
    c = pm.PMEndpoint("client", pattern=0, n=n)
    srv = ("s", 1)
    t = 0
    for k in range(3 * n):
        v = c.tx(srv, t)
        assert v & 0x1F == 0 or k > n  # nothing to tell before a block closed and an RTT sample
        r = (v & 0x60)  # an echoing server without events
        if k % 4 != 3:  # lose one response in 4
            c.rx(srv, r, t + 120)
        t += 120
    v = c.tx(srv, t)
    lv, dv = pm.event_decode(v)
    assert lv == 3 and dv == 1  # 25 % loss, RTT 120 ms (>= 50, < 200)
    st = c.stats()
    f = st["peers"]["s:1"]
    assert f["event_levels"] is None  # that server sent no Event bits
    s = pm.PMEndpoint("server", pattern=0, n=n)
    s.rx(("c", 2), v, 0)
    assert s.stats()["peers"]["c:2"]["event_levels"] == [3, 1]
    assert f["blocks"] >= 1 and f["loss_pct"] > 20
    assert st["role"] == "client" and st["pattern"] == 0


def test_peer_table_bounded_and_bad_values():
    e = pm.PMEndpoint("server", max_peers=2)
    assert e.tx(("a", 1), 0) is not None
    assert e.tx(("b", 1), 0) is not None
    assert e.tx(("c", 1), 0) is None
    e.rx(("c", 1), 0x40, 0)
    assert e.overflow == 2
    e.rx(("a", 1), 300, 0)
    e.rx(("a", 1), -1, 0)
    e.rx(("a", 1), None, 0)
    m = e.meter(("a", 1))
    assert m.bad == 2 and m.absent == 1 and m.pkts == 0


def test_meter_pattern_switch_resets():
    m = Meter(8)
    for k in range(20):
        m.rx(0x40 if (k // 8) & 1 else 0, k)
    assert m.blocks == 2
    m.rx(0x80, 30)
    assert m.switches == 1 and m.blocks == 0 and m.pattern == 1


def test_tx_allocates_nothing():
    try:
        import gc
        import micropython  # noqa: F401
    except ImportError:
        return  # the heap check is for the board runtime
    for pat in (0, 1):
        for role in ("client", "server"):
            e = pm.PMEndpoint(role, pattern=pat, n=16)
            peer = ("10.0.0.1", 5683)
            e.tx(peer, 0)
            e.rx(peer, 0x40, 1)
            t = 2
            gc.collect()
            before = gc.mem_free()
            for k in range(200):
                v = e.tx(peer, t, 0x20)
                e.rx(peer, v ^ 0x40 if k % 5 == 0 else v, t + 1)
                t += 2
            used = before - gc.mem_free()
            assert used <= 64, (pat, role, used)
