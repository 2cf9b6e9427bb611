# The OSCORE fuzz inputs replayed on both runtimes (MicroPython with a Pico W heap): the option seeds
# of tools/fuzz/corpus.py and mutants into cose.parse_option; OSCORE requests/responses protected here
# and aiocoap's pinned group-mode messages (oscore_golden.py, known-answer verifier) plus mutants into
# unprotect. parse_option may raise DecodeError only; unprotect nothing, and it counts every rejection.
import random

from tools.fuzz import corpus_oscore as corpus, engine
from coap import cose, msg, oscore, oscoreserver, grouposcore
from coap.msgcore import Msg, DecodeError
import oscore_golden as G
from test_grouposcore_golden import KAT

MUTANTS = 1500


def _mutants(seeds, n, seed):
    random.seed(seed)
    for d in seeds:
        yield d
    for _ in range(n):
        yield engine.mutate(random, random.choice(seeds), seeds)


def test_option_parser_seeds_and_mutants():
    seeds = corpus.oscore_options()
    ok = 0
    for d in _mutants(seeds, MUTANTS * 2, 5):
        try:
            piv, ctx, kid, g = cose.parse_option(d)
        except DecodeError:
            continue
        assert cose.option(piv, ctx, kid, g) == d
        ok += 1
    assert ok > len(seeds)


def _check(ctx, call):
    before = ctx.stats.total()
    r = call()
    assert ctx.stats.total() == before + (r is None)
    return r


def test_unprotect_seeds_and_mutants():
    cli = oscore.Context(corpus.OSC_SECRET, corpus.OSC_CLI, corpus.OSC_SRV)
    srv = oscoreserver.Context(corpus.OSC_SECRET, corpus.OSC_SRV, corpus.OSC_CLI)
    req = cli.protect_request(msg.encode(msg.CON, msg.GET, 1, b"\x4a", [(6, 0), (11, "r")]))[0]
    b = oscore.Binding(corpus.OSC_CLI, b"\x00", reuse=True)
    resp = srv.protect_response(msg.encode(msg.NON, 0x45, 7, b"\x4a", [(6, 10), (12, 60)], b"\x645678"), b)
    grp = grouposcore.GroupContext(G.GID, G.SECRET, {G.SRV: G.ED25519["cred"]}, master_salt=G.SALT,
                                   sender_id=b"\x01", alg_signature=-8, alg_pairwise_key_agreement=-27,
                                   verifier=KAT(G.ED25519))
    seeds = [b"\x00" + req, b"\x01" + resp, b"\x02" + G.ED25519["phantom"], b"\x03" + G.ED25519["notif"]]
    m = Msg()
    accepted = 0
    for d in _mutants(seeds, MUTANTS, 9):
        if not d:
            continue
        try:
            m.decode(d[1:])
        except DecodeError:
            continue
        k = d[0] & 3
        if k == 0:
            r = _check(srv, lambda: srv.unprotect_request(m, replay=False))
        elif k == 1:
            r = _check(cli, lambda: cli.unprotect_response(m, oscore.Binding(corpus.OSC_CLI, b"\x00")))
        elif k == 2:
            r = _check(grp, lambda: grp.unprotect_request(m, replay=False))
        else:
            r = _check(grp, lambda: grp.unprotect_response(m, oscore.Binding(G.SRV, b"\x01\xf5", G.GID)))
        accepted += r is not None
    assert accepted >= len(seeds)
    assert srv.stats.tag + cli.stats.tag + grp.stats.tag > 0 and grp.stats.option + srv.stats.option > 0
