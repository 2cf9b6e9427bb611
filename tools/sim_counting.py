"""Rough-counting simulator (draft -04 §5, Appendix B): N simulated clients (1..100,000) draw
per B.1/B.2 on each notification carrying MRFD and send confirmations (NON, Observe 0, empty
MRFD, No-Response 26) that the server's REAL code (tools.server.core.ServerCore and its
RoughCounter) receives as datagrams; a fake clock runs the rounds. Loss applies to the
multicast notification reaching each client and to each confirmation.

  python tools/sim_counting.py --n 1000 --loss 0.1 --rounds 8 --png counting.png
"""
import argparse
import random

from coap import msg, feedback
from coap import options as o
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource

GRP = ("224.0.1.187", 5683)
LEISURE_MS = 5000


def simulate(n, loss=0.0, rounds=5, m=32, d=4, start=None, seed=1, wait_ms=LEISURE_MS + 1000, max_notifs=400):
    """Run `rounds` counting rounds with n live clients; the server's counter starts at
    `start` registrations (default n). Returns one dict per round."""
    rng = random.Random(seed)
    res = Resource("/r", "0", group_after=1, writable=True)
    core = ServerCore([res], Config(grp=GRP, srv_addr="192.0.2.1", notify_interval_ms=0, m=m, d=d,
                                    wait_ms=wait_ms, dedup_max=1000), rng=random.Random(seed + 1))
    core.receive(msg.encode(msg.NON, msg.GET, 1, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]), ("192.0.2.100", 5683), 0)
    core.take()
    g = res.group
    g.counter.add((n if start is None else start) - 1)   # the registrations the server has counted
    now, mid, notifs, out = 1000, 2, 0, []
    while len(out) < rounds and notifs < max_notifs and res.group is g:
        now += 1000
        core.update("/r", str(notifs), now)
        sent = core.take()
        notifs += 1
        note = msg.decode(sent[0][0])
        if not note.has(o.MRFD):
            continue
        q = note.uint(o.MRFD)
        arrivals = []
        for c in range(n):                 # every live client draws (B.1/B.2)
            if loss and rng.random() < loss:
                continue                   # notification lost on the way to this client
            if feedback.respond_to(q, rng):    # the board's own draw (Appendix B.2)
                if loss and rng.random() < loss:
                    continue               # confirmation lost
                arrivals.append((rng.random() * LEISURE_MS, c))
        arrivals.sort()
        for t, c in arrivals:
            mid = (mid + 1) & 0xFFFF
            req = feedback.request(mid, b"\x02", [(o.URI_PATH, "r")])   # the board's own confirmation (§5.1)
            core.receive(req, ("10.%d.%d.%d" % (c >> 16 & 255, c >> 8 & 255, c & 255), 5683), now + int(t))
        core.take()
        now += wait_ms
        core.tick(now)
        cancelled = core.take()
        h = g.counter.history[-1]
        out.append({"round": h[0], "n": n, "N": h[1], "Q": h[2], "R": h[3], "E": h[4], "count": h[5],
                    "err": (h[5] - n) / n, "notifications": notifs, "cancelled": bool(cancelled)})
    return out


def plot(series, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, rows in series:
        ax.plot([0] + [r["round"] for r in rows], [rows[0]["N"] / rows[0]["n"]] + [r["count"] / r["n"] for r in rows],
                marker="o", label=label)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("counting round")
    ax.set_ylabel("estimate / true number of clients")
    ax.set_title("Rough counting (draft -04 §5.2, B.3)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, action="append", help="live clients (repeat; default 10, 1000, 100000)")
    p.add_argument("--loss", type=float, action="append", help="loss rate 0..1 (repeat; default 0 and 0.1)")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--m", type=int, default=32, help="M, confirmations wanted per round")
    p.add_argument("--d", type=float, default=4, help="D, dampener")
    p.add_argument("--start", type=float, default=1.0, help="server counter at start, as a multiple of N (1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--png", default="sim_counting.png")
    a = p.parse_args(argv)
    series = []
    for n in a.n or [10, 1000, 100000]:
        if not 1 <= n <= 100000:
            p.error("N must be 1..100000")
        for loss in a.loss or [0.0, 0.1]:
            rows = simulate(n, loss, a.rounds, a.m, a.d, max(1, int(round(n * a.start))), a.seed)
            print("N=%d loss=%.0f%% M=%d D=%g start COUNT=%d" % (n, loss * 100, a.m, a.d, rows[0]["N"] if rows else 0))
            for r in rows:
                print("  round %d: Q=%-2d R=%-4d E=%-7d estimate %9.1f  truth %d  error %+6.1f%%%s" % (
                    r["round"], r["Q"], r["R"], r["E"], r["count"], n, 100 * r["err"],
                    "  (cancelled)" if r["cancelled"] else ""))
            series.append(("N=%d loss %d%%" % (n, loss * 100), rows))
    if a.png:
        plot([s for s in series if s[1]], a.png)
        print("plot written to", a.png)


if __name__ == "__main__":
    main()
