# Issue 7, load (loopback only, bounded):
#  - the real server under ~1,000 registrations/s from 200 sockets for 10 s (tools/soak/load.py loadgen:
#    CON registrations, the CON informative responses ACKed, a GET /time probe every 250 ms) keeps
#    serving, and its RSS stays flat once its bounded caches are full (exchange cache dedup_max
#    lowered to 2,000 so a 10 s run reaches the bound; the default 20,000 only takes longer to fill);
#  - 20 boards (MicroPython unix-port processes) in one group observation all receive the same
#    notifications.
import threading
import time

from tools.soak import Server, start_board, BoardLog, loadgen, rss_kb, figure


def test_server_under_1000_registrations_per_second_keeps_serving_memory_flat():
    dur = 10.0
    srv = Server(dedup_max=2000, log_level="WARNING").start()
    rss = []
    stop = threading.Event()

    def sample():
        t0 = time.monotonic()
        while not stop.is_set():
            rss.append((time.monotonic() - t0, rss_kb(srv.pid)))
            stop.wait(0.25)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        f = loadgen(srv.port, rate=1000, duration=dur, sockets=200)
    finally:
        stop.set()
        th.join(5)
        out = srv.output()
        srv.stop()
    assert f["rate"] >= 950 and f["seconds"] >= dur - 0.5, f
    assert f["informative"] >= 0.99 * f["sent"] and f["empty_acks"] >= 0.99 * f["sent"], f   # every one served
    assert f["probe_replies"] == f["probes"] and f["probe_worst_ms"] < 250, f                 # still answering GETs
    assert "Traceback" not in out, out[-3000:]
    settled = [kb for t, kb in rss if t >= 4.0]
    assert settled and min(kb for t, kb in rss) > 0
    growth = settled[-1] - settled[0]
    assert growth < 1024, rss            # flat (KB) once the caches are full
    figure("load: 1,000 registrations/s x 10 s", sent=f["sent"], rate=f["rate"], informative=f["informative"],
           probes_answered="%d/%d" % (f["probe_replies"], f["probes"]), probe_worst_ms=f["probe_worst_ms"],
           rss_kb_start=rss[0][1], rss_kb_4s=settled[0], rss_kb_end=settled[-1], rss_growth_after_4s_kb=growth)


def test_20_boards_in_one_group_observation_get_the_same_notifications(tmp_path):
    n = 20
    srv = Server(extra=["--update", "/r=0.2", "--interval", "0.1", "--wait", "2"], ack_timeout_ms=500).start()
    try:
        boards = [start_board(str(tmp_path), srv.url("/r"), 5000, ack_timeout_ms=500, leisure_ms=300) for _ in range(n)]
        logs = [BoardLog(p.communicate(timeout=60)[0]) for p in boards]
    finally:
        srv.stop()
    out = srv.output()
    assert out.count("group observation of /r started") == 1, out[-3000:]   # one group observation for all
    assert out.count("registration 127.0.0.1:") >= n, out[-3000:]
    lo = max(b.values()[1] for b in logs)        # common window: after every board's baseline
    hi = min(b.values()[-1] for b in logs)
    assert hi - lo >= 10, [b.values() for b in logs]
    want = list(range(lo, hi + 1))
    for b in logs:
        assert all(via == 1 for t, v, via in b.notifs), b.out[-1000:]                  # via the group
        assert [v for v in b.values() if lo <= v <= hi] == want, (b.values(), want)   # the same, none lost
        assert b.stats["errors"] == 0 and not b.ends
    figure("load: 20 boards, one group observation", boards=n, common_notifications=len(want),
           identical=True, group_observations=1)
