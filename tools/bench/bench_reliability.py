# Reliability figures (issue 7): fuzzing throughput per target, heap drift of the board client core
# over 10,000 multicast notifications with MRFD polls at -X heapsize=64k (from .mpy), the same at
# 56k/48k, and the server's registration throughput on loopback. `make soak` runs the whole campaign.
import tempfile
import time


def run():
    from tools import soak
    from tools.fuzz import engine, corpus, targets
    from tools.fuzz.__main__ import quiet_server_log
    quiet_server_log()   # the server and proxy targets log every bad input they are fed
    print("== reliability (make soak runs the whole campaign)")
    print("  %-52s %10s   target" % ("", "figure"))
    for name in targets.NAMES:
        n = 3000 if name in ("client", "pm") else 20000
        r = engine.run(name, targets.target(name), targets.ALLOWED[name], corpus.corpus(name), n, seed=3)
        rate = r["inputs"] / max(r["seconds"], 1e-3)
        print("  %-52s %10d   crashes %d" % ("fuzz %s: inputs/s (CPython)" % name, rate, r["crashes"]))
    with tempfile.TemporaryDirectory() as d:
        for heap in ("64k", "56k", "48k"):
            f = soak.mem_core(d, 10000, heap)
            if "error" in f:
                print("  %-52s %10s" % ("core @%s: 10,000 notifications" % heap, "no room"))
                continue
            print("  %-52s %10d   |x| <= 1024" % ("heap drift over 10,000 notifications @%s (bytes)" % heap, f["drift"]))
            print("  %-52s %10d" % ("  heap in use after gc.collect (bytes)", f["heap_end"]))
            print("  %-52s %10d   = 0" % ("  MemoryErrors", f["memory_errors"]))
            print("  %-52s %10d" % ("  MRFD Q=3 polls answered (one pending at a time)", f["feedback"]))
    srv = soak.Server(dedup_max=2000, log_level="WARNING").start()
    try:
        t = time.monotonic()
        fig = soak.loadgen(srv.port, rate=2000, duration=3, sockets=200)
        rss = soak.rss_kb(srv.pid)
    finally:
        srv.stop()
    print("  %-52s %10d   >= 1000/s" % ("server: registrations/s offered", fig["rate"]))
    print("  %-52s %10s   all" % ("  informative responses / registrations", "%d/%d" % (fig["informative"], fig["sent"])))
    print("  %-52s %10.1f" % ("  worst GET /time latency under load (ms)", fig["probe_worst_ms"]))
    print("  %-52s %10d" % ("  server RSS after (KB)", rss))


if __name__ == "__main__":
    run()
