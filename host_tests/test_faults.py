# Issue 7, faults, over real UDP on 127.0.0.1: the real server (python -m tools.server), boards
# (the MicroPython unix port running coapcast, tools/soak/mp_board.py), tools/relay.py for unicast
# impairment and a private nftables table for multicast loss / link drops (without nft: the
# board drops the share of group datagrams itself and the link drop stops the relay).
#  - 20% loss both ways: registration completes through CON retransmission, notifications keep
#    flowing with the losses counted;
#  - the server stopped cleanly (multicast 5.03, §2.5) or killed (-9: Max-Age silence) and restarted:
#    the board notices and re-registers within a bounded time;
#  - duplicated and reordered multicast notifications: delivered once, in order;
#  - the board's network dropped and restored.
# Transmission parameters are shortened (ACK_TIMEOUT 300 ms both sides) so each case fits in seconds.
import asyncio
import os
import socket
import threading
import time

import pytest

from tools import soak
from tools.soak import Server, run_board, start_board, BoardLog, Nft, have_nft, figure, GROUP
from helpers import recv_msg

from coap import msg, inforespenc, addr
from coap import options as o
from tools.relay import Relay, UP, DOWN

ACK_MS = 300
# A registration sent into a dead link or to a dead server gets through with the first CON
# retransmission after the restore: at most the longest back-off step in flight later (RFC 7252
# §4.2: ACK_TIMEOUT x [1, 1.5] doubling, MAX_RETRANSMIT 4 -> the last step is 8 x 1.5 x ACK_TIMEOUT).
RETX_BOUND_MS = int(8 * ACK_MS * 1.5) + 500
USE_NFT = have_nft() and os.environ.get("COAPCAST_NO_NFT") != "1"


class RelayThread:
    """tools.relay.Relay on its own asyncio loop in a thread; stop()/start() cut and restore it."""

    def __init__(self, server_port, **kw):
        self.loop = asyncio.new_event_loop()
        self.kw = kw
        self.server_port = server_port
        self.port = soak.free_port()
        self.relay = None
        self.t = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.t.start()
        self.start()

    def _call(self, fn):
        done = threading.Event()
        box = []

        def run():
            try:
                box.append(fn())
            finally:
                done.set()
        self.loop.call_soon_threadsafe(run)
        done.wait(5)
        return box[0] if box else None

    def start(self):
        def mk():
            self.relay = Relay(("127.0.0.1", self.server_port), ("127.0.0.1", self.port), **self.kw)
            self.relay.start(self.loop)
        self._call(mk)

    def stop(self):
        self._call(lambda: self.relay.close())

    def dropped(self):
        return self._call(lambda: [sum(f.dropped[d] for f in self.relay.flows.values()) for d in (UP, DOWN)])

    def close(self):
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.t.join(5)
        self.loop.close()


def _increasing(vals):
    return all(b > a for a, b in zip(vals, vals[1:]))


def _seed_dropping_first_exchange():
    """A relay seed whose 20% loss drops the first registration upstream and one of the first two
    datagrams downstream (empty ACK / informative response): a board only registers through CON
    retransmission (tools.relay draws its per-direction generators this way)."""
    import random
    for seed in range(1, 10000):
        rng = random.Random(seed)
        up, down = random.Random(rng.random()), random.Random(rng.random())
        if up.random() < 0.2 and min(down.random(), down.random()) < 0.2:
            return seed
    raise AssertionError("no seed")


def _server_down(srv, board, down_s, kill=False):
    """2 s into the board's run, stop the server (SIGTERM, or kill -9) and start it again down_s later.
    Returns (the board's log, when it stopped, when it was up again) in time.monotonic()."""
    time.sleep(2.0)
    srv.stop(kill=kill)
    t_stop = time.monotonic()
    time.sleep(down_s)
    srv.start()
    t_up = time.monotonic()
    return BoardLog(board.communicate(timeout=40)[0]), t_stop, t_up


