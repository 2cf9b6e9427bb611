# PM with OSCORE (draft-ietf-core-coap-pm §4.5) through tools/relay.py on protected flows, over UDP on
# 127.0.0.1 with seeded loss and delay: the real server core behind tools/server/secure.py (--oscore,
# --pm 0, --pm-oscore MODE) answers OSCORE-protected NON POSTs from a client whose contexts and PM
# placement are the board's (coap.groupsec.contexts, outer_copy):
#   outer (class U, the default): the relay's probe measures loss and RTT within the usual targets;
#   inner (class E): end to end only: the endpoints measure, the probe gets no sample (no PM it can read);
#   both: the endpoints measure from the inner option, the probe from the outer copy.
import asyncio
import os
import random
import time

import pytest

from coap import msg, pm, groupsec
from coap import optinfo as o
from coap.msgcore import Msg
from tools import oscore_keys
from tools.relay import Relay, UP, DOWN
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource
from tools.server import secure
from tools.soak.oscore import keys
from helpers import RequestFlow


def ms():
    return int(time.monotonic() * 1000)


class Server(asyncio.DatagramProtocol):
    def __init__(self, keydir, mode, n):
        core = ServerCore([Resource("/t", "", writable=True)], Config(srv_addr="127.0.0.1"),
                          pm=pm.PMEndpoint("server", 0, n=n, t_max=500, max_peers=64), rng=random.Random(3))
        self.srv = secure.setup(core, os.path.join(keydir, "server.json"), pm=mode)

    def connection_made(self, tr):
        self.tr = tr

    def datagram_received(self, data, src):
        self.srv.receive(data, src, ms(), None, "127.0.0.1")
        for d, dst in self.srv.take():
            self.tr.sendto(d, dst)


class Client(RequestFlow):
    """count protected NON POSTs to /t, one at a time (the next on the answer or after a timeout)."""

    def __init__(self, keydir, mode, target, n, count, timeout):
        RequestFlow.__init__(self, target, count, timeout)
        kf = oscore_keys.load(os.path.join(keydir, "c1.json"))
        p = kf["oscore"][0]
        self.ctx, _ = groupsec.contexts(dict(master_secret=p["master_secret"], master_salt=p["master_salt"],
                                             sender_id=p["sender_id"], recipient_id=p["recipient_id"]),
                                        oscore_keys.group_kwargs(kf), mode)
        self.both = mode == "both"
        self.pm = pm.PMEndpoint("client", 0, n=n, t_max=500)
        self.answered = 0
        self.rejected = 0
        self.bindings = {}

    def request(self, k):
        tok = k.to_bytes(2, "big")
        plain = msg.encode(msg.NON, msg.POST, k & 0xFFFF, tok, [(o.URI_PATH, "t"), (o.PM, self.pm.tx(self.target, ms()))],
                           b"%d" % k)
        data, b = self.ctx.protect_request(plain)
        if self.both:
            data = groupsec.outer_copy(data, plain, o.PM)
        self.bindings[tok] = b
        return data

    def datagram_received(self, data, src):
        m = Msg().decode(data)
        tok = bytes(m.buf[4:4 + m.tkl])
        b = self.bindings.pop(tok, None)
        p = self.ctx.unprotect_response(m, b) if b is not None else None
        if p is None:
            self.rejected += 1
            return
        self.answered += 1
        self.pm.rx(self.target, pm.value_of(msg.decode(p)), ms())
        if int.from_bytes(tok, "big") == self.sent - 1:
            self.send()


async def run(keydir, mode, count=400, loss=5, delay=10, n=32):
    loop = asyncio.get_running_loop()
    st, srv = await loop.create_datagram_endpoint(lambda: Server(keydir, mode, n), local_addr=("127.0.0.1", 0))
    relay = Relay(st.get_extra_info("sockname"), loss=loss, delay=delay, seed=5, n=n, t_max=500).start(loop)
    ct, c = await loop.create_datagram_endpoint(
        lambda: Client(keydir, mode, relay.addr, n, count, (4 * delay + 30) / 1000.0), remote_addr=relay.addr)
    c.send()
    await asyncio.wait_for(c.done, 120)
    f = list(relay.flows.values())[0]
    res = {"true_up": 100.0 * f.dropped[UP] / f.rx[UP], "true_dn": 100.0 * f.dropped[DOWN] / f.rx[DOWN],
           "probe_up": f.meters[UP], "probe_dn": f.meters[DOWN], "cli": c.pm.meter(c.target),
           "srv": list(srv.srv.core.pm.peers.values())[0].meter, "client": c, "server": srv.srv}
    ct.close()
    st.close()
    relay.close()
    return res


def _loss(m):
    exp = m.blocks * m.n
    return (100.0 * m.lost / exp if exp else None), exp


def _check(m, truth, delay, what):
    lp, exp = _loss(m)
    assert exp >= 256 and abs(lp - truth) <= 2.0, (what, lp, truth, exp)
    s = sorted(m.samples())
    assert len(s) >= 3 and abs(s[len(s) // 2] - 2 * delay) <= 0.25 * 2 * delay, (what, s)


@pytest.mark.parametrize("mode", ["outer", "inner", "both"])
def test_pm_with_oscore_through_the_relay(tmp_path, mode):
    kd = keys(tmp_path, n=1)
    r = asyncio.run(run(kd, mode))
    c, s = r["client"], r["server"]
    assert c.answered > 300 and c.rejected == 0 and s.stats["verified"] >= 370 and s.stats["rejected"] == 0
    assert r["true_up"] > 1 and r["true_dn"] > 1                  # the relay did drop
    _check(r["cli"], r["true_dn"], 10, "client")                  # the end-to-end peers measure in every mode
    _check(r["srv"], r["true_up"], 10, "server")
    if mode == "inner":                                           # the probe: no PM it can read, no sample
        for m in (r["probe_up"], r["probe_dn"]):
            assert m.pkts == 0 and m.blocks == 0 and m.rn == 0 and m.absent > 300, (m.pkts, m.absent)
    else:
        _check(r["probe_up"], r["true_up"], 10, "probe up")
        _check(r["probe_dn"], r["true_dn"], 10, "probe down")
