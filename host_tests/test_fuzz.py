# Issue 7, fuzzing (CPython; the corpus replay under the unix port is fw/test_fuzz_replay.py):
#  - a short mutation campaign per target (tools/fuzz; `make fuzz N=100000` runs the long one);
#  - hypothesis strategies: structured CoAP messages into the client core (with live group, proxy
#    and traditional observations) and the server core, informative responses with random tp_info;
#  - the harness itself finds a planted crash, and the client target really reaches the deep states;
#  - regression inputs of crashes found by the campaigns.
import random

import pytest
from hypothesis import given, settings, HealthCheck, strategies as st

from tools.fuzz import engine, corpus, targets
from coap import msg, client, inforespenc, cborenc
from coap import optinfo as o   # the whole option table (coap.options and more)

SHORT = {"msg": 4000, "cbor": 4000, "inforesp": 4000, "client": 2500, "clientseq": 1500, "server": 4000, "pm": 1500,
         "oscoreopt": 4000, "unprotect": 3000, "proxy": 3000}


@pytest.mark.parametrize("name", targets.NAMES)
def test_short_campaign_finds_no_crash(name, tmp_path):
    r = engine.run(name, targets.target(name), targets.ALLOWED[name], corpus.corpus(name), SHORT[name],
                   seed=7, crash_dir=str(tmp_path))
    assert r["inputs"] == SHORT[name]
    assert r["crashes"] == 0, "%s: %s\n%s" % (name, r["first"][0], r["first"][1])
    assert r["valid"] > len(corpus.corpus(name)) // 2   # the seeds pass: the campaign is not all rejects


def test_seed_corpus_is_valid_for_every_target():
    for name in targets.NAMES:
        t = targets.target(name)
        for d in corpus.corpus(name):
            t(d)  # no exception at all: every seed is well formed


def test_engine_reports_a_planted_crash_once_per_site(tmp_path):
    def bad(data):
        if len(data) > 6 and data[5] == 0x7b:
            raise KeyError("planted")
        msg.decode(data)
    r = engine.run("planted", bad, (msg.DecodeError,), corpus.messages(), 3000, crash_dir=str(tmp_path))
    assert r["crashes"] > 0 and len(r["unique"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planted-1.bin", "planted-1.txt"]


def test_client_target_reaches_group_proxy_and_traditional_states():
    for v in range(4):
        c = targets.make_client(v)
        states = sorted(x.state for x in c.obs)
        assert states.count(client.GROUP) == 2 and client.PROXY in states and client.TRAD in states, states
        assert c.groups == {targets.GRP: 2}
    c = targets.make_client(0)
    before = c.stats.delivered
    c.receive(corpus.notification(11), targets.SRV, 10, targets.GRP)          # a good multicast notification
    assert c.stats.delivered == before + 1


# ---------------------------------------------------------------- hypothesis strategies
OPT_NUMS = [o.IF_MATCH, o.URI_HOST, o.ETAG, o.OBSERVE, o.URI_PORT, o.URI_PATH, o.CONTENT_FORMAT, o.MAX_AGE,
            o.URI_QUERY, o.ACCEPT, o.BLOCK2, o.PROXY_URI, o.NO_RESPONSE, 9, 2049, 65001]


def _opt_nums():
    return st.sampled_from(OPT_NUMS + [o.MRFD, o.LTMR, o.PM])


options_st = st.lists(st.tuples(_opt_nums(), st.one_of(st.binary(max_size=12), st.integers(0, 0xFFFFFF),
                                                        st.none())), max_size=8)
tokens = st.one_of(st.sampled_from([b"\x7b", b"\x7c", b"\x4a", b""]), st.binary(max_size=8))
messages = st.builds(
    lambda t, code, mid, tok, opts, pl: msg.encode(t, code, mid, tok, opts, pl),
    st.integers(0, 3), st.one_of(st.sampled_from([0x45, 0xA3, 0x01, 0x44, 0x84]), st.integers(1, 255)),
    st.integers(0, 0xFFFF), tokens, options_st, st.binary(max_size=40))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(messages, st.integers(0, 7), st.booleans(), st.integers(0, 200000)), min_size=1,
                max_size=6), st.integers(0, 3))
def test_client_core_takes_any_message_sequence(seq, variant):
    c = targets.make_client(variant)
    now = 10
    for data, srcsel, on_group, dt in seq:
        now += dt
        c.receive(data, targets.SOURCES[srcsel], now, targets.GRP if on_group else None)
        targets._check_client(c)
        c.tick(now)
        targets._check_client(c)


_server = targets.ServerTarget(reset=300)


@settings(max_examples=600, deadline=None)
@given(messages, st.integers(0, 255))
def test_server_core_takes_any_message(data, ctl):
    _server(bytes([ctl]) + data)


addrs = st.one_of(st.binary(min_size=4, max_size=4), st.binary(min_size=16, max_size=16),
                  st.sampled_from([corpus.SRV_RAW, corpus.GRP_RAW, bytes(4), b"\xa9\xfe\x00\x01", b"\xff" * 4]))


@settings(max_examples=500, deadline=None)
@given(tokens.filter(lambda t: len(t) <= 8), addrs, st.integers(1, 0xFFFF), addrs,
       st.one_of(st.none(), st.integers(1, 0xFFFF)), st.integers(0, 0xFFFFFF), st.sampled_from([0x45, 0x44, 0x84]))
def test_informative_response_with_random_tp_info(tok, srv, sport, grp, cport, v, code):
    """Any well-formed tp_info: the client takes it (group observation) or refuses it, counted."""
    ph = corpus.ph_req()
    last = inforespenc.to_tim(msg.encode(msg.NON, code, 0, b"", [(o.OBSERVE, v)], cborenc.dumps("x")))
    c = client.Client(rng=random.Random(1), log=lambda *a: None)
    ob = c.observe(targets.SRV, [(o.URI_PATH, "r")], lambda *a: None, 0)
    r = msg.decode(c.take()[0][0])
    c.receive(msg.empty(msg.ACK, r.mid), targets.SRV, 1)
    c.receive(corpus.informative(ob.token, 5, inforespenc.build(ph, last, tok, srv, sport, grp, cport)), targets.SRV, 2)
    targets._check_client(c)
    if ob.state == client.GROUP:
        assert c.stats.dropped["inforesp"] == 0 and ob.value == v and len(grp) in (4, 16)
    else:
        assert c.stats.dropped["inforesp"] == 1 and ob.state == client.REG  # one retry after the back-off


# ---------------------------------------------------------------- regressions
# Inputs (hex) of crashes the campaigns found, per target; each must now pass.
REGRESSIONS = {
}


@pytest.mark.parametrize("name,hexin", [(n, h) for n, hs in REGRESSIONS.items() for h in hs] or [("msg", "")])
def test_regression_inputs(name, hexin):
    t = targets.target(name)
    try:
        t(bytes.fromhex(hexin))
    except targets.ALLOWED[name]:
        pass