def test_20_percent_loss_both_ways(tmp_path):
    srv = Server(extra=["--update", "/r=0.1", "--interval", "0.05", "--wait", "3"], ack_timeout_ms=ACK_MS).start()
    relay = RelayThread(srv.port, loss=20.0, seed=_seed_dropping_first_exchange())
    nft = Nft("loss") if USE_NFT else None
    try:
        if nft:
            nft.rule("ip daddr %s udp dport %d numgen random mod 100 < 20 counter drop" % (GROUP, srv.gport))
        dur = 12000 if soak.SOAK else 6000
        boards = [start_board(str(tmp_path), srv.url("/r", relay.port), dur, ack_timeout_ms=ACK_MS, leisure_ms=300,
                              **({} if nft else {"mc_loss": 20})) for _ in range(4)]
        logs = [BoardLog(p.communicate(timeout=dur / 1000 + 30)[0]) for p in boards]
        mc_lost = nft.counters()[0][1] if nft else sum(b.stats["impaired"] for b in logs)
        up, down = relay.dropped()
    finally:
        if nft:
            nft.delete()
        relay.close()
        srv.stop()
    sent = srv.output().count("notify /r ")
    for b in logs:
        vals = b.values()
        assert b.notifs and b.notifs[0][2] == 1, b.out[-2000:]           # registered: group notifications
        assert _increasing(vals), vals
        assert b.stats["errors"] == 0, b.out[-2000:]
        first_group = b.notifs[0][0]
        span = vals[-1] - vals[1] + 1 if len(vals) > 1 else 0
        got = len(vals) - 1
        lost = span - got
        assert 0.05 * span <= lost <= 0.40 * span, (lost, span, vals)     # ~20% lost, counted
        # keeps flowing: no gap longer than a second after the first notification
        ts = [t for t, v, via in b.notifs]
        assert max(b_ - a for a, b_ in zip(ts, ts[1:])) < 1500, ts
        assert first_group < 5000, b.out[-2000:]
    assert up >= 1 and down >= 1 and mc_lost > 0
    figure("faults: 20% loss both ways", multicast_loss="nftables" if USE_NFT else "board-side", boards=len(logs), unicast_dropped_up=up, unicast_dropped_down=down,
           multicast_dropped=mc_lost, notifications_sent=sent,
           registered_ms_max=max(b.notifs[0][0] for b in logs),
           delivered_pct=round(100.0 * sum(len(b.notifs) - 1 for b in logs) /
                               max(1, sum(b.values()[-1] - b.values()[1] + 1 for b in logs)), 1))


def test_server_restart_clean_shutdown_board_reregisters(tmp_path):
    srv = Server(extra=["--update", "/r=0.1", "--interval", "0.05", "--wait", "3"], ack_timeout_ms=ACK_MS).start()
    try:
        p = start_board(str(tmp_path), srv.url("/r"), 3000 + RETX_BOUND_MS + 1500, retry_ms=200, ack_timeout_ms=ACK_MS,
                        leisure_ms=300)
        b, t_stop, t_up = _server_down(srv, p, 1.0)   # SIGTERM: the §2.5 multicast cancellation goes out
    finally:
        srv.stop()
    assert any("cancelled by the server" in r for t, r in b.ends), b.out[-3000:]
    t_end = [t for t, r in b.ends if "cancelled by the server" in r][0]
    after = [(t, v) for t, v, via in b.notifs if t > t_end]
    assert after, b.out[-3000:]
    # the board's clock: restart happened (t_up - t_stop) s after it saw the cancellation (roughly)
    t_restart = t_end + int((t_up - t_stop) * 1000)
    rereg = after[0][0] - t_restart
    assert rereg < RETX_BOUND_MS, (rereg, b.out[-3000:])   # within the next CON retransmission
    assert b.stats["errors"] == 0
    figure("faults: server SIGTERM + restart", cancel_seen=True, reregistered_after_restart_ms=rereg,
           notifications_after=len(after))


