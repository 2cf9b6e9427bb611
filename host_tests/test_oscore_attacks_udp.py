# Protected group observations under attack, over real UDP on 127.0.0.1 (draft -04 §6-7): the real
# server (--oscore) multicasts /r and /s; two boards (MicroPython unix port, coapcast.Client(oscore=...),
# signature checks in steps from the poll loop) observe them, c1 through an on-path relay. The attacks
# test_spoofing_udp.py shows the unprotected mode cannot stop (a notification and a cancellation with the
# server's address and T), a replayed notification, a notification replayed from the other group
# observation, random ciphertext under a real OSCORE option, a tampered informative response (last_notif)
# and informative responses from a non-member: every one rejected and counted by reason, nothing of them
# delivered, both observations survive and keep delivering. (tools/soak/oscore.py has the attackers;
# make soak runs this file and reports its figures.)
import time

import pytest

from tools.soak import Server, figure
from tools.soak.oscore import keys, start_board, OscoreBoardLog, McAttacker, TamperRelay, can_forge


@pytest.mark.skipif(not can_forge(), reason="forging the server's source address needs a raw socket (root)")
def test_attacks_on_protected_group_observations_over_real_udp(tmp_path):
    kd = keys(tmp_path, n=2)
    srv = Server(extra=["--oscore", kd + "/server.json", "--update", "/r=0.1", "--group-resource", "/s=0",
                        "--update", "/s=0.1", "--interval", "0.1", "--wait", "5"], ack_timeout_ms=300).start()
    relay = TamperRelay(("127.0.0.1", srv.port))
    relay.start()
    try:
        b1 = start_board(kd, "c1", "coap://127.0.0.1:%d/r" % relay.port, 9000, ack_timeout_ms=300)
        b2 = start_board(kd, "c2", srv.url("/s"), 9000, ack_timeout_ms=300)
        time.sleep(1.5)
        a = McAttacker(srv.port, srv.gport, n=15)
        a.start()
        a.join(30)
        logs = [OscoreBoardLog(p.communicate(timeout=60)[0]) for p in (b1, b2)]
    finally:
        relay.stop()
        srv.stop()
    assert a.error is None and relay.error is None, (a.error, relay.error)
    assert relay.sent == {"tampered_info": 1, "nonmember": 2} and a.total() == 5 * 2 * a.n
    tot = {}
    for name, b in zip(("c1", "c2"), logs):
        assert b.stats is not None, b.out[-3000:]
        assert not b.ends and len(b.observes) == 1, (name, b.out[-3000:])       # the observation survives
        vals = [int(p) for p in b.payloads()]
        assert len(vals) >= 30 and all(y > x for x, y in zip(vals, vals[1:])), (name, vals)  # no forged value
        assert "spoof" not in b.out and "nonmember" not in b.out
        assert b.notifs[-1][0] > 7500, (name, b.notifs[-3:])                          # delivering to the end
        assert b.sec["verified"] == len(vals) - 1 and b.sec["informative"] == 1 and b.sec["busy"] == 0, \
            (name, b.sec, b.stats, b.rejects)
        for k, v in b.rejects.items():
            tot[k] = tot.get(k, 0) + v
        # each board gets its own observation's forgeries, plus the other's (unknown token: not verified):
        # forged + cancel (not protected), replayed (its PIV is not newer), garbage (a fresh PIV: the tag),
        # other_obs (a PIV not newer than ours: replay; else the tag: bound to the other phantom request)
        n = a.n
        r = b.rejects
        assert r["not_protected"] >= 2 * n and r["replay"] >= n and r["tag"] >= n, (name, r)
        assert r["replay"] + r["tag"] >= 3 * n, (name, r)
        assert b.stats["security"] == sum(r.values()), (name, b.stats, r)
    # the tampered informative response and the non-member's two, all at c1 (through the relay)
    r1 = logs[0].rejects
    assert r1["tag"] + r1["replay"] >= 3 * a.n + 2 and r1["not_protected"] >= 2 * a.n + 1, r1
    figure("oscore attacks over real UDP", sent=a.total() + sum(relay.sent.values()), rejected=sum(tot.values()),
           by_reason={k: v for k, v in tot.items() if v}, forged_delivered=0, observations_survived=2,
           delivered=sum(len(b.notifs) for b in logs))
