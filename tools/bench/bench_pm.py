"""PM accuracy (issue 5): through tools.relay on 127.0.0.1 with added one-way delay 20/50/100 ms and
loss 0/1/5/10 % on each direction, for pattern 0 (Q+S) and pattern 1 (C): RTT and loss measured from
the PM option at the client, the server and the relay (probe), against the truth:
  true RTT  = 2 x added delay + base RTT (median request->response time through an unimpaired relay,
              measured concurrently, so under the same load);
  true loss = what the relay dropped on that direction.
Targets: RTT within 10 %, loss within 1 percentage point, over >= 2000 packets per direction.

Pattern 0 clients send one request at a time (NSTART=1: the S bit's period is then the RTT; several
clients per condition keep the run short); pattern 1 clients send a request every 1 ms (dense: several
packets per RTT, the D-to-D period is the RTT at every vantage point).
Sparse rows (pattern 0 and 1, NSTART=1, delay 20/50 ms, loss 0/5/10 %): one packet per RTT each way.
There the C bit's D cannot be reflected within srtt/8 (coap.pm: D placement rule), so only the client
measures RTT from C (its D out -> D back, request -> echo); the server and the relay must take NO
D-to-D sample (a wrong one would be (x+1) request cycles): "none" is the expected figure for them.
All conditions share one asyncio loop: about 1.5 minutes.
  python tools/bench/bench_pm.py [--quick]
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
T_MAX = 600          # > the largest RTT here (about 200 ms); D-to-D periods longer are rejected
INTERVAL = 1         # ms between pattern-1 requests
PACKETS = 2600       # requests per condition (>= 2000 per direction survive in closed blocks)
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


async def condition(loop, pattern, delay, loss, seed, packets, sem, sparse=False):
    async with sem:
        srv = Server(loop, pattern, N, t_max=T_MAX)
        relay = Relay(srv.addr, loss=loss, delay=delay, seed=seed, n=N, t_max=T_MAX, ring=32).start(loop)
        rtt_est = 2 * delay + 1
        if pattern == 0 or sparse:
            k = max(1, int(math.ceil(packets * rtt_est / 1000.0 / TARGET_S)))
            # whole blocks per client (+ N/4 to close the last one; spare ones for the responses lost
            # on the way up and down): only closed blocks are measured
            per = int(math.ceil(packets / float(k) / (N * 0.85))) * N + N // 4
            clients = [Client(loop, relay.addr, pattern, N, t_max=T_MAX, count=per, timeout=(2 * rtt_est + 50) / 1000.0)
                       for _ in range(k)]
        else:
            clients = [Client(loop, relay.addr, 1, N, t_max=T_MAX, count=packets, interval=INTERVAL,
                              timeout=(2 * rtt_est + 50) / 1000.0)]
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
            "pattern": pattern, "delay": delay, "loss": loss, "clients": len(clients), "sparse": sparse,
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


async def main_async(packets, delays, losses, patterns, sparse=True):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    base_task = loop.create_task(base_rtt(loop, stop))
    sem0 = asyncio.Semaphore(100)
    sem1 = asyncio.Semaphore(2)   # pattern-1 conditions are the busy ones: two at a time
    jobs = []
    seed = 1
    for pat in patterns:
        for d in delays:
            for lo in losses:
                seed += 1
                jobs.append(condition(loop, pat, d, lo, seed, packets, sem1 if pat else sem0))
    if sparse:
        for pat in PATTERNS:
            for d in SPARSE_DELAYS:
                for lo in SPARSE_LOSSES:
                    seed += 1
                    jobs.append(condition(loop, pat, d, lo, seed, packets, sem0, sparse=True))
    results = await asyncio.gather(*jobs)
    stop.set()
    base = await base_task
    return base, results


def fmt(x, spec="%.1f", nf="-"):
    return nf if x is None else spec % x


def table(base, results):
    rows = []
    ok_all = True
    hdr = ("pat", "delay", "loss", "trueRTT", "RTT cli", "srv", "relay", "err%", "true up/dn %",
           "loss cli(dn)", "srv(up)", "relay up", "relay dn", "max|dpp|", "pkts", "ok")
    print("  base RTT through the unimpaired relay: %.2f ms (median, concurrent)" % base)
    line = "  %3s %5s %4s %7s %7s %7s %7s %5s %12s %12s %7s %8s %8s %8s %5s %3s"
    print(line % hdr)
    sparse_hdr = False
    for r in results:
        if r["sparse"] and not sparse_hdr:
            sparse_hdr = True
            print("  sparse flows (NSTART=1, one packet per RTT each way); pattern 1: RTT from C at the client only,"
                  " 'none' expected at the server and the relay (no D-to-D sample)")
            print(line % hdr)
        true_rtt = 2 * r["delay"] + base
        rtts = (r["cli_rtt"], r["srv_rtt"], r["rel_rtt"])
        if r["sparse"] and r["pattern"] == 1:
            # the client's figure; the observers must have taken no sample at all
            err = abs(r["cli_rtt"] - true_rtt) / true_rtt * 100 if r["cli_rtt"] is not None else 999
            if r["srv_n"] or r["rel_n"]:
                err = 999
        else:
            err = max(abs(x - true_rtt) / true_rtt * 100 if x is not None else 999 for x in rtts)
        pairs = ((r["cli_loss"], r["true_dn"]), (r["srv_loss"], r["true_up"]),
                 (r["rel_up"], r["true_up"]), (r["rel_dn"], r["true_dn"]))
        dpp = max(abs(m[0] - t) if m[0] is not None else 99 for m, t in pairs)
        pkts = min(m[1] for m, t in pairs)
        ok = err <= 10 and dpp <= 1.0 and pkts >= 2000
        ok_all = ok_all and ok
        nf = "none" if r["sparse"] and r["pattern"] == 1 else "-"
        print(line % (r["pattern"], r["delay"], r["loss"], fmt(true_rtt), fmt(rtts[0]), fmt(rtts[1], nf=nf),
                      fmt(rtts[2], nf=nf),
                      fmt(err), "%.2f/%.2f" % (r["true_up"], r["true_dn"]), fmt(r["cli_loss"][0], "%.2f"),
                      fmt(r["srv_loss"][0], "%.2f"), fmt(r["rel_up"][0], "%.2f"), fmt(r["rel_dn"][0], "%.2f"),
                      fmt(dpp, "%.2f"), pkts, "yes" if ok else "NO"))
        rows.append(r)
    sp = [r for r in results if r["sparse"] and r["pattern"] == 1]
    if sp:
        print("  sparse pattern 1: client RTT samples per condition (one D per t_max + t_max/8 per client): %s; "
              "server/relay samples: %d" % (" ".join(str(r["cli_n"]) for r in sp), sum(r["srv_n"] + r["rel_n"] for r in sp)))
    print("  targets: RTT within 10 %% of true, loss within 1 pp of true, >= 2000 packets: %s"
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
    packets = 800 if quick else PACKETS
    print("== pm: PM-measured RTT and loss through tools.relay (N=%d, pattern 0: NSTART=1 clients, "
          "pattern 1: a request every %d ms)" % (N, INTERVAL))
    base, results = asyncio.run(main_async(packets, DELAYS, LOSSES, PATTERNS, sparse="--dense" not in sys.argv))
    ok = table(base, results)
    print("  (%.0f s)" % (time.monotonic() - t0))
    return ok


if __name__ == "__main__":
    run("--quick" in sys.argv)