# ---------------------------------------------------------------- duplicates and reordering
class Peer(threading.Thread):
    """A §4 server on 127.0.0.1 that sends a scripted multicast sequence (Observe value, MID)."""

    def __init__(self, gport, seq):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.gport = gport
        self.seq = seq
        self.error = None

    def recv(self, until):
        return recv_msg(self.s, until)

    def run(self):
        try:
            T = b"\x7b\x01"
            m, cli = self.recv(time.time() + 20)
            self.s.sendto(msg.empty(msg.ACK, m.mid), cli)
            ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
            last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 10)], b"10"))
            pl = inforespenc.build(ph, last, T, addr.parse_ip("127.0.0.1"), self.port, addr.parse_ip(GROUP), self.gport)
            ir = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 0x2000, m.token_bytes(),
                            [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
            for _ in range(5):
                self.s.sendto(ir, cli)
                a, _ = self.recv(time.time() + 1)
                if a is not None and a.type == msg.ACK and a.mid == 0x2000:
                    break
            time.sleep(0.5)
            for v, mid in self.seq:
                self.s.sendto(msg.encode(msg.NON, msg.CONTENT, mid, T, [(o.OBSERVE, v)], str(v).encode()),
                              (GROUP, self.gport))
                time.sleep(0.02)
        except Exception as e:
            self.error = repr(e)


def test_duplicated_and_reordered_notifications_delivered_once_in_order(tmp_path):
    seq = []
    expect = []
    v = 10
    for k in range(40):   # per round: a duplicate (same MID), a swapped pair, a same-value copy (new MID)
        a, b, c = v + 1, v + 2, v + 3
        seq += [(a, a), (a, a), (c, c), (b, b), (c, 0x8000 + c)]
        expect += [a, c]     # b arrives after c: older, dropped (RFC 7641 §3.4)
        v = c
    peer = Peer(soak.free_port(), seq)
    peer.start()
    b = run_board(str(tmp_path), "coap://127.0.0.1:%d/r" % peer.port, 6000, ack_timeout_ms=ACK_MS)
    peer.join(10)
    assert peer.error is None, peer.error
    vals = b.values()
    assert vals[0] == 10 and vals[1:] == expect, (vals, b.out[-2000:])
    assert b.stats["duplicates"] == 40 and b.stats["reordered"] == 80, b.stats   # counted
    figure("faults: duplicates + reordering", sent=len(seq), delivered=len(vals) - 1, duplicates=b.stats["duplicates"],
           reordered_or_repeated=b.stats["reordered"], in_order=_increasing(vals))


@pytest.mark.parametrize("down_ms,silence_ms", [(2000, 0), (4000, 1500)])
def test_board_network_dropped_and_restored(tmp_path, down_ms, silence_ms):
    """The board's link is cut (nftables: its multicast and everything through the relay) and
    restored. Shorter than the silence limit: the group observation simply resumes. Longer (silence
    capped at 1.5 s): the board re-registers through the dead link, CON retransmission carries the
    registration once the link is back, and it resumes without ending the observation."""
    srv = Server(extra=["--update", "/r=0.1", "--interval", "0.05", "--wait", "3"], ack_timeout_ms=ACK_MS).start()
    relay = RelayThread(srv.port)
    nft = Nft("link") if USE_NFT else None
    cfg = {"max_silence_ms": silence_ms} if silence_ms else {}
    flag = str(tmp_path / "link-down")
    if not nft:
        cfg["link_file"] = flag
    try:
        p = start_board(str(tmp_path), srv.url("/r", relay.port), 2000 + down_ms + RETX_BOUND_MS + 1000, ack_timeout_ms=ACK_MS,
                        leisure_ms=300, **cfg)
        time.sleep(2.0)
        # the link is gone: multicast to the group, everything to and from the relay (the board's unicast)
        if nft:
            nft.rule("udp dport { %d, %d } counter drop" % (srv.gport, relay.port))
            nft.rule("udp sport %d counter drop" % relay.port)
        else:
            relay.stop()
            open(flag, "w").close()
        t_down = time.monotonic()
        time.sleep(down_ms / 1000.0)
        if nft:
            nft.flush()
        else:
            os.unlink(flag)
            relay.start()
        t_up = time.monotonic()
        b = BoardLog(p.communicate(timeout=40)[0])
    finally:
        if nft:
            nft.delete()
        relay.close()
        srv.stop()
    ts = [t for t, v, via in b.notifs]
    gaps = sorted(((b_ - a, a) for a, b_ in zip(ts, ts[1:])), reverse=True)
    gap, at = gaps[0]
    cut = int((t_up - t_down) * 1000)
    resumed = gap - cut            # from the restore to the first notification
    assert gaps[1][0] < 500, gaps[:3]                                      # otherwise steady
    assert not b.ends and len(b.observes) == 1, b.out[-2000:]             # the same observation throughout
    if silence_ms:
        assert b.out.count(" 0 1\n") >= 0                                  # (notifications via the group)
        assert 0 < resumed <= RETX_BOUND_MS, (gaps[:3], cut, b.out[-2000:])   # the next CON retransmission
    else:
        assert 0 <= resumed <= 500, (gaps[:3], cut, b.out[-2000:])       # no re-registration needed
    figure("faults: board link down %d s" % (down_ms // 1000), cut_by="nftables" if USE_NFT else "relay+board", silence_cap_ms=silence_ms or "60000 (Max-Age)",
           link_down_ms=cut, resumed_after_restore_ms=resumed, observation_ended=len(b.ends))

def test_server_killed_board_notices_max_age_silence_and_reregisters(tmp_path):
    """kill -9: no cancellation. The board's group observation is silent longer than Max-Age (capped
    here by max_silence_ms=1500; 60 s by default) plus a random part of the leisure (300 ms): it
    registers again, with CON retransmission until the restarted server answers."""
    silence, leisure = 1500, 300
    srv = Server(port=soak.free_port(), extra=["--update", "/r=0.1", "--interval", "0.05", "--wait", "3"],
                 ack_timeout_ms=ACK_MS).start()
    try:
        p = start_board(str(tmp_path), srv.url("/r"), 4500 + RETX_BOUND_MS + 1000, retry_ms=200, ack_timeout_ms=ACK_MS,
                        leisure_ms=leisure,
                        max_silence_ms=silence)
        b, t_kill, t_up = _server_down(srv, p, 2.5, kill=True)
    finally:
        srv.stop()
    ts = [t for t, v, via in b.notifs]
    gaps = sorted(((b_ - a, a) for a, b_ in zip(ts, ts[1:])), reverse=True)
    gap, at = gaps[0]
    down = int((t_up - t_kill) * 1000)
    assert not b.ends and len(b.observes) == 1, b.out[-3000:]      # re-registered in place, never ended
    assert gaps[1][0] < 1000, gaps[:3]
    rereg = gap - down                                             # restart -> first notification again
    # bound: the first re-registration leaves after silence + leisure; the restart is then caught by
    # the next CON retransmission (RETX_BOUND_MS)
    assert 0 < rereg <= RETX_BOUND_MS, (rereg, gaps[:3], b.out[-3000:])
    assert b.values()[-1] > 5, b.values()                            # fresh notifications of the new server
    figure("faults: server kill -9 + restart", silence_cap_ms=silence, server_down_ms=down,
           reregistered_after_restart_ms=rereg, ended=len(b.ends))
