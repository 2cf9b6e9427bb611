"""The proxy core's fuzz target and seed corpus (tools/proxy/core.py).

ProxyTarget: one long-lived ProxyCore (rebuilt every `reset` inputs) with live state from the
in-memory network (tools/proxy/sim.World): a group observation with two clients behind it (the
proxy joined GRP), a traditional one, a registration and an ordinary request waiting upstream.
An input is a control byte then a datagram: ctl & 3 the source (the server, client 1, client 2, a
stranger), ctl & 4 it came on the group socket, ctl >> 6 the time jump (0, 10 ms, 5 s, 300 s).
Invariants: no internal error, everything the proxy sends decodes, the groups it wants joined are
exactly those of its live group observations and ticket targets (none leaked), every target has a live
upstream (or is a live §9 ticket target / relay, tools/proxy/ticket.py, opaque.py) and someone
observing or waiting for it.
"""
from coap import cbor, cborenc, client, cose, msg
from coap import options as o
from tools.fuzz.targets import CoreTarget


def _world():
    from tools.proxy import sim
    w = sim.World(n=3, proxy=dict(con_every=3, max_silence_ms=20000), record=False)
    w.observe(0)
    w.observe(1)
    w.observe(2, "coap://10.0.0.1/t")
    w.update("/r", b"\x645678")
    w.update("/t", b"1")
    return w


class ProxyTarget(CoreTarget):
    def __init__(self, reset=2000):
        CoreTarget.__init__(self, reset)
        self.p = None

    def _new(self):
        w = _world()
        self.p = w.p
        self.now = w.net.now + 1
        from tools.proxy import sim
        self.srcs = (sim.S, w.cs[0][0], w.cs[1][0], ("192.0.2.77", 40000))
        self.grp = next(iter(self.p.groups))
        # a registration of a fresh client and an ordinary request stay waiting upstream
        self.p.receive(msg.encode(msg.CON, msg.GET, 4242, b"\x42", [(o.OBSERVE, 0), (o.PROXY_URI, "coap://10.0.0.1/u")]),
                       ("192.0.2.78", 5683), self.now)
        self.p.receive(msg.encode(msg.NON, msg.PUT, 4243, b"\x43", [(o.PROXY_URI, "coap://sensor.example/t")], b"9"),
                       ("192.0.2.78", 5683), self.now)
        self.p.take()
        self.base = self.p.stats["errors"]

    def _feed(self, ctl, datagram):
        p = self.p
        p.receive(datagram, self.srcs[ctl & 3], self.now, self.grp if ctl & 4 else None)
        if self.k % 4 == 0:
            p.tick(self.now)
        for buf, dest in p.take():
            msg.decode(buf)
        assert p.stats["errors"] == self.base, "proxy internal error"
        want = {}
        for ob in p.up.obs:
            if ob.grp is not None:
                want[ob.grp] = want.get(ob.grp, 0) + 1
        for t in p.targets.values():
            if t.ticket is not None:
                want[t.ticket.grp] = want.get(t.ticket.grp, 0) + 1
        assert p.groups == want, "group memberships %r != live group observations %r" % (p.groups, want)
        for t in p.targets.values():
            if t.up is None:  # §9: a ticket target (the proxy listens) or a relay (opaque)
                x = t.ticket or t.relay
                assert x is not None and not x.over, "an ended ticket target or relay still listed"
                assert t.observers or t.relay is not None and (t.relay.waiting or t.relay.tx is not None), \
                    "a ticket target or relay nobody observes or waits for (a leaked observation)"
                continue
            assert t.up.state != client.ENDED, "a target without a live upstream observation"
            assert t.observers or t.waiting, "a target nobody observes or waits for (a leaked observation)"


