"""Bench: one resource update through one forward proxy (draft §8) with 1/10/100/1000 clients behind it.

The server sends ONE multicast notification whatever the number of clients (its side stays flat);
the proxy turns it into one unicast notification per client (linear). Run in one process on the
in-memory network (tools/proxy/sim.py: the real server core, proxy core and board client cores, no
sockets), so the figures are counts (datagrams, bytes, Python function calls per update, which do not
depend on the machine's load) and CPU ratios: for each N the rounds of updates are interleaved with the
other N's, per-update CPU is the median over the rounds, and it is reported as a ratio to the 1-client
cost (linear: the ratio grows like N; small: the cost per client). The server's own CPU per update is
a few tens of microseconds: beside a 1000-client world its timing is cache noise, so its flatness is
shown by its call count.
"""
import sys
import gc
import statistics
import time

from tools.proxy import sim

NS = (1, 10, 100, 1000)
ROUNDS = 5
UPDATES = 10


class Calls:
    """Counts the Python function calls made while active (sys.setprofile): a machine-independent cost."""

    def __init__(self):
        self.n = 0
        self.on = False

    def _prof(self, frame, event, arg):
        if event == "call" or event == "c_call":
            self.n += 1

    def run(self, fn, *a):
        if not self.on:
            return fn(*a)
        sys.setprofile(self._prof)
        try:
            return fn(*a)
        finally:
            sys.setprofile(None)


class Meter:
    """Counts what one node sends, the CPU it spends and its calls (receive, tick, take)."""

    def __init__(self, core):
        self.core = core
        self.cpu = 0.0
        self.dgrams = 0
        self.bytes = 0
        self.mc = 0
        self.calls = Calls()

    def receive(self, data, src, now, group=None):
        t = time.perf_counter()
        self.calls.run(self.core.receive, data, src, now, group)
        self.cpu += time.perf_counter() - t

    def tick(self, now):
        t = time.perf_counter()
        self.calls.run(self.core.tick, now)
        self.cpu += time.perf_counter() - t

    def take(self):
        t = time.perf_counter()
        out = self.calls.run(self.core.take)
        self.cpu += time.perf_counter() - t
        for buf, dst in out:
            self.dgrams += 1
            self.bytes += len(buf)
            if dst == sim.GRP:
                self.mc += 1
        return out

    def next_deadline(self):
        return self.core.next_deadline()

    @property
    def groups(self):
        return getattr(self.core, "groups", None)

    def reset(self, count=False):
        self.cpu = 0.0
        self.dgrams = self.bytes = self.mc = 0
        self.calls.n = 0
        self.calls.on = count


def setup(n):
    w = sim.World(n=n, record=False)
    for i in range(n):
        w.observe(i, pump=False)
        if i % 50 == 49:
            w.net.pump()
    w.net.pump()
    w.net.run(1000)   # every informative response acknowledged
    assert sum(len(t.observers) for t in w.p.targets.values()) == n, "not every client registered"
    pm = w.net.nodes[sim.P] = Meter(w.p)
    sm = w.net.nodes[sim.S] = Meter(w.srv)
    return w, pm, sm


def one_round(w, pm, sm, k, count=False):
    """UPDATES updates; per update: (proxy datagrams, proxy bytes, proxy CPU s, server datagrams, server
    multicast datagrams, server CPU s, proxy calls, server calls)."""
    pm.reset(count)
    sm.reset(count)
    for u in range(UPDATES):
        t = time.perf_counter()
        sm.calls.run(w.srv.update, "/r", b"\x65v%04d" % (k * UPDATES + u), w.net.now)  # the server's work
        sm.cpu += time.perf_counter() - t
        w.net.pump()
        w.net.run(50)
    return (pm.dgrams / UPDATES, pm.bytes / UPDATES, pm.cpu / UPDATES, sm.dgrams / UPDATES, sm.mc / UPDATES,
            sm.cpu / UPDATES, pm.calls.n / UPDATES, sm.calls.n / UPDATES)


def measure():
    worlds = {n: setup(n) for n in NS}
    res = {n: [] for n in NS}
    for k in range(ROUNDS):
        for n in NS:  # interleaved: the machine's noise falls on every N alike
            gc.collect()
            gc.disable()  # a collection triggered by the proxy's allocations would land on whoever runs then
            try:
                res[n].append(one_round(*worlds[n], k))
            finally:
                gc.enable()
    calls = {n: one_round(*worlds[n], ROUNDS, count=True) for n in NS}
    out = {}
    for n in NS:
        rows = res[n]
        got = [c.stats.delivered for a, c, s in worlds[n][0].cs]
        out[n] = dict(dgrams=rows[-1][0], bytes=rows[-1][1], cpu=statistics.median(r[2] for r in rows),
                      srv_dgrams=rows[-1][3], srv_mc=rows[-1][4], srv_cpu=statistics.median(r[5] for r in rows),
                      delivered_min=min(got), calls=calls[n][6], srv_calls=calls[n][7])
    return out


def run():
    print("== proxy: one update through one proxy, N clients behind it (in-memory network, %d rounds x %d "
          "updates, interleaved)" % (ROUNDS, UPDATES))
    print("  %-6s %9s %6s %8s %10s %10s %10s %10s %11s %8s" % (
        "N", "proxy dg", "dg/N", "bytes/N", "CPU x N=1", "per client", "calls", "calls/N", "server dg", "calls"))
    try:
        r = measure()
    except Exception as e:  # a figure missing, not a crash of `make bench`
        print("  failed: %r" % (e,))
        return
    base = r[1]["cpu"]
    for n in NS:
        x = r[n]
        print("  %-6d %9.1f %6.3f %8.1f %10.1f %10.2f %10.0f %10.1f %6.1f (%d) %8.0f" % (
            n, x["dgrams"], x["dgrams"] / n, x["bytes"] / n, x["cpu"] / base, x["cpu"] / base / n,
            x["calls"], x["calls"] / n, x["srv_dgrams"], x["srv_mc"], x["srv_calls"]))
    print("  (per update; CPU: median of %d interleaved rounds as a ratio to N=1, 'per client' = ratio / N; calls: "
          "Python calls counted; server dg: sent (multicast))" % ROUNDS)
    print("  target: proxy datagrams = N, CPU and calls linear in N; server flat: 1 multicast, same calls")
    print("  every client received every update: %s" % all(r[n]["delivered_min"] >= ROUNDS * UPDATES for n in NS))


if __name__ == "__main__":
    run()
