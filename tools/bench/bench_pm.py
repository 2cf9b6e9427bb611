"""PM accuracy (issue 5, 16): through tools.relay on 127.0.0.1 with added one-way delay 20/50/100 ms
and loss 0/1/5/10 % on each direction, for pattern 0 (Q+S) and pattern 1 (C): RTT and loss measured
from the PM option at the client, the server and the relay (probe), against the truth:
  true RTT  = the median request->response time the clients' application measured in the same run
              (the relay's delay as it really was: its timers run late on a loaded machine; the
              base RTT through an unimpaired relay is printed for reference);
  true loss = what the relay dropped on that direction.
Targets, for EVERY seed of every condition: RTT within 10 %, loss within 1 percentage point, over
>= 2000 packets per direction. Each condition runs SEEDS times (5; --seeds N), each run with its own
seeded relay loss; round k runs all conditions with their k-th seed side by side.

Pattern 0 clients send one request at a time (NSTART=1: the S bit's period is then the RTT; several
clients per condition keep the run short); the server and the relay count an S period as an RTT
only within the client's announced delay level (coap.pmmeasure: idle periods are upper bounds).
Pattern 1: three flows per condition, each a request every 1 ms (dense: several packets per RTT, the
D-to-D period is the RTT at every vantage point; one D chain per flow, and each break of a chain costs
t_max + t_max/8, so t_max is set to 3 RTT + 100 ms as a user would).
Sparse rows (pattern 0 and 1, NSTART=1, delay 20/50 ms, loss 0/5/10 %): one packet per RTT each way.
There the C bit's D cannot be reflected in time (coap.pm: D placement rule), so only the client
measures RTT from C (its D out -> D back, request -> echo); the server and the relay must take NO
D-to-D sample (a wrong one would be a few request cycles): "none" is the expected figure for them.
All conditions share one asyncio loop: about 2 minutes per seed.
  python tools/bench/bench_pm.py [--quick] [--seeds N] [--patterns 0,1] [--dense] [-v]
  (--dense: no sparse rows; -v: every seed's figures)
"""
import asyncio
import math
import sys

from tools.bench.pm_net import Client, Server
from tools.relay import Relay, UP, DOWN

DELAYS = (20, 50, 100)
LOSSES = (0, 1, 5, 10)
PATTERNS = (0, 1)
SPARSE_DELAYS = (20, 50)
SPARSE_LOSSES = (0, 5, 10)
N = 64
INTERVAL = 1         # ms between pattern-1 requests
DENSE_CLIENTS = 3    # pattern-1 dense flows per condition (each a request every INTERVAL ms)
PACKETS = 2600       # requests per condition and flow (>= 2000 per direction survive in closed blocks)
SEEDS = 5            # runs per condition (each with its own seeded loss)
RING = 8192          # RTT samples kept per flow: all of a run (the median over the same time as the truth's)
TARGET_S = 30.0      # wanted duration of a pattern-0 condition (sets the number of clients)