def corpus():
    """Seeds: what the world's own traffic looks like (the proxy's tokens and Message IDs are
    deterministic), each prefixed with a control byte for its source."""
    from tools.proxy import sim
    w = _world()
    srcs = {sim.S: 0, w.cs[0][0]: 1, w.cs[1][0]: 2}
    w.net.record = True
    w.observe(0)                       # a re-registration: the forwarded request and the answers
    w.update("/r", b"\x64abcd")
    w.update("/t", b"2")
    w.cs[1][1].cancel(w.cs[1][1].obs[0], w.net.now, rst=True)
    w.update("/r", b"\x64efgh")
    w.net.run(30000)
    out = []
    for t, src, dst, data, g in w.net.wire:
        if dst == sim.P or (g is not None and src == sim.S):
            out.append(bytes([srcs.get(src, 3) | (4 if g else 0)]) + data)
    out += [b"\x01" + msg.encode(msg.CON, msg.GET, 9, b"\x01", [(o.PROXY_URI, u)])
            for u in ("coap://sensor.example/t", "coaps://x/y", "coap://[::1/r", "coap://unknown.example/")]
    out += [b"\x02" + msg.encode(msg.CON, msg.GET, 10, b"\x02", [(o.PROXY_SCHEME, "coap"), (o.URI_HOST, "sensor.example"),
                                                                (o.URI_PATH, "r"), (o.OBSERVE, 1)]),
            b"\x01" + msg.encode(msg.NON, msg.GET, 11, b"\x03", [(o.PROXY_URI, sim.URI), (o.MRFD, None),
                                                                (o.OBSERVE, 0), (o.NO_RESPONSE, 26)]),
            b"\x01" + msg.encode(msg.CON, msg.GET, 12, b"\x04", [(o.PROXY_URI, sim.URI), (16, 1)]),
            b"\x01\x40\x00\x00\x01", b"\x00\x60\x00\x12\x34", b"\x02\x70\x00\x00\x01", b"\x05"]
    return out + tickets(sim)


def tickets(sim):
    """§9 seeds: ticket requests (good, for a second group, bad tp_info, not protected), a protected
    registration (relayed as it is), the multicast notifications on the ticket's T and its end."""
    T = b"\x7b\x7b"

    def tp(grp=sim.GRP, srv=sim.S, tok=T, tp_id=1):
        return cborenc.dumps([tp_id, tok, cbor.Tag(260, bytes(int(x) for x in srv[0].split("."))), srv[1],
                              cbor.Tag(260, bytes(int(x) for x in grp[0].split("."))), grp[1]])
    grp_osc = cose.option(b"\x01\xf5", bytes.fromhex("57ab2e"), b"\x05", group=True)
    target = [(o.PROXY_SCHEME, "coap"), (o.URI_HOST, "sensor.example"), (o.OBSERVE, 0)]
    body = bytes(range(40))

    def ticket(mid, tok, ltmr, osc=grp_osc, src=1):
        return bytes([src]) + msg.encode(msg.CON, 0x05, mid, tok, target + [(9, osc), (o.LTMR, ltmr)], body)
    out = [ticket(20, b"\x4b", tp()), ticket(21, b"\x02", tp(), src=2), ticket(22, b"\x4c", tp(("233.252.0.9", 5683), tok=b"\x7c")),
           ticket(23, b"\x4d", b"\x85\x01"), ticket(24, b"\x4e", tp(tp_id=2)), ticket(25, b"\x4f", tp(("10.0.0.5", 5683))),
           ticket(26, b"\x50", tp(srv=("10.0.0.7", 5683))), ticket(27, b"\x51", tp(), osc=b"\x09\x00\x01"),
           b"\x01" + msg.encode(msg.CON, 0x05, 28, b"\x52", target + [(9, b"\x09\x00\x01")], body[:12])]
    for k, obs in enumerate((7, 8, None)):  # the server's protected multicast notifications on T, then its end
        out.append(b"\x04" + msg.encode(msg.NON, 0x45 if obs is not None else 0x44, 0x700 + k, T,
                                        ([(o.OBSERVE, obs)] if obs is not None else []) + [(9, grp_osc)], body))
    return out
