"""Protected group observations in memory (draft -04 §6-7) for the host tests: the server core behind
tools/server/secure.py and board client cores with coap.groupsec, keys from python -m tools.oscore_keys,
a fake clock and a wire that records every datagram. No sockets."""
import json
import os
import random

from coap import msg, client, groupsec
from coap import optinfo as o   # the whole option table (coap.options and more)
from tools import oscore_keys
from tools.oscore_group import crypto_verifier
from tools.server.core import ServerCore, Config
from tools.server.resources import Resource
from tools.server import secure

SRV = ("127.0.0.1", 5683)
GRP = ("224.0.1.187", 5683)


def keys(tmp, n=2, alg="ed25519", seqs=None):
    """Key files for a server and n boards in tmp (draft §7 identifiers, Gid 57ab2e); seqs: the
    server's stored sequence numbers, e.g. {"group": 501, "oscore:c1": 301}."""
    d = str(tmp)
    assert oscore_keys.main(["--out", d, "--n", str(n), "--alg", alg, "--gid", "57ab2e"]) == 0
    if seqs:
        with open(os.path.join(d, "server.json.seq"), "w") as f:
            json.dump(seqs, f)
    return d


class FixedRng:
    """getrandbits(8) gives the token bytes asked for (draft §7: 0x4a, 0x01, 0x7b), all else 0 / 0.5."""

    def __init__(self, token=0):
        self.token = token

    def getrandbits(self, k):
        return self.token if k == 8 else 0

    def randrange(self, n):
        return 0

    def random(self):
        return 0.5


def board_sec(keydir, name, steps=None, verifier=crypto_verifier, pm="outer", seq=0, **kw):
    """A board's GroupSec from its key file (what its config.py holds)."""
    kf = oscore_keys.load(os.path.join(keydir, name + ".json"))
    p = kf["oscore"][0]
    osc = dict(master_secret=p["master_secret"], master_salt=p["master_salt"], sender_id=p["sender_id"],
               recipient_id=p["recipient_id"], seq=seq)
    grp = dict(oscore_keys.group_kwargs(kf))
    if verifier is not None:
        grp["verifier"] = verifier
    ctx, g = groupsec.contexts(osc, grp, pm)
    logs = kw.pop("logs", [])
    return groupsec.GroupSec(ctx, g, name=kf["group"]["name"], steps=steps, pm=pm, log=logs.append, **kw)


class Net:
    """The server (SecureServer around ServerCore) and boards on one in-memory wire. wire: every
    datagram as (src, dst, bytes); boards get the multicast datagrams of the groups they joined."""

    def __init__(self, keydir, boards=("c1",), resources=None, server_rng=None, pm_mode="outer", **kw):
        res = resources or [Resource("/r", "1234", cf=60, group_after=1, writable=True)]
        self.core = ServerCore(res, Config(srv_addr=SRV[0], grp=GRP, token_len=kw.pop("token_len", 4),
                                           notify_interval_ms=0), rng=server_rng or random.Random(1))
        self.srv = secure.setup(self.core, os.path.join(keydir, "server.json"), pm=pm_mode)
        self.pm_mode = pm_mode
        self.boards = {}
        self.now = 0
        self.wire = []
        self.hold = False   # hold=True: datagrams stay in self.held (tests look at them / tamper)
        self.held = []
        for k, name in enumerate(boards):
            self.add_board(keydir, name, 40001 + k, **kw)

    def add_board(self, keydir, name, port, rng=None, steps=None, seq=0, verifier=crypto_verifier, **ccfg):
        """A board; ccfg: coap.client.Client keywords (pm=PMEndpoint(...), token_len, ...)."""
        sec = board_sec(keydir, name, steps=steps, verifier=verifier, pm=self.pm_mode, seq=seq)
        c = client.Client(sec=sec, log=sec.log, rng=rng or random.Random(port), **ccfg)
        c.addr = ("127.0.0.1", port)
        c.got = []
        c.ended = []
        self.boards[name] = c
        return c

    def observe(self, name, path="r"):
        c = self.boards[name]
        return c.observe(SRV, [(o.URI_PATH, path)], lambda p, cf, v, via: c.got.append((bytes(p), v, via)), self.now,
                         lambda ob, why: c.ended.append(why))

    def deliver(self, data, src, dst):
        self.wire.append((src, dst, data))
        if dst == SRV:
            self.srv.receive(data, src, self.now, None, SRV[0])
            return
        for c in self.boards.values():
            if dst == c.addr:
                c.receive(data, src, self.now)
            elif dst in c.groups:
                c.receive(data, src, self.now, dst)

    def pump(self, rounds=400, step_ms=5):
        """Move datagrams and run timers until quiet (no datagram, no verification in steps)."""
        for _ in range(rounds):
            moved = False
            for c in self.boards.values():
                c.tick(self.now)
                for d, dst in c.take():
                    moved = True
                    self._out(d, c.addr, dst)
            self.srv.tick(self.now)
            for d, dst in self.srv.take():
                moved = True
                self._out(d, SRV, dst)
            if not moved and not any(c.sec.jobs for c in self.boards.values()):
                return
            self.now += step_ms
        raise AssertionError("the network did not settle")

    def _out(self, d, src, dst):
        if self.hold:
            self.held.append((src, dst, d))
        else:
            self.deliver(d, src, dst)

    def update(self, value, path="/r"):
        self.now += 10
        self.core.update(path, value, self.now)
        self.pump()


def decode(data):
    return msg.decode(data)
