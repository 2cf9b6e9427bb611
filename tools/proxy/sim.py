"""An in-memory network of sans-I/O cores (the desktop server, proxies, board clients) on a fake
clock: the proxy's logic tests and its bench run on it (deterministic, no sockets).

    net = Net()
    net.add(("10.0.0.1", 5683), Server(ServerCore(...)))   # adapts the server core to the contract
    net.add(("10.0.0.2", 5683), ProxyCore(...))
    net.add(("10.0.0.3", 5683), coap.client.Client(...))
    net.pump(); net.run(5000)

A datagram to a multicast address reaches every node whose core lists that group in `.groups`
(with group=(GRP_ADDR, GRP_PORT)); `drop(src, dst, data)` may lose any datagram, `delay(src, dst)`
may hold it that many ms. Every datagram delivered is kept in `net.wire` as (now, src, dst, data,
group) unless record=False.
"""
import heapq
import random

from coap import addr, cborenc, client
from coap import options as o

S = ("10.0.0.1", 5683)          # the origin server
P = ("10.0.0.2", 5683)          # the proxy adjacent to it
P2 = ("10.0.0.9", 5683)         # a second proxy (a chain)
GRP = ("233.252.0.1", 5683)
URI = "coap://sensor.example/r"


class Server:
    """Feeds a ServerCore through the one contract (receive/tick/take/next_deadline), whether its
    methods return their datagrams or queue them for take()."""

    def __init__(self, core):
        self.core = core
        self.q = []

    def _keep(self, r):
        if r:
            self.q.extend(r)

    def receive(self, data, src, now, group=None):
        self._keep(self.core.receive(data, src, now))

    def tick(self, now):
        self._keep(self.core.tick(now))

    def update(self, path, value, now, cf=None):
        self._keep(self.core.update(path, value, now, cf))

    def take(self):
        q, self.q = self.q, []
        t = getattr(self.core, "take", None)
        return q + t() if t is not None else q

    def next_deadline(self):
        return self.core.next_deadline()


class Net:
    def __init__(self, record=True):
        self.now = 0
        self.nodes = {}
        self.wire = []
        self.record = record
        self.drop = None
        self.delay = None
        self.sent = 0           # datagrams delivered (or dropped) so far
        self._q = []            # delayed datagrams: (due, seq, src, dst, data)
        self._seq = 0

    def add(self, where, core):
        self.nodes[where] = core
        return core

    def remove(self, where):
        return self.nodes.pop(where)

    def _deliver(self, src, dst, data):
        self.sent += 1
        d = self.delay(src, dst) if self.delay is not None else 0
        if d > 0:
            self._seq += 1
            heapq.heappush(self._q, (self.now + d, self._seq, src, dst, data))
            return
        self._arrive(src, dst, data)

    def _arrive(self, src, dst, data):
        raw = addr.parse_ip(dst[0])
        if addr.is_multicast(raw):
            for where, core in list(self.nodes.items()):
                if dst in (getattr(core, "groups", None) or ()):
                    if self.drop is not None and self.drop(src, where, data):
                        continue
                    if self.record:
                        self.wire.append((self.now, src, where, data, dst))
                    core.receive(data, src, self.now, dst)
            return
        core = self.nodes.get(dst)
        if self.drop is not None and self.drop(src, dst, data):
            return
        if self.record:
            self.wire.append((self.now, src, dst, data, None))
        if core is not None:
            core.receive(data, src, self.now, None)

    def pump(self, limit=1000000):
        """Deliver until every node is quiet."""
        for _ in range(limit):
            moved = False
            for where, core in list(self.nodes.items()):
                for data, dst in core.take():
                    moved = True
                    self._deliver(where, dst, data)
            if not moved:
                return
        raise RuntimeError("the network does not settle")

    def run(self, ms):
        """Advance the clock by ms, running every timer and delayed delivery on its time."""
        end = self.now + ms
        while True:
            due = [d for d in (c.next_deadline() for c in self.nodes.values()) if d is not None]
            d = min(due) if due else None
            if self._q and (d is None or self._q[0][0] <= d):
                if self._q[0][0] > end:
                    break
                self.now = max(self.now, self._q[0][0])
                while self._q and self._q[0][0] <= self.now:
                    t, k, src, dst, data = heapq.heappop(self._q)
                    self._arrive(src, dst, data)
                self.pump()
                continue
            if d is None or d > end:
                break
            self.now = max(self.now, d)
            for core in list(self.nodes.values()):
                nd = core.next_deadline()
                if nd is not None and nd <= self.now:
                    core.tick(self.now)
            self.pump()
        self.now = end
        self.pump()

    def between(self, src, dst, since=0):
        """The datagrams delivered from src to dst (dst may be a group), as (now, data)."""
        return [(t, d) for t, s, w, d, g in self.wire[since:] if s == src and (w == dst or g == dst)]


class Sink:
    """A board observation's callbacks: what it delivered, why it ended."""

    def __init__(self):
        self.got = []
        self.ended = []

    def __call__(self, payload, cf, v, via):
        self.got.append((bytes(payload) if payload is not None else None, cf, v, via))

    def end(self, ob, why):
        self.ended.append(why)


def _quiet(*a):
    pass


class World:
    """The server S (/r group-observed from the first registration, CBOR "1234"; /t traditional),
    the proxy P (its name table maps sensor.example to S), optionally a second proxy P2 in front
    of it, and n board client cores 10.0.1.k; w.cs = [(address, core, Sink)]."""

    def __init__(self, n=2, chain=False, proxy=None, server=None, resources=None, seed=2, record=True):
        from tools.proxy.core import ProxyCore, ProxyConfig
        from tools.server.core import ServerCore, Config
        from tools.server.resources import Resource
        self.net = Net(record)
        res = resources or [Resource("/r", cborenc.dumps("1234"), 60, group_after=1, writable=True),
                            Resource("/t", "0", 0, writable=True)]
        scfg = dict(srv_addr=S[0], grp=GRP, notify_interval_ms=0)
        scfg.update(server or {})
        self.srv = self.net.add(S, Server(ServerCore(res, Config(**scfg), rng=random.Random(1))))
        pcfg = dict(ack_delay_ms=500)
        pcfg.update(proxy or {})
        self.p = self.net.add(P, ProxyCore(ProxyConfig(**pcfg), rng=random.Random(seed),
                                           resolve={"sensor.example": (S[0], None)}.get))
        self.p2 = None
        if chain:
            self.p2 = self.net.add(P2, ProxyCore(ProxyConfig(next_hop=P, **pcfg), rng=random.Random(seed + 1)))
        self.cs = []
        for i in range(n):
            c = client.Client(rng=random.Random(10 + i), log=_quiet, token_len=1 + i % 8)
            self.cs.append((("10.0.%d.%d" % (1 + i // 250, 1 + i % 250), 5683), c, Sink()))
            self.net.add(self.cs[-1][0], c)

    def observe(self, i, uri=URI, via=None, pump=True):
        where, c, s = self.cs[i]
        ob = c.observe(via or (self.p2 and P2) or P, [(o.PROXY_URI, uri)], s, self.net.now, s.end)
        if pump:
            self.net.pump()
        return ob

    def update(self, path, value):
        self.srv.update(path, value, self.net.now)
        self.net.pump()
