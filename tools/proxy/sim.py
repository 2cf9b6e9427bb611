"""An in-memory network of sans-I/O cores (the desktop server, proxies, board clients) on a fake
clock: the proxy's logic tests and its bench run on it (deterministic, no sockets).

    net = Net()
    net.add(("10.0.0.1", 5683), Server(ServerCore(...)))   # adapts the server core to the contract
    net.add(("10.0.0.2", 5683), ProxyCore(...))
    net.add(("10.0.0.3", 5683), coap.client.Client(...))
    net.pump(); net.run(5000)

A datagram to a multicast address reaches every node whose core lists that group in `.groups`
(with group=(GRP_ADDR, GRP_PORT)); `drop(src, dst, data)` may lose any datagram. Every datagram
delivered is kept in `net.wire` as (now, src, dst, data, group) unless record=False.
"""
from coap import addr


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
        self.sent = 0           # datagrams delivered (or dropped) so far

    def add(self, where, core):
        self.nodes[where] = core
        return core

    def remove(self, where):
        return self.nodes.pop(where)

    def _deliver(self, src, dst, data):
        self.sent += 1
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
        """Advance the clock by ms, running every timer on its time."""
        end = self.now + ms
        while True:
            due = [d for d in (c.next_deadline() for c in self.nodes.values()) if d is not None]
            d = min(due) if due else None
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