def median(xs):
    s = sorted(xs)
    if not s:
        return None
    k = len(s)
    return s[k // 2] if k & 1 else (s[k // 2 - 1] + s[k // 2]) / 2.0


def pooled_loss(meters):
    exp = sum(m.blocks * m.n for m in meters)
    lost = sum(m.lost for m in meters)
    return (100.0 * lost / exp if exp else None), exp


def t_max_for(delay):
    """t_max a few times the path's RTT (coap.pm: each break of a C-bit D chain waits t_max + t_max/8)."""
    return 3 * (2 * delay) + 100


async def condition(loop, pattern, delay, loss, seed, packets, sem, sparse=False):
    async with sem:
        t_max = t_max_for(delay)
        srv = Server(loop, pattern, N, t_max=t_max, ring=RING)
        relay = Relay(srv.addr, loss=loss, delay=delay, seed=seed, n=N, t_max=t_max, ring=RING).start(loop)
        rtt_est = 2 * delay + 1
        if pattern == 0 or sparse:
            k = max(1, int(math.ceil(packets * rtt_est / 1000.0 / TARGET_S)))
            # whole blocks per client (+ N/4 to close the last one; spare ones for the responses lost
            # on the way up and down): only closed blocks are measured
            per = int(math.ceil(packets / float(k) / (N * 0.85))) * N + N // 4
            clients = [Client(loop, relay.addr, pattern, N, t_max=t_max, count=per, timeout=(2 * rtt_est + 50) / 1000.0,
                              ring=RING) for _ in range(k)]
        else:
            # one D chain per flow, each break costs t_max + t_max/8: DENSE_CLIENTS flows in parallel
            clients = [Client(loop, relay.addr, 1, N, t_max=t_max, count=packets, interval=INTERVAL,
                              timeout=(2 * rtt_est + 50) / 1000.0, ring=RING) for _ in range(DENSE_CLIENTS)]
        for c in clients:
            c.start()
        await asyncio.gather(*[c.done for c in clients])
        await asyncio.sleep((rtt_est + 50) / 1000.0)  # let the last responses land
        cm = [c.pm.meter(c.target) for c in clients]
        sm = [srv.pm.peers[p].meter for p in srv.pm.peers]
        rup = [f.meters[UP] for f in relay.flows.values()]
        rdn = [f.meters[DOWN] for f in relay.flows.values()]
        flows = list(relay.flows.values())
        true_up = 100.0 * sum(f.dropped[UP] for f in flows) / max(1, sum(f.rx[UP] for f in flows))
        true_dn = 100.0 * sum(f.dropped[DOWN] for f in flows) / max(1, sum(f.rx[DOWN] for f in flows))
        res = {
            "pattern": pattern, "delay": delay, "loss": loss, "seed": seed, "clients": len(clients), "sparse": sparse,
            "t_max": t_max,
            "cli_n": sum(m.rn for m in cm), "srv_n": sum(m.rn for m in sm), "rel_n": sum(m.rn for m in rup + rdn),
            "true_up": true_up, "true_dn": true_dn,
            "cli_loss": pooled_loss(cm), "srv_loss": pooled_loss(sm),
            "rel_up": pooled_loss(rup), "rel_dn": pooled_loss(rdn),
            "cli_rtt": median([s for m in cm for s in m.samples()]),
            "srv_rtt": median([s for m in sm for s in m.samples()]),
            "rel_rtt": median([s for m in rup + rdn for s in m.samples()]),
            "app_rtt": median([r for c in clients for r in c.app_rtt]),
        }
        for c in clients:
            c.close()
        relay.close()
        srv.close()
        return res


async def base_rtt(loop, stop):
    srv = Server(loop, 0, N)
    relay = Relay(srv.addr, n=N).start(loop)
    samples = []
    while not stop.is_set():
        c = Client(loop, relay.addr, 0, N, count=200, timeout=0.2)
        c.start()
        await c.done
        samples += c.app_rtt
        c.close()
        await asyncio.sleep(0.05)
    relay.close()
    srv.close()
    return median(samples)


def conditions(delays, losses, patterns, sparse=True):
    """(pattern, delay, loss, sparse) of every row, in table order."""
    out = [(pat, d, lo, False) for pat in patterns for d in delays for lo in losses]
    if sparse:
        out += [(pat, d, lo, True) for pat in PATTERNS for d in SPARSE_DELAYS for lo in SPARSE_LOSSES]
    return out


def seed_of(cond, k):
    """The relay's loss seed for run k of a condition (distinct per condition and run)."""
    pat, d, lo, sp = cond
    return 100000 * (k + 1) + 1000 * pat + 10 * d + lo + (500 if sp else 0)


async def main_async(packets, conds, seeds=SEEDS):
    """Every condition `seeds` times: round k runs all conditions with their k-th seed side by side
    (the same load in each round), the rounds one after the other."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    base_task = loop.create_task(base_rtt(loop, stop))
    results = []
    for k in range(seeds):
        sem0 = asyncio.Semaphore(100)
        sem1 = asyncio.Semaphore(1)   # pattern-1 dense conditions are the busy ones: one at a time
        jobs = [condition(loop, c[0], c[1], c[2], seed_of(c, k), packets, sem1 if c[0] and not c[3] else sem0,
                          sparse=c[3]) for c in conds]
        results += await asyncio.gather(*jobs)
    stop.set()
    base = await base_task
    return base, results


def fmt(x, spec="%.1f", nf="-"):
    return nf if x is None else spec % x


def judge(r, base):
    """(RTT error %, max |loss error| pp, packets, ok) of one run against the truth."""
    true_rtt = r["app_rtt"]
    if r["sparse"] and r["pattern"] == 1:
        # the client's figure; the observers must have taken no sample at all
        err = abs(r["cli_rtt"] - true_rtt) / true_rtt * 100 if r["cli_rtt"] is not None else 999
        if r["srv_n"] or r["rel_n"]:
            err = 999
    else:
        err = max(abs(x - true_rtt) / true_rtt * 100 if x is not None else 999
                  for x in (r["cli_rtt"], r["srv_rtt"], r["rel_rtt"]))
    pairs = ((r["cli_loss"], r["true_dn"]), (r["srv_loss"], r["true_up"]),
             (r["rel_up"], r["true_up"]), (r["rel_dn"], r["true_dn"]))
    dpp = max(abs(m[0] - t) if m[0] is not None else 99 for m, t in pairs)
    pkts = min(m[1] for m, t in pairs)
    return err, dpp, pkts, err <= 10 and dpp <= 1.0 and pkts >= 2000


def table(base, results, conds, verbose=False):
    """One row per condition over its seeds: the worst RTT error and loss error of any seed."""
    ok_all = True
    print("  base RTT through an unimpaired relay: %.2f ms (median, concurrent); trueRTT: what the"
          " application measured through the impaired relay (median over the seeds)" % base)
    hdr = ("pat", "delay", "loss", "trueRTT", "RTT cli", "srv", "relay", "max err%", "true up/dn %",
           "max|dpp|", "min pkts", "samples c/s/r", "seeds ok")
    line = "  %3s %5s %4s %7s %7s %7s %7s %8s %12s %8s %8s %14s %8s"
    print(line % hdr)
    print("  (RTT: the median over the seeds of each vantage point's median; err, dpp: the worst seed;"
          " samples: the fewest of any seed)")
    sparse_hdr = False
    for c in conds:
        rs = [r for r in results if (r["pattern"], r["delay"], r["loss"], r["sparse"]) == c]
        if c[3] and not sparse_hdr:
            sparse_hdr = True
            print("  sparse flows (NSTART=1, one packet per RTT each way); pattern 1: RTT from C at the client only,"
                  " 'none' expected at the server and the relay (no D-to-D sample)")
            print(line % hdr)
        js = [judge(r, base) for r in rs]
        ok = all(j[3] for j in js)
        ok_all = ok_all and ok
        nf = "none" if c[3] and c[0] == 1 else "-"

        def med(key):
            v = [r[key] for r in rs if r[key] is not None]
            return median(v) if v else None
        print(line % (c[0], c[1], c[2], fmt(med("app_rtt")), fmt(med("cli_rtt")), fmt(med("srv_rtt"), nf=nf),
                      fmt(med("rel_rtt"), nf=nf), fmt(max(j[0] for j in js)),
                      "%.2f/%.2f" % (median([r["true_up"] for r in rs]), median([r["true_dn"] for r in rs])),
                      fmt(max(j[1] for j in js), "%.2f"), min(j[2] for j in js),
                      "%d/%d/%d" % (min(r["cli_n"] for r in rs), min(r["srv_n"] for r in rs), min(r["rel_n"] for r in rs)),
                      "%d/%d" % (sum(1 for j in js if j[3]), len(js))))
        if verbose or not ok:
            for r, j in zip(rs, js):
                print("      seed %-7d rtt %s/%s/%s (true %s) err %.1f%% loss cli %s srv %s rel %s/%s (true %.2f/%.2f) %s" % (
                    r["seed"], fmt(r["cli_rtt"]), fmt(r["srv_rtt"]), fmt(r["rel_rtt"]), fmt(r["app_rtt"]), j[0],
                    fmt(r["cli_loss"][0], "%.2f"), fmt(r["srv_loss"][0], "%.2f"), fmt(r["rel_up"][0], "%.2f"),
                    fmt(r["rel_dn"][0], "%.2f"), r["true_up"], r["true_dn"], "ok" if j[3] else "NO"))
    sp = [r for r in results if r["sparse"] and r["pattern"] == 1]
    if sp:
        print("  sparse pattern 1: client RTT samples per run (one D per t_max + t_max/8 per client): %d..%d; "
              "server/relay samples: %d" % (min(r["cli_n"] for r in sp), max(r["cli_n"] for r in sp),
                                            sum(r["srv_n"] + r["rel_n"] for r in sp)))
    print("  targets, every seed: RTT within 10 %% of true, loss within 1 pp of true, >= 2000 packets: %s"
          % ("ALL MET" if ok_all else "NOT ALL MET"))
    return ok_all


def cost():
    from tools.bench.run import run_mp, run_cpy
    mp = run_mp("mp_pm.py")
    cp = run_cpy("mp_pm.py")
    print("== pm: PMEndpoint cost per message (tx or rx, after warm-up)")
    print("  %-28s %12s %14s %16s %12s" % ("", "unix port us", "heap B/msg", "B (1 peer)", "CPython us"))
    for role in ("client", "server"):
        for pat in (0, 1):
            k = "%s%d" % (role, pat)
            print("  %-28s %12s %14s %16s %12s" % ("%s, pattern %d" % (role, pat), mp.get(k + "_us", "?"),
                                                  mp.get(k + "_alloc_bytes", "?"),
                                                  mp.get(k + "_endpoint_one_peer_bytes", "?"), cp.get(k + "_us", "?")))
    print("  target: no heap allocation per message on the board path")


def run(quick=False):
    import time
    cost()
    t0 = time.monotonic()
    argv = sys.argv[1:]
    seeds = int(argv[argv.index("--seeds") + 1]) if "--seeds" in argv else (1 if quick else SEEDS)
    packets = 800 if quick else PACKETS
    pats = tuple(int(x) for x in argv[argv.index("--patterns") + 1].split(",")) if "--patterns" in argv else PATTERNS
    conds = conditions(DELAYS, LOSSES, pats, sparse="--dense" not in argv)
    print("== pm: PM-measured RTT and loss through tools.relay (N=%d, pattern 0: NSTART=1 clients, "
          "pattern 1: %d flows, a request every %d ms each; t_max 3 RTT + 100 ms), %d seeds per condition"
          % (N, DENSE_CLIENTS, INTERVAL, seeds))
    base, results = asyncio.run(main_async(packets, conds, seeds))
    ok = table(base, results, conds, verbose="-v" in argv)
    print("  (%.0f s)" % (time.monotonic() - t0))
    return ok


if __name__ == "__main__":
    run("--quick" in sys.argv)
