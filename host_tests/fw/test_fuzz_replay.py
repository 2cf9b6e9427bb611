# Issue 7: the fuzz corpus replayed on both runtimes (under MicroPython the unix port with a Pico W
# heap): the seed corpus of tools/fuzz/corpus.py plus deterministic mutants (tools/fuzz/engine.mutate,
# seeded) into the board's decoders and the client core's recv() with a live group observation.
# The decoders may raise only their own errors; the client core nothing at all.
from tu import Rng
import random

from tools.fuzz import corpus, engine   # MicroPython: the repository root is the cwd (on its path)
from coap import msg, cbor, inforesp, client

MUTANTS = 2000
SRV = ("192.0.2.10", 5683)        # the corpus's informative responses point here
GRP = ("233.252.0.23", 5683)
SOURCES = (SRV, ("192.0.2.10", 5684), ("192.0.2.99", 5683))


def _grouped(seed):
    """A client core with a group observation of /r at SRV (the §4 informative response)."""
    c = client.Client(rng=Rng(seed), log=lambda s: None, leisure_ms=100)
    ob = c.observe(SRV, [(11, "r")], lambda p, cf, v, via: None, 0)
    r = msg.Msg()
    r.decode(c.take()[0][0])
    c.receive(msg.empty(msg.ACK, r.mid), SRV, 1)
    c.receive(corpus.informative(ob.token, 0x99), SRV, 2)
    c.take()
    assert ob.state == client.GROUP and c.groups == {GRP: 1}
    return c


def _inputs(seeds, n, seed, k):
    """Input k of a replay: the seeds first, then mutants (one at a time: a board-sized heap)."""
    if k < len(seeds):
        return seeds[k]
    return engine.mutate(random, random.choice(seeds), seeds)


def _replay(seeds, n, seed, fn, allowed):
    random.seed(seed)
    ok = 0
    for k in range(len(seeds) + n):
        d = _inputs(seeds, n, seed, k)
        try:
            fn(d)
            ok += 1
        except allowed:
            pass
        except Exception as e:
            raise AssertionError("input %s raised %r" % (bytes(d).hex(), e))
    return ok


def _msg(d):
    m = msg.Msg()
    m.decode(d)
    m.token_bytes()
    for num, v in m.items():
        m.uint(num)
        m.opt(num)
    bytes(m.payload())


def test_msg_decode_corpus_and_mutants():
    seeds = corpus.messages()
    ok = _replay(seeds, MUTANTS, 1, _msg, (msg.DecodeError,))
    assert ok >= len(seeds)


def test_cbor_decode_corpus_and_mutants():
    seeds = corpus.cbor_items()
    ok = _replay(seeds, MUTANTS, 2, cbor.loads, (cbor.CBORDecodeError,))
    assert ok >= len(seeds)


def test_inforesp_parse_corpus_and_mutants():
    seeds = corpus.inforesp_payloads()
    ok = _replay(seeds, MUTANTS, 3, inforesp.parse, (inforesp.InfoRespError,))
    assert ok >= len(seeds)


def test_client_recv_corpus_and_mutants_with_a_live_group_observation():
    seeds = corpus.messages()
    random.seed(4)
    c = None
    k = 0
    for j in range(len(seeds) + MUTANTS):
        d = _inputs(seeds, MUTANTS, 4, j)
        if c is None or k % 25 == 0 or not c.obs:   # a fresh group observation now and then
            c = _grouped(k + 1)
        ctl = k
        k += 1
        try:
            c.receive(d, SOURCES[ctl % 3], 10 + k * 1000, GRP if ctl & 4 else None)
            c.tick(20 + k * 1000)
            for buf, dest in c.take():
                msg.Msg().decode(buf)
        except Exception as e:
            raise AssertionError("input %s raised %r" % (bytes(d).hex(), e))
        for g, n in c.groups.items():
            used = 0
            for x in c.obs:
                if x.grp == g:
                    used += 1
            assert n == used, (g, n, used)
    assert c.stats.received > 0
